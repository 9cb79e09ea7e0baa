"""The one rule for every file hadinfer writes.

A file is written under a unique hidden name beside its target and renamed into
place only when complete, so the target name never holds a partial file:

1. the target is checked first (:func:`check_output_path`): its folder exists and is
   writable, it is not a folder, not a symbolic link (dangling or not), not any input
   of the command and not another output of it, and it exists only with ``overwrite``;
2. the temporary file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random
   name (:func:`make_temp`), so a link planted beside the target is never followed;
3. the rename into place (:func:`commit`) replaces an existing file only with
   ``overwrite``; without it, a file that appeared at the target while the command ran
   is left alone and the command fails;
4. any exception, ``KeyboardInterrupt`` and ``SystemExit`` included, removes the
   temporary file (:func:`atomic_output`).

Examples
--------
>>> import os, tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     target = os.path.join(folder, "run.json")
...     with atomic_output(target) as tmp:
...         _ = tmp.write_text("{}")
...     sorted(os.listdir(folder))
['run.json']
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import HadinferError, OutputExistsError, OutputPathError, one_line
from .inputs import input_files, utf8_name_problem

__all__ = ["InputIndex", "atomic_output", "check_distinct", "check_output_path", "commit", "make_temp", "name_max", "temp_name",
           "write_failure_reason"]

# Errors of os.link on file systems without hard links (FAT, some network mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: same resolved path, or same inode (hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike | None] = (),
                      others: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Validate an output path before any work is done.

    Parameters
    ----------
    path : str or PathLike
        The file to write.
    overwrite : bool
        Allow replacing an existing file.
    inputs : iterable of str or PathLike
        Files the command reads; ``None`` entries are skipped.  The output may not be
        any of them, whether by the same path, ``..``, a symbolic link or a hard link,
        nor any file GDAL reads with them (:func:`hadinfer.io.inputs.input_files`: an
        ENVI header, a VRT's sources, a world file, ``.aux.xml``, ``.msk``).
    others : iterable of str or PathLike
        The command's other outputs; ``None`` entries are skipped.  Outputs of one
        command must be distinct files.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputPathError
        The path is an input (or a file of one) or another output, a symbolic link or a
        folder, its name is longer than the file system takes or not valid UTF-8, or its
        folder is missing or not writable.
    OutputExistsError
        The file exists and ``overwrite`` is False.
    """
    path = Path(path)
    problem = utf8_name_problem(path)
    if problem:
        raise OutputPathError(problem)
    try:
        check_distinct(path, inputs=inputs, others=others)
        parent = path.parent if str(path.parent) else Path(".")
        limit = name_max(parent)
        if len(os.fsencode(path.name)) > limit:
            raise OutputPathError(f"{path}: the file name is {len(os.fsencode(path.name))} bytes long; "
                                  f"this file system allows {limit}")
        if path.is_symlink():
            raise OutputPathError(f"{path}: is a symbolic link; hadinfer never writes through one")
        if not parent.is_dir():
            raise OutputPathError(f"{path}: output folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputPathError(f"{path}: output folder {parent} is not writable")
        if path.is_dir():
            raise OutputPathError(f"{path}: is a folder")
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path}: exists; pass --overwrite to replace it")
    except HadinferError:
        raise
    except OSError as exc:  # a path the OS refuses to look at (a component too long, a loop of links)
        raise OutputPathError(f"{path}: cannot use this output path ({exc.strerror or exc})") from exc
    return path


