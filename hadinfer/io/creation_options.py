"""GDAL creation options a score map may take, checked once for the CLI's ``--co`` and the API's ``creation_options``.

The rule lives here, beside the writer that uses the options, so ``hadinfer.detect``
refuses what ``hadinfer detect --co`` refuses, with the same words, before any work.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from ..errors import ParameterError

#: GeoTIFF creation options a score map may take, by driver: a tuple of upper-case
#: words lists the accepted values; ``(kind, low, high)`` accepts a number of that kind
#: in the range (``high`` None: no upper bound).
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
#: whole-block writer and the RMS overviews, or files the atomic writer would not manage.
_SET_BY_HADINFER = {
    "driver", "width", "height", "count", "dtype", "crs", "transform", "nodata", "tiled", "blockxsize",
    "blockysize", "blocksize", "interleave", "photometric", "alpha", "nbits", "pixeltype", "profile", "overviews",
    "overview_resampling", "resampling", "copy_src_overviews", "tfw", "rpb", "rpctxt", "warp_resampling",
}
_OTHER_DRIVER_HINT = {"zlevel": "LEVEL", "zstd_level": "LEVEL", "lzma_preset": "LEVEL", "level": "ZLEVEL",
                      "discard_lsb": None, "endianness": None}
#: A creation option's name as GDAL spells them (case aside).
OPTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Prefix of every message here: the API's argument (the CLI replaces it with ``--co``).
PREFIX = "creation_options: "


def check_creation_options(options: Mapping | Iterable[tuple[str, object]], *, cog: bool) -> dict[str, str]:
    """Check a score map's GDAL creation options against the GeoTIFF (or, with ``cog``, COG) driver's.

    Parameters
    ----------
    options : mapping or iterable of (str, value)
        Names in any case (``{"COMPRESS": "zstd"}``), or ``(name, value)`` pairs as the
        CLI's repeatable ``--co`` gives them.  Values may be strings or numbers.
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
    ParameterError
        One line starting ``creation_options:``: not a mapping of names to values, a
        malformed name, an unknown option, one hadinfer sets itself, one of the other
        driver, a value out of range, or one option given twice with different values.

    Examples
    --------
    >>> check_creation_options({"COMPRESS": "zstd", "ZSTD_LEVEL": 9}, cog=False)
    {'compress': 'ZSTD', 'zstd_level': '9'}
    """
    if isinstance(options, Mapping):
        options = options.items()
    elif isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
        raise ParameterError(f"{PREFIX}expected a dict of NAME: VALUE, got {type(options).__name__}")
    driver = "COG" if cog else "GTiff"
    allowed = CREATION_OPTIONS[driver]
    chosen: dict[str, str] = {}
    for pair in options:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ParameterError(f"{PREFIX}expected NAME: VALUE pairs, got {pair!r}")
        key, value = pair
        if not isinstance(key, str) or not OPTION_NAME.fullmatch(key.strip()):
            raise ParameterError(f"{PREFIX}expected an option name such as COMPRESS, got {key!r}")
        key = key.strip().lower()
        name = key.upper()
        if key in _SET_BY_HADINFER:
            raise ParameterError(f"{PREFIX}{name} is set by hadinfer (from the scene, or for the map's layout and "
                                 "overviews)")
        if key not in allowed:
            other = "GTiff" if cog else "COG"
            if key in CREATION_OPTIONS[other]:
                hint = _OTHER_DRIVER_HINT.get(key)
                alternative = f"; use {hint}" if hint else ""
                raise ParameterError(f"{PREFIX}{name} is not an option of {'a COG' if cog else 'a plain GeoTIFF'} "
                                     f"map{alternative}")
            raise ParameterError(f"{PREFIX}unknown creation option {name} for a {driver} map; known: "
                                 f"{', '.join(k.upper() for k in allowed)}")
        value = _check_value(name, _text(name, value), allowed[key])
        if chosen.get(key, value) != value:
            raise ParameterError(f"{PREFIX}{name} given twice ({chosen[key]} and {value})")
        chosen[key] = value
    return chosen


def _text(name: str, value) -> str:
    """A value as GDAL reads it: a string, or a number or bool written out; anything else refused."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    raise ParameterError(f"{PREFIX}{name}: expected a string or a number, got {type(value).__name__}")


def _check_value(name: str, value: str, rule) -> str:
    """``value`` in GDAL's spelling, or a ParameterError naming the option and what it takes."""
    if rule[0] not in (_INT, _FLOAT):
        if value.upper() not in rule:
            raise ParameterError(f"{PREFIX}{name}={value}: expected one of {', '.join(rule)}")
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
        raise ParameterError(f"{PREFIX}{name}={value}: expected {'an' if kind == _INT else 'a'} {kind} {span}{extra}")
    return value
