"""Option types and helpers shared by the commands."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

import click

from ..errors import BandSelectionError, HadinferError, OutputPathError, ParameterError
from ..io.atomic import atomic_output, check_output_path
from ..io.bands import parse_wavelength_ranges
from ..io.creation_options import OPTION_NAME, PREFIX as CREATION_PREFIX, check_creation_options
from ..io.json_text import dumps as json_dumps
from ..pairs import as_pair
from .logs import ProgressLog, configure_logging

#: Extensions a score map may have: hadinfer writes GeoTIFF only, and GDAL (and QGIS)
#: pick a format by the extension, so a map called ``.png`` or ``.img`` would mislead.
GEOTIFF_EXTENSIONS = (".tif", ".tiff", ".gtiff")


def _add_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        obj = ctx.ensure_object(dict)
        obj["verbose"] = obj.get("verbose", 0) + value
    configure_logging(ctx)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)["quiet"] = True
    configure_logging(ctx)


def verbosity_options(command):
    """Add ``-v/--verbose`` (repeatable) and ``-q/--quiet`` to a command.

    They mean the same before and after the subcommand (``hadinfer -v detect ...`` and
    ``hadinfer detect ... -v``) and add up; the command reads them with
    :func:`is_quiet`, and logging follows them (see :mod:`hadinfer.cli.logs`).
    """
    command = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                           help="No progress, no summary line; warnings and errors only.")(command)
    return click.option("-v", "--verbose", count=True, expose_value=False, callback=_add_verbose,
                        help="hadinfer's debug log and tracebacks on errors; -vv adds rasterio's and GDAL's.")(command)


def is_quiet() -> bool:
    """Whether ``-q`` was given, before or after the subcommand."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and (ctx.obj or {}).get("quiet"))


class OutputFile(click.Path):
    """A file to write.  A folder -- one that exists, or a name ending in ``/`` -- is refused (exit 2).

    Without this, ``-o maps/`` would write a file called ``maps``.

    Parameters
    ----------
    example : str
        A file name the message suggests inside the folder (``"map.tif"``).
    """

    def __init__(self, example: str = "out") -> None:
        super().__init__(dir_okay=False)
        self.example = example

    def convert(self, value, param, ctx):
        text = os.fspath(value)
        seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
        if text.endswith(seps) or os.path.isdir(text):
            self.fail(f"{text} is a folder; give a file name, such as {os.path.join(text, self.example)}", param, ctx)
        return super().convert(value, param, ctx)


def check_map_extension(path: str | os.PathLike, param_hint: str = "-o") -> None:
    """Refuse a map name whose extension is not GeoTIFF's (:data:`GEOTIFF_EXTENSIONS`, any case).

    Raises
    ------
    click.BadParameter
        Naming the extension, e.g. ``'.png' is not a GeoTIFF extension``.
    """
    check_extension(path, GEOTIFF_EXTENSIONS, "GeoTIFF", "the map", param_hint)


def check_png_extension(path: str | os.PathLike, param_hint: str = "-o") -> None:
    """Refuse a picture's name unless it ends in ``.png`` (any case): it is always a PNG.

    A quicklook named ``map.tif`` or ``map.jpg`` was written as a PNG under that name.

    Raises
    ------
    click.BadParameter
    """
    check_extension(path, (".png",), "PNG", "the picture", param_hint)


def check_extension(path: str | os.PathLike, extensions: tuple[str, ...], kind: str, what: str,
                    param_hint: str) -> None:
    """Refuse ``path`` unless its extension is one of ``extensions`` (lower case; any case matches).

    Raises
    ------
    click.BadParameter
        ``<path>: '<suffix>' is not a <kind> extension; <what> is always a <kind>, so name it ...``.
    """
    suffix = Path(path).suffix
    if suffix.lower() not in extensions:
        problem = f"'{suffix}' is not a {kind} extension" if suffix else "the name has no extension"
        names = ", ".join(extensions[:-1]) + " or " + extensions[-1] if len(extensions) > 1 else extensions[0]
        raise click.BadParameter(f"{path}: {problem}; {what} is always a {kind}, so name it {names}",
                                 param_hint=param_hint)


class FiniteFloatRange(click.FloatRange):
    """A float option that also refuses NaN and infinities.

    ``click.FloatRange`` compares with ``<``, which NaN always fails, so ``nan`` passed
    every range and reached the detectors (a silent NaN map, or an error after the work).
    """

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"expected a finite number, got {value!r}", param, ctx)
        return number


class WindowType(click.ParamType):
    """``INNER,OUTER`` odd window widths."""

    name = "INNER,OUTER"

    def convert(self, value, param, ctx):
        # A default or a caller's value may already be a pair; it is checked all the same.
        try:
            pair = tuple(int(v) for v in value.split(",")) if isinstance(value, str) else value
            inner, outer = as_pair(pair, "window", scalar=False, labels=("inner", "outer"))
        except (ValueError, ParameterError):
            self.fail(f"expected two odd integers like 5,21, got {value!r}", param, ctx)
        if inner % 2 == 0 or outer % 2 == 0 or inner >= outer:
            self.fail(f"expected odd widths with inner < outer, got {value!r}", param, ctx)
        return inner, outer