class InputIndex:
    """Every file of a command's inputs, by resolved path and by inode, for quick look-ups.

    Parameters
    ----------
    inputs : iterable of str or PathLike
        The command's inputs; ``None`` entries are skipped.  Each counts with every file
        GDAL reads for it (:func:`hadinfer.io.inputs.input_files`: an ENVI header, a
        VRT's sources, a world file, ``.aux.xml``, ``.msk``).
    """

    def __init__(self, inputs: Iterable[str | os.PathLike | None] = ()):
        self._by_path: dict[str, tuple[str, str]] = {}
        self._by_inode: dict[tuple[int, int], tuple[str, str]] = {}
        for source in inputs:
            if source is None or not str(source):
                continue
            for file in input_files(source):
                entry = (os.fspath(file), os.fspath(source))
                self._by_path.setdefault(os.path.realpath(file), entry)
                try:
                    info = os.stat(file)
                except OSError:
                    continue  # not there (yet): its path still counts
                self._by_inode.setdefault((info.st_dev, info.st_ino), entry)

    def find(self, path: str | os.PathLike) -> tuple[str, str] | None:
        """``(file, the input it belongs to)`` when ``path`` is one of the files, else None."""
        hit = self._by_path.get(os.path.realpath(path))
        if hit is None:
            try:
                info = os.stat(path)
            except OSError:
                return None
            hit = self._by_inode.get((info.st_dev, info.st_ino))
        return hit


def check_distinct(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] | InputIndex = (),
                   others: Iterable[str | os.PathLike | None] = ()) -> None:
    """Refuse an output that is one of ``inputs`` (or any file GDAL reads with one) or one of ``others``.

    The part of :func:`check_output_path` about the command's other files, for callers
    that plan many outputs before they are written (a batch passes one
    :class:`InputIndex` for all of them).

    Raises
    ------
    OutputPathError
        Naming the input file, and the input it belongs to when it is not the file given.
    """
    path = Path(path)
    try:
        index = inputs if isinstance(inputs, InputIndex) else InputIndex(inputs)
        hit = index.find(path)
        if hit is not None:
            file, source = hit
            which = "" if os.path.realpath(file) == os.path.realpath(source) else f" (a file of {source})"
            raise OutputPathError(f"{path}: output would replace its own input {file}{which}; choose another name")
        for other in others:
            if other is not None and str(other) and _same_file(other, path):
                raise OutputPathError(f"{path}: is also another output of this command ({other}); "
                                      "choose distinct names")
    except OSError as exc:
        if isinstance(exc, HadinferError):
            raise
        raise OutputPathError(f"{path}: cannot use this output path ({exc.strerror or exc})") from exc


