"""Option types and helpers shared by the commands."""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from pathlib import Path

import click

from ..errors import BandSelectionError, HadinferError, OutputPathError, ParameterError
from ..io.atomic import atomic_output, check_output_path
from ..io.bands import parse_wavelength_ranges
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
    suffix = Path(path).suffix
    if suffix.lower() not in GEOTIFF_EXTENSIONS:
        what = f"'{suffix}' is not a GeoTIFF extension" if suffix else "the name has no extension"
        raise click.BadParameter(f"{path}: {what}; the map is always a GeoTIFF, so name it .tif, .tiff or .gtiff",
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
        (:func:`hadinfer.detections.check_detections_path`).
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
    from ..detections import check_detections_path

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


#: GeoTIFF creation options a score map may take, by driver: ``None`` accepts any
#: value of the checker's kind, a tuple lists the accepted values (upper case).
_INT, _FLOAT = "integer", "number"
_BOOLEANS = ("YES", "NO", "TRUE", "FALSE", "ON", "OFF")
_CODECS = ("NONE", "DEFLATE", "LZW", "ZSTD", "LZMA", "PACKBITS", "LERC", "LERC_DEFLATE", "LERC_ZSTD")
_COMMON_OPTIONS = {
    "compress": _CODECS,
    "max_z_error": (_FLOAT, 0, None),
    "num_threads": (_INT, 1, None),
    "bigtiff": ("YES", "NO", "IF_NEEDED", "IF_SAFER"),
    "sparse_ok": _BOOLEANS,
    "geotiff_version": ("AUTO", "1.0", "1.1"),
}
CREATION_OPTIONS = {
    "GTiff": {**_COMMON_OPTIONS, "predictor": ("1", "2", "3"), "zlevel": (_INT, 1, 12), "zstd_level": (_INT, 1, 22),
              "lzma_preset": (_INT, 0, 9), "discard_lsb": (_INT, 0, 23),
              "endianness": ("NATIVE", "INVERTED", "LITTLE", "BIG")},
    "COG": {**_COMMON_OPTIONS, "predictor": ("YES", "NO", "STANDARD", "FLOATING_POINT"), "level": (_INT, 0, 22)},
}
#: What hadinfer sets itself: from the scene (size, georeferencing, nodata), for the
#: whole-strip writer and the RMS overviews, or files the atomic writer would not manage.
_SET_BY_HADINFER = {
    "driver", "width", "height", "count", "dtype", "crs", "transform", "nodata", "tiled", "blockxsize",
    "blockysize", "blocksize", "interleave", "photometric", "alpha", "nbits", "pixeltype", "profile", "overviews",
    "overview_resampling", "resampling", "copy_src_overviews", "tfw", "rpb", "rpctxt", "warp_resampling",
}
_OTHER_DRIVER_HINT = {"zlevel": "LEVEL", "zstd_level": "LEVEL", "lzma_preset": "LEVEL", "level": "ZLEVEL",
                      "discard_lsb": None, "endianness": None}


class CreationOptionType(click.ParamType):
    """One ``KEY=VALUE`` GDAL creation option, as ``(key in lower case, value)``."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, option = str(value).partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key.strip()) or not option.strip():
            self.fail(f"expected NAME=VALUE such as COMPRESS=ZSTD, got {value!r}", param, ctx)
        return key.strip().lower(), option.strip()


def creation_options(pairs, *, cog: bool) -> dict[str, str]:
    """Check ``--co`` pairs against the GeoTIFF (or, with ``--cog``, COG) creation options of a map.

    Parameters
    ----------
    pairs : iterable of (str, str)
        ``(name, value)`` as :class:`CreationOptionType` returns them.
    cog : bool
        Whether the map is a Cloud-Optimized GeoTIFF (GDAL's COG driver names some
        options differently: ``LEVEL``, not ``ZLEVEL``).

    Returns
    -------
    dict of str to str
        Lower-case names, as a rasterio profile spells them (so they replace
        hadinfer's defaults such as ``compress="deflate"``), and values in GDAL's
        spelling (choices upper case, numbers as given).

    Raises
    ------
    click.BadParameter
        An unknown option, one hadinfer sets itself, one for the other driver, a
        value out of range, or one option given twice with different values.
    """
    driver = "COG" if cog else "GTiff"
    allowed = CREATION_OPTIONS[driver]
    chosen: dict[str, str] = {}
    for key, value in pairs:
        name = key.upper()
        if key in _SET_BY_HADINFER:
            raise click.BadParameter(f"{name} is set by hadinfer (from the scene, or for the map's layout and "
                                     "overviews)", param_hint="--co")
        if key not in allowed:
            other = "GTiff" if cog else "COG"
            if key in CREATION_OPTIONS[other]:
                hint = _OTHER_DRIVER_HINT.get(key)
                alternative = f"; use {hint}" if hint else ""
                raise click.BadParameter(f"{name} is not an option of {'--cog' if cog else 'a plain GeoTIFF'} map"
                                         f"{alternative}", param_hint="--co")
            raise click.BadParameter(f"unknown creation option {name} for a {driver} map; known: "
                                     f"{', '.join(k.upper() for k in allowed)}", param_hint="--co")
        value = _check_value(name, value, allowed[key])
        if chosen.get(key, value) != value:
            raise click.BadParameter(f"{name} given twice ({chosen[key]} and {value})", param_hint="--co")
        chosen[key] = value
    return chosen


def _check_value(name: str, value: str, rule) -> str:
    """``value`` in GDAL's spelling, or a BadParameter naming the option and what it takes."""
    if rule[0] not in (_INT, _FLOAT):
        if value.upper() not in rule:
            raise click.BadParameter(f"{name}={value}: expected one of {', '.join(rule)}", param_hint="--co")
        return value.upper()
    kind, low, high = rule
    if name == "NUM_THREADS" and value.upper() == "ALL_CPUS":
        return "ALL_CPUS"
    try:
        number = int(value) if kind == _INT else float(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        extra = " or ALL_CPUS" if name == "NUM_THREADS" else ""
        raise click.BadParameter(f"{name}={value}: expected {'an' if kind == _INT else 'a'} {kind} {span}{extra}",
                                 param_hint="--co")
    return value
