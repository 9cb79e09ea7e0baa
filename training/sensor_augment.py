"""Make a scene look as if another sensor had taken it (band sets, resampling, gains, noise)."""

from __future__ import annotations

import numpy as np

from hadinfer.errors import ParameterError


def resample_bands(cube: np.ndarray, bands: int) -> np.ndarray:
    """Linear interpolation of every spectrum onto ``bands`` evenly spaced positions.

    Band positions are taken as evenly spaced over the same spectral range, which is what
    a coarser or finer sensor over the same range sees to first order.
    """
    source = np.linspace(0.0, 1.0, cube.shape[-1])
    target = np.linspace(0.0, 1.0, bands)
    lower = np.clip(np.searchsorted(source, target, side="right") - 1, 0, cube.shape[-1] - 2)
    frac = (target - source[lower]) / (source[lower + 1] - source[lower])
    return cube[..., lower] * (1 - frac) + cube[..., lower + 1] * frac


def augment_sensor(cube: np.ndarray, rng: np.random.Generator, *, min_bands: int = 48) -> np.ndarray:
    """A random other-sensor view of ``cube`` (H, W, B) -> (H, W, B').

    One of: a contiguous band subset (60-100 % of the range), band averaging (bins of 2 or
    3), or resampling to 48-224 bands; then a smooth per-band gain (0.85-1.15), an offset
    of up to 2 % of the mean level, and Gaussian noise at a random SNR of 100-1000.

    Raises
    ------
    ParameterError
        Fewer than ``min_bands`` bands to start from.
    """
    if cube.ndim != 3 or cube.shape[2] < min_bands:
        raise ParameterError(f"cube: expected (rows, cols, bands >= {min_bands}), got {cube.shape}")
    bands = cube.shape[2]
    kind = rng.integers(3)
    if kind == 0:
        length = int(rng.uniform(0.6, 1.0) * bands)
        start = int(rng.integers(0, bands - length + 1))
        out = cube[..., start:start + length]
    elif kind == 1:
        width = int(rng.integers(2, 4))
        usable = bands - bands % width
        out = cube[..., :usable].reshape(cube.shape[:2] + (usable // width, width)).mean(axis=-1)
    else:
        out = resample_bands(cube, int(rng.integers(min_bands, 225)))
    level = float(np.mean(np.abs(out))) or 1.0
    knots = rng.uniform(0.85, 1.15, size=5)
    gain = np.interp(np.linspace(0, 1, out.shape[-1]), np.linspace(0, 1, knots.size), knots)
    noise = level / rng.uniform(100, 1000)
    return out * gain + rng.uniform(-0.02, 0.02) * level + noise * rng.standard_normal(out.shape)