def name_max(folder: str | os.PathLike) -> int:
    """The longest file name, in bytes, the file system of ``folder`` takes (255 when it cannot tell)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def temp_name(target: str | os.PathLike, token: str, suffix: str) -> str:
    """``.<name>.<token><suffix>``, with ``name`` cut so the whole fits the file system's name limit.

    A target name near the limit (255 bytes on most file systems) is legal, but the
    hidden name beside it would not be: the name is shortened (never the token, which
    makes it unique, nor the suffix, which tells writers the format).
    """
    target = Path(target)
    limit = name_max(target.parent if str(target.parent) else ".")
    name = target.name
    room = limit - len(os.fsencode(f"..{token}{suffix}"))
    while name and len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}.{token}{suffix}"


def write_failure_reason(exc: BaseException, folder: str | os.PathLike) -> str:
    """A short reason for a failed write, for a one-line message.

    Parameters
    ----------
    exc : BaseException
        What the writer raised.  GDAL's errors say little ("Write failed. See
        previous exception"), so its cause is used when there is one.
    folder : str or PathLike
        Where the file was being written.

    Returns
    -------
    str
        ``"no space left on device"`` when less than 1 MiB is free in ``folder``,
        else the OS error's text or the library's message (its cause's, when it has one) on one line.
    """
    try:
        if shutil.disk_usage(folder).free < 2**20:
            return "no space left on device"
    except OSError:
        pass  # the folder is gone: the error itself says more
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(exc.__cause__ or exc)


def make_temp(target: str | os.PathLike, suffix: str = ".tmp", *, register: list | None = None) -> Path:
    """Create an empty, unique, hidden file beside ``target`` and return its path.

    Parameters
    ----------
    target : str or PathLike
        The final name; the temporary file is ``.<name>.<random><suffix>`` in its folder.
    suffix : str
        End of the temporary name (e.g. ``".tmp.tif"`` for writers that look at it).
    register : list, optional
        The caller's list of files to remove on failure.  The name is appended
        *before* the file is created, so an interrupt that lands just after the
        creation still finds it there.

    Returns
    -------
    Path

    Raises
    ------
    OutputPathError
        The file cannot be created (no permission, read-only or full file system).

    Notes
    -----
    The name holds 64 random bits and the file is created with ``O_EXCL`` and
    ``O_NOFOLLOW``, so neither a planted file nor a planted symbolic link is ever
    opened.  The mode is ``0o666`` less the umask, as for any new file.
    """
    target = Path(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(temp_name(target, secrets.token_hex(8), suffix))
        if register is not None:
            register.append(tmp)
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            if register is not None:  # not ours: never remove it
                register.remove(tmp)
            continue
        except OSError as exc:
            raise OutputPathError(f"{target}: cannot create a file in {target.parent} "
                                  f"({exc.strerror or exc})") from exc
        return tmp
    raise OutputPathError(f"{target}: cannot find a free temporary name in {target.parent}")


def commit(tmp: str | os.PathLike, target: str | os.PathLike, *, overwrite: bool) -> Path:
    """Rename the finished ``tmp`` to ``target``.

    Parameters
    ----------
    tmp : str or PathLike
        The complete file, in the same folder as ``target``.
    target : str or PathLike
        Final name.
    overwrite : bool
        Replace an existing ``target`` (atomically, with :func:`os.replace`).  Without
        it, the rename refuses to replace anything: ``tmp`` is hard-linked to ``target``,
        which fails if any entry (a file, a link, a folder) appeared there meanwhile.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    OutputExistsError
        ``target`` appeared while the command ran and ``overwrite`` is False; ``tmp``
        is left for the caller to remove.
    OutputPathError
        The rename failed (e.g. ``target`` is now a folder).
    """
    tmp, target = Path(tmp), Path(target)
    try:
        if overwrite:
            os.replace(tmp, target)
            return target
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            # No hard links here: check, then rename (a narrow race the link closes elsewhere).
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
            os.rename(tmp, target)
            return target
        tmp.unlink()
    except FileExistsError as exc:
        raise OutputExistsError(f"{target}: appeared while this command ran; not replaced "
                                "(pass --overwrite to replace it)") from exc
    except OSError as exc:
        raise OutputPathError(f"{target}: cannot move the finished file into place "
                              f"({exc.strerror or exc})") from exc
    return target


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False,
                  inputs: Iterable[str | os.PathLike | None] = (),
                  others: Iterable[str | os.PathLike | None] = (),
                  suffix: str = ".tmp") -> Iterator[Path]:
    """Write a file under a temporary name and rename it into place on success.

    Parameters
    ----------
    path : str or PathLike
        Final name, checked with :func:`check_output_path`.
    overwrite, inputs, others
        As for :func:`check_output_path`; ``overwrite`` also decides the final rename
        (see :func:`commit`).
    suffix : str
        End of the temporary name.

    Yields
    ------
    Path
        The temporary file (created empty): write it by name, in full.

    Raises
    ------
    OutputExistsError, OutputPathError
        From the checks or the rename.  An :class:`OSError` raised while the block
        writes (a full disk, say) becomes a one-line :class:`OutputPathError`.

    Notes
    -----
    The temporary file is removed whenever the block does not complete, whatever
    the exception (``KeyboardInterrupt`` and ``SystemExit`` included) and also when
    the final rename fails.  Writers that need an explicit format (matplotlib) must be
    told it, since the temporary name ends in ``suffix``.
    """
    target = check_output_path(path, overwrite=overwrite, inputs=inputs, others=others)
    leftovers: list[Path] = []
    try:
        tmp = make_temp(target, suffix, register=leftovers)
        try:
            yield tmp
        except HadinferError:
            raise
        except OSError as exc:
            raise OutputPathError(f"{target}: cannot write ({write_failure_reason(exc, target.parent)}); "
                                  "nothing was written there") from exc
        commit(tmp, target, overwrite=overwrite)
    finally:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
