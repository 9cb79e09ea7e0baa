"""What an input is: a readable regular file, and every file GDAL reads with it.

A scene is more than the path typed: an ENVI data file has its ``.hdr``, a VRT has its
sources, a GeoTIFF may have a world file (``.tfw``), an ``.aux.xml`` or a ``.msk`` mask.
:func:`input_files` lists them all, so the write rule (:mod:`hadinfer.io.atomic`) can
refuse an output that would replace any of them.  :func:`check_input_file` refuses what
would hang or crash a reader (a FIFO, a device) or a name GDAL cannot take.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import warnings
from pathlib import Path

from ..errors import InputNotFoundError, NotARasterError

__all__ = ["check_input_file", "gdal_path", "input_files", "is_local_path", "local_form", "utf8_name_problem"]

#: Files that are never rasters: GDAL is not asked about them (a model, a cube, a report).
_NOT_RASTERS = (".mat", ".pt", ".pth", ".ckpt", ".onnx", ".engine", ".plan", ".json", ".cache")
#: Side files GDAL reads for any raster when they exist (its auxiliary metadata, its mask
#: and its external overviews): an output may not create them either.
_SIDECARS = (".aux.xml", ".msk", ".ovr")

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


#: A URL's scheme, as rasterio takes them (``zip://``, ``zip+file://``, ``tar://``, ``s3://``, ``az://``, ...).
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_local_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a plain local file (a ``file://`` URL does; a ``/vsi*`` path or another URL does not)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return not text.startswith("/vsi") and (text.startswith("file://") or not _URL_SCHEME.match(text))


def local_form(path: str | os.PathLike) -> str:
    """``path`` as the file system names it: a ``file://`` URL's path, anything else as it is."""
    text = os.fspath(path)
    if isinstance(text, str) and text.startswith("file://"):
        text = text[len("file://"):]
        return text[len("localhost"):] if text.startswith("localhost/") else text
    return text


def utf8_name_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be handed to GDAL by name: it is not valid UTF-8 (``None`` when it is).

    Python keeps such names (bytes from the file system) as lone surrogates; rasterio
    encodes names as UTF-8 and fails on them.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return f"{shown}: the file name is not valid UTF-8, which GDAL cannot take; rename it"
    return None


def check_input_file(path: str | os.PathLike) -> None:
    """Refuse an input that is missing, not a regular file, or not nameable for GDAL.

    A FIFO would block the first ``open`` forever and a device never ends, so both are
    refused before anything reads them.  Folders pass (GDAL reads some, and says so
    when it cannot); so do ``/vsi*`` paths and URLs, which only GDAL can check.

    Raises
    ------
    InputNotFoundError
        Nothing at ``path``.
    NotARasterError
        A FIFO, device or socket, or a name that is not valid UTF-8.
    """
    if not is_local_path(path):
        return
    path = local_form(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputNotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise NotARasterError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    for is_kind, kind in _KINDS:
        if is_kind(mode):
            raise NotARasterError(f"{path}: is {kind}, not a regular file; hadinfer reads files "
                                  "(save the stream to a file first)")
    problem = utf8_name_problem(path)
    if problem:
        raise NotARasterError(problem)


def gdal_path(path: str) -> str:
    """The file GDAL should open for ``path``: an ENVI header's data file, else ``path`` itself."""
    if path.lower().endswith(".hdr"):  # users point at the header; GDAL wants the data file
        data = Path(path).with_suffix("")
        for candidate in (data, data.with_suffix(".img"), data.with_suffix(".dat"), data.with_suffix(".raw")):
            if candidate.is_file():
                return str(candidate)
    return path


def input_files(path: str | os.PathLike) -> tuple[str, ...]:
    """Every file a command reads when it reads ``path``: the path itself and GDAL's list.

    Parameters
    ----------
    path : str or PathLike
        An input as the user gave it (a scene, a truth mask, a map, a model file).

    Returns
    -------
    tuple of str
        ``path`` first, then every file GDAL lists for the dataset (``dataset.files``:
        ENVI header and data, VRT sources, world file, ``.aux.xml``, ``.msk``, ...),
        and the side files GDAL would read if they appeared (``<file>.aux.xml``,
        ``.msk``, ``.ovr``), for the dataset and each of its files.  Files GDAL cannot
        open as a raster (models, ``.mat`` cubes, FIFOs) are just ``(path,)``.

    Notes
    -----
    GDAL is asked once per file version (path, size, modification time), so checking
    several outputs against the same inputs opens each input once.
    """
    path = os.fspath(path)
    if not path or not is_local_path(path) or utf8_name_problem(path):
        return (path,)
    path = local_form(path)
    try:
        info = os.stat(path)
    except OSError:
        return (path,)
    if not stat.S_ISREG(info.st_mode) or Path(path).suffix.lower() in _NOT_RASTERS:
        return (path,)
    return (path, *_gdal_files(path, os.getcwd(), info.st_size, info.st_mtime_ns))


@functools.lru_cache(maxsize=4096)
def _gdal_files(path: str, cwd: str, size: int, mtime_ns: int) -> tuple[str, ...]:
    """GDAL's files for ``path``, named as GDAL names them (relative to ``cwd`` when ``path`` is)."""
    import rasterio
    from rasterio.errors import RasterioError

    opened = gdal_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(opened) as ds:
                listed = [f for f in ds.files if is_local_path(f)]
    except (RasterioError, OSError, ValueError):
        return () if opened == path else (opened,)
    except Exception as exc:  # GDAL's own CPLE_* errors are not RasterioErrors
        if type(exc).__module__.startswith("rasterio"):
            return () if opened == path else (opened,)
        raise
    files = [opened, *listed]
    sidecars = [side for f in dict.fromkeys(files) for side in _side_files(f)]
    return tuple(dict.fromkeys(files + sidecars))


def _side_files(file: str) -> list[str]:
    """What GDAL would read beside ``file`` if it appeared: PAM, mask, overviews, world files."""
    root, ext = os.path.splitext(file)
    worlds = [root + ".wld"]
    if len(ext) >= 3:  # .tif: .tfw and .tifw, as GDAL looks for them
        worlds += [root + ext[:2] + ext[-1] + "w", root + ext + "w"]
    return [file + side for side in _SIDECARS] + worlds
