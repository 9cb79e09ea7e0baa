"""Why a scene has no valid pixel: bands that hold no value anywhere, named with the selection that drops them.

A pixel is scored only where every selected band holds a finite value other than the
nodata value.  Reflectance products often blank whole bands (water vapour, detector
overlap) with NaN or their nodata value, so one such band leaves no pixel to score,
and "every pixel is nodata" alone does not say which band, nor what to do.  Looking
is cheap and happens only on that failure: a few windows spread over the scene.
"""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from ..errors import AllNodataError
from .bands import format_band_spec
from .scene import Scene

#: Windows (of at most :data:`_SIDE` pixels a side) looked at, spread over the scene.
_WINDOWS = 5
_SIDE = 128


def empty_bands(scene: Scene) -> tuple[list[int], int]:
    """The selected bands (file numbering) without one finite, non-nodata value in a sample of the scene.

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    bands : list of int
        1-based band numbers of the file, as ``--bands`` names them.
    pixels : int
        Pixels looked at (the four corners' and the centre's windows).
    """
    info = scene.info
    held = np.zeros(len(info.bands), dtype=bool)
    pixels = 0
    for window in _sample_windows(info.height, info.width):
        raw = scene._read_raw(window)  # the raw values: read_window zeroes invalid pixels
        has_value = np.isfinite(raw) if np.issubdtype(raw.dtype, np.floating) else np.ones(raw.shape, bool)
        if info.nodata is not None and not np.isnan(info.nodata):
            has_value &= raw != info.nodata
        held |= has_value.any(axis=(0, 1))
        pixels += raw.shape[0] * raw.shape[1]
    return [band for band, ok in zip(info.bands, held) if not ok], pixels


def no_valid_pixel_error(scene: Scene) -> AllNodataError:
    """The error for a scene without a valid pixel: naming its empty bands and a ``--bands`` without them, if any."""
    info = scene.info
    plain = f"{info.path}: every pixel is nodata or not finite; nothing to score"
    try:
        empty, pixels = empty_bands(scene)
    except Exception:  # the diagnosis must never hide the failure it explains
        return AllNodataError(plain)
    kept = sorted(set(info.bands) - set(empty))
    if not empty or not kept:
        return AllNodataError(plain)
    shown = [str(band) for band in empty[:12]] + ([f"{len(empty) - 12} more"] if len(empty) > 12 else [])
    named = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return AllNodataError(
        f"{info.path}: no pixel has a value in every band: band{'s' if len(empty) > 1 else ''} {named} "
        f"hold{'' if len(empty) > 1 else 's'} none (NaN or nodata) in the {pixels} pixels looked at, e.g. a "
        f"product's blanked bands; leave them out: --bands {format_band_spec(kept)} (bands= in the Python API)")


def _sample_windows(height: int, width: int) -> list[Window]:
    """Up to :data:`_WINDOWS` distinct windows: the four corners and the centre."""
    rows, cols = min(_SIDE, height), min(_SIDE, width)
    spots = [(0, 0), (0, width - cols), (height - rows, 0), (height - rows, width - cols),
             ((height - rows) // 2, (width - cols) // 2)]
    return [Window(col, row, cols, rows) for row, col in dict.fromkeys(spots)][:_WINDOWS]
