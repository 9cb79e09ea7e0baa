"""Any sensor's spectra on one canonical band grid, standardised by the scene's own statistics.

A learned spectral transform must take any band count.  Files rarely carry wavelengths
(none of the ``.mat`` benchmark scenes do), so by default bands are placed evenly over the
sensor's range, as :func:`hadinfer.training.sensor_augment.resample_bands` does in
training, and linearly interpolated onto :data:`CANONICAL_BANDS` positions.  Given band
centres (:func:`band_positions`), each band sits at its relative position in the range
instead; whether the runtime does so is decided by a measurement
(``benchmarks/results/learned-features/band-positions-plan.md``).  Each band is first
standardised by the scene's mean and standard deviation (from the statistics pass), so
radiance, reflectance and integer counts all reach the network in the same units.
Standardise-then-interpolate is one affine map, applied as one matrix product per pixel.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: Bands of the canonical grid the feature network reads.
CANONICAL_BANDS = 64
#: A band whose standard deviation is below this fraction of the largest is treated as
#: constant (its standardised value is 0 on every pixel, not a division by ~0).
_CONSTANT_BAND = 1e-6


def placeable_centres(centres) -> bool:
    """Whether :func:`band_positions` can place bands with these centres: at least 2, finite,
    distinct, in any order (a file may list its bands from the longest wavelength down).

    Examples
    --------
    >>> placeable_centres([400.0, 500.0]), placeable_centres([500.0, 400.0]), placeable_centres([400.0, 400.0])
    (True, True, False)
    """
    values = np.asarray(centres, dtype=np.float64).reshape(-1)
    return (values.size >= 2 and bool(np.isfinite(values).all())
            and bool((np.diff(np.sort(values)) > 0).all()))


def band_positions(centres) -> np.ndarray:
    """Relative positions in [0, 1] of bands with these centres (any unit), by wavelength.

    The shortest centre is at 0 and the longest at 1, whatever the bands' order in the
    file: a file listing its bands from the longest wavelength down gets the same
    canonical spectra as one listing them upwards.

    Parameters
    ----------
    centres : sequence of float
        One centre per band, distinct, at least 2, in any order.

    Returns
    -------
    ndarray of float64, shape (bands,)

    Raises
    ------
    ParameterError
        Fewer than 2 centres, non-finite ones, or two bands at the same centre.

    Examples
    --------
    >>> band_positions([400.0, 500.0, 800.0]).tolist()
    [0.0, 0.25, 1.0]
    >>> band_positions([800.0, 500.0, 400.0]).tolist()
    [1.0, 0.25, 0.0]
    """
    centres = np.asarray(centres, dtype=np.float64).reshape(-1)
    if not placeable_centres(centres):
        raise ParameterError(f"band_centres: expected at least 2 finite, distinct band centres, got {centres.size}"
                             + ("" if centres.size < 2 or not np.isfinite(centres).all() else " with repeats"))
    low, high = centres.min(), centres.max()
    return (centres - low) / (high - low)


def resample_matrix(bands: int, target: int = CANONICAL_BANDS, positions: np.ndarray | None = None) -> np.ndarray:
    """Linear-interpolation weights from ``bands`` bands onto ``target`` evenly spaced ones.

    Parameters
    ----------
    bands, target : int
        At least 2 each.
    positions : ndarray of float64, shape (bands,), optional
        Where the bands sit in [0, 1] (:func:`band_positions`), in any order; default
        evenly spaced, in file order.

    Returns
    -------
    ndarray of float64, shape (bands, target)
        ``spectra @ matrix`` interpolates (rows of weights sum to at most 2; every column
        sums to 1).

    Examples
    --------
    >>> m = resample_matrix(3, 5)
    >>> np.round(np.array([0.0, 1.0, 2.0]) @ m, 3).tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    if bands < 2 or target < 2:
        raise ParameterError(f"bands: the canonical grid needs at least 2 bands, got {bands} -> {target}")
    source = np.linspace(0.0, 1.0, bands) if positions is None else np.asarray(positions, dtype=np.float64)
    if source.shape != (bands,):
        raise ParameterError(f"band_centres: {source.size} band positions for {bands} bands")
    # Interpolate between bands in wavelength order, then give each band its own row back
    # (bands listed in increasing order keep their rows: the same matrix, to the bit).
    order = np.argsort(source, kind="stable")
    source = source[order]
    grid = np.linspace(0.0, 1.0, target)
    lower = np.clip(np.searchsorted(source, grid, side="right") - 1, 0, bands - 2)
    frac = (grid - source[lower]) / (source[lower + 1] - source[lower])
    ordered = np.zeros((bands, target))
    columns = np.arange(target)
    ordered[lower, columns] = 1.0 - frac
    ordered[lower + 1, columns] += frac
    matrix = np.empty_like(ordered)
    matrix[order] = ordered
    return matrix


def canonical_affine(mean: np.ndarray, covariance: np.ndarray, target: int = CANONICAL_BANDS,
                     positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The affine map ``x -> x @ weight + offset`` from raw spectra to canonical ones.

    Parameters
    ----------
    mean : ndarray, shape (B,)
    covariance : ndarray, shape (B, B)
        The scene's statistics (only the diagonal is used).
    target : int
    positions : ndarray, optional
        The bands' relative positions (:func:`band_positions`); default evenly spaced.

    Returns
    -------
    weight : ndarray of float64, shape (B, target)
    offset : ndarray of float64, shape (target,)
    """
    mean = np.asarray(mean, dtype=np.float64)
    std = np.sqrt(np.maximum(np.diag(np.asarray(covariance, dtype=np.float64)), 0.0))
    floor = _CONSTANT_BAND * float(std.max(initial=0.0))
    scale = np.where(std > floor, 1.0 / np.where(std > floor, std, 1.0), 0.0)
    weight = scale[:, None] * resample_matrix(mean.size, target, positions)
    return weight, -(mean @ weight)