class ProgressBars:
    """``progress(stage, done, total)``: click progress bars on a terminal, periodic log lines off one.

    Off a terminal (a batch job, a pipe, a log file) a bar would print nothing useful,
    so each stage logs a line at INFO every tenth or so, at most one per few seconds
    (:class:`~hadinfer.cli.logs.ProgressLog`); ``-q`` (``enabled=False``) silences both.

    Parameters
    ----------
    enabled : bool
        False: no output at all.
    terminal : bool, optional
        Whether stderr is a terminal; default ``sys.stderr.isatty()``.
    log : ProgressLog, optional
        The off-terminal reporter (tests pass one with a fake clock).
    """

    def __init__(self, enabled: bool, *, terminal: bool | None = None, log: ProgressLog | None = None):
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.enabled = enabled
        self.log = (log or ProgressLog("tiles")) if enabled and not self.terminal else None
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.log is not None:
            self.log.update(stage, done, total)
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = click.progressbar(length=total, label=f"{stage:<10}", file=sys.stderr,
                                          show_pos=True, show_eta=True)
            self._bar.__enter__()
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def write_json(path: str, payload: dict, *, overwrite: bool, inputs=(), others=()) -> None:
    """Write a JSON report atomically (see :mod:`hadinfer.io.atomic`).

    It refuses to replace a file unless ``overwrite``, and never replaces one of
    ``inputs`` or ``others`` (the command's input files and its other outputs).  NaN and
    infinities are written as ``null`` (:mod:`hadinfer.io.json_text`).
    """
    text = json_dumps(payload, indent=2, default=str) + "\n"
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others) as tmp:
        tmp.write_text(text)


def check_optional_output(path: str | None, overwrite: bool, *, inputs=(), others=()) -> Path | None:
    """Validate an optional output path up front, before long work.

    ``inputs`` are the command's input files and ``others`` its other outputs: the
    output may be none of them (see :func:`hadinfer.io.atomic.check_output_path`).
    """
    return None if path is None else check_output_path(path, overwrite=overwrite, inputs=inputs, others=others)


@contextlib.contextmanager
def staged_map(path, *, overwrite: bool, inputs=(), others=()):
    """Reserve a hidden name beside the map ``path``; it becomes ``path`` only if the whole step succeeds.

    ``hadinfer detect`` writes the map there, then its detections and report, and the
    map is renamed into place last (see :func:`hadinfer.io.atomic.atomic_output`).  A
    step that fails after the map was scored (detections, report) therefore leaves no
    map, so a batch rerun does not skip the scene as done.  Errors name ``path``, never
    the hidden name.
    """
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others, suffix=".tmp.tif") as staged:
        try:
            yield staged
        except HadinferError as exc:
            text = str(exc)
            if str(staged) not in text:
                raise
            raise type(exc)(text.replace(str(staged), str(path))) from exc
        if staged.stat().st_size == 0:  # never an empty file under the map's name
            raise OutputPathError(f"{path}: no map was written; nothing was put there")


def check_detection_options(pfa: float | None, threshold: float | None, detections_path: str | None,
                            output_dir: str | None) -> None:
    """``--pfa``, ``--threshold`` and ``--detections`` checked before any scene is read.

    Raises
    ------
    click.BadParameter
        ``--pfa`` outside (0, 1) or NaN; ``--threshold`` not finite; either without
        ``--detections`` (for one scene: the map alone has no threshold); a
        ``--detections`` extension no writer takes
        (:func:`hadinfer.vectors.check_detections_path`).
    MissingDependencyError
        A GeoPackage without the ``vector`` extra.
    """
    if pfa is not None and not 0.0 < pfa < 1.0:  # NaN fails both comparisons
        raise click.BadParameter(f"expected a false-alarm rate between 0 and 1 (exclusive), got {pfa}",
                                 param_hint="--pfa")
    if threshold is not None and not math.isfinite(threshold):
        raise click.BadParameter(f"expected a finite score, got {threshold}", param_hint="--threshold")
    if detections_path is None and output_dir is None and (pfa, threshold) != (None, None):
        raise click.BadParameter("needs --detections FILE (the map itself is never thresholded)",
                                 param_hint="--pfa" if pfa is not None else "--threshold")
    if detections_path is None:
        return
    from ..vectors import check_detections_path

    try:  # the writer's own rule: extension, and the vector extra for GeoPackage
        check_detections_path(detections_path)
    except ParameterError as exc:
        raise click.BadParameter(str(exc).removeprefix("--detections: "), param_hint="--detections") from exc


class WavelengthRangesType(click.ParamType):
    """``LOW-HIGH,...`` inclusive nanometre ranges, checked before any file is opened."""

    name = "NM-NM,..."

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            parse_wavelength_ranges(value)
        except BandSelectionError as exc:
            self.fail(str(exc).removeprefix("--wavelengths: "), param, ctx)
        return value.strip()


class CreationOptionType(click.ParamType):
    """One ``KEY=VALUE`` GDAL creation option, as ``(key in lower case, value)``."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, option = str(value).partition("=")
        if not sep or not OPTION_NAME.fullmatch(key.strip()) or not option.strip():
            self.fail(f"expected NAME=VALUE such as COMPRESS=ZSTD, got {value!r}", param, ctx)
        return key.strip().lower(), option.strip()


def creation_options(pairs, *, cog: bool) -> dict[str, str]:
    """Check ``--co`` pairs by the writer's own rule (:func:`hadinfer.io.creation_options.check_creation_options`).

    Parameters
    ----------
    pairs : iterable of (str, str)
        ``(name, value)`` as :class:`CreationOptionType` returns them.
    cog : bool
        Whether the map is a Cloud-Optimized GeoTIFF (``--cog``).

    Returns
    -------
    dict of str to str
        Lower-case names and values in GDAL's spelling, as the API takes them.

    Raises
    ------
    click.BadParameter
        What the rule refuses, as a usage error of ``--co``.
    """
    try:
        return check_creation_options(list(pairs), cog=cog)
    except ParameterError as exc:
        raise click.BadParameter(str(exc).removeprefix(CREATION_PREFIX), param_hint="--co") from exc
