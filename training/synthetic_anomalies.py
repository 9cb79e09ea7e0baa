"""Synthetic anomalies: small regions whose spectra are band-shuffled copies of themselves."""

from __future__ import annotations

import numpy as np

from hadinfer.errors import ParameterError


def _region(rng: np.random.Generator, size: int) -> list[tuple[int, int]]:
    """A connected blob of ``size`` pixels grown by a random walk from (0, 0)."""
    cells = {(0, 0)}
    frontier = [(0, 0)]
    while len(cells) < size:
        y, x = frontier[rng.integers(len(frontier))]
        dy, dx = ((1, 0), (-1, 0), (0, 1), (0, -1))[rng.integers(4)]
        cell = (y + dy, x + dx)
        if cell not in cells:
            cells.add(cell)
            frontier.append(cell)
    return sorted(cells)


#: How implanted regions' sizes are drawn between 1 and ``max_size`` pixels.
SIZE_LAWS = ("uniform", "log-uniform")


def region_size(rng: np.random.Generator, max_size: int, sizes: str = "uniform") -> int:
    """A region's size in pixels: uniform on 1..``max_size``, or log-uniform (as many regions of
    1-2 px as of 32-64 px, the spread of real targets' sizes over two orders of magnitude)."""
    if sizes == "uniform":
        return int(rng.integers(1, max_size + 1))
    if sizes == "log-uniform":
        return int(np.clip(np.rint(np.exp(rng.uniform(0.0, np.log(max_size + 0.5)))), 1, max_size))
    raise ParameterError(f"sizes: expected one of {SIZE_LAWS}, got {sizes!r}")


def mean_region_size(max_size: int, sizes: str = "uniform") -> float:
    """The expected size :func:`region_size` draws (exact sum over the sizes it can give)."""
    if sizes == "uniform":
        return (max_size + 1) / 2
    if sizes != "log-uniform":
        raise ParameterError(f"sizes: expected one of {SIZE_LAWS}, got {sizes!r}")
    top = np.log(max_size + 0.5)
    edges = np.log(np.arange(1, max_size + 1) + 0.5)  # rint(e^u) = n for u in [lower n, edge n)
    lower = np.concatenate([[0.0], edges[:-1]])
    return float(np.sum(np.arange(1, max_size + 1) * (edges - lower)) / top)


def _placed_region(rng: np.random.Generator, height: int, width: int, max_size: int,
                   valid: np.ndarray | None, sizes: str = "uniform") -> tuple[np.ndarray, np.ndarray] | None:
    """Rows and columns of a random region (1 to ``max_size`` px, drawn by the law ``sizes``)
    placed in the image, valid pixels only; None when the region does not fit."""
    cells = np.array(_region(rng, region_size(rng, max_size, sizes)))
    cells -= cells.min(axis=0)
    span = cells.max(axis=0) + 1
    if span[0] > height or span[1] > width:
        return None
    origin = (rng.integers(0, height - span[0] + 1), rng.integers(0, width - span[1] + 1))
    ys, xs = cells[:, 0] + origin[0], cells[:, 1] + origin[1]
    if valid is not None:
        keep = valid[ys, xs]
        ys, xs = ys[keep], xs[keep]
    return ys, xs


def implant_anomalies(patch: np.ndarray, rng: np.random.Generator, *, count: int = 2, max_size: int = 7,
                      fraction: tuple[float, float] = (0.3, 1.0), valid: np.ndarray | None = None,
                      sizes: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """Replace small regions of a patch by band-shuffled copies of their own spectra.

    Following TDD (Li et al., IEEE TGRS 2024): a pixel's values are kept, only their
    order along the spectrum changes, so brightness stays realistic while the spectral
    shape no longer matches any neighbour.  Each region (1 to ``max_size`` connected
    pixels, random shape) shuffles a random subset of ``fraction`` of the bands, the same
    permutation for every pixel of the region.

    Parameters
    ----------
    patch : ndarray, shape (h, w, B)
        Raw spectra; not modified.
    rng : numpy.random.Generator
    count : int
        Regions to implant.
    max_size : int
        Largest region, in pixels (1 to 7 by default).
    fraction : (float, float)
        Range of the fraction of bands shuffled.
    valid : ndarray of bool, shape (h, w), optional
        Only valid pixels are changed.
    sizes : {"uniform", "log-uniform"}
        How each region's size is drawn (:func:`region_size`).

    Returns
    -------
    patch : ndarray, shape (h, w, B)
        A modified copy.
    mask : ndarray of bool, shape (h, w)
        True on implanted pixels.
    """
    if patch.ndim != 3 or patch.shape[2] < 2:
        raise ParameterError(f"patch: expected (rows, cols, bands>=2), got {patch.shape}")
    if not 0 < fraction[0] <= fraction[1] <= 1:
        raise ParameterError(f"fraction: expected 0 < low <= high <= 1, got {fraction}")
    out = patch.copy()
    mask = np.zeros(patch.shape[:2], dtype=bool)
    height, width, bands = patch.shape
    for _ in range(count):
        placed = _placed_region(rng, height, width, max_size, valid, sizes)
        if placed is None:
            continue
        ys, xs = placed
        chosen = np.sort(rng.choice(bands, size=max(2, int(round(rng.uniform(*fraction) * bands))), replace=False))
        shuffled = rng.permutation(chosen)
        out[ys[:, None], xs[:, None], chosen[None, :]] = patch[ys[:, None], xs[:, None], shuffled[None, :]]
        mask[ys, xs] = True
    return out, mask


def implant_spectra(cube: np.ndarray, rng: np.random.Generator, library: list[np.ndarray], *, count: int,
                    max_size: int = 9, abundance: tuple[float, float] = (0.1, 1.0),
                    valid: np.ndarray | None = None, sizes: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """Mix real spectra from other scenes into small regions, at sub-pixel abundances.

    Each region (1 to ``max_size`` connected pixels) takes one library spectrum, resampled
    to the scene's band count and scaled to the region's mean level (times 0.7-1.3, so
    brightness alone does not give it away), and mixes it linearly into every pixel:
    ``x' = (1 - a) x + a s`` with ``a`` drawn per region from ``abundance`` and jittered
    per pixel (x 0.6-1.0: purer in the middle of a target than at its edges).

    Parameters
    ----------
    cube : ndarray, shape (H, W, B)
        Raw spectra; not modified.
    rng : numpy.random.Generator
    library : list of ndarray
        Spectra of any band count (each resampled over the same spectral range).
    count : int
        Regions to implant.
    max_size : int
    abundance : (float, float)
    valid : ndarray of bool, shape (H, W), optional
        Only valid pixels are changed.
    sizes : {"uniform", "log-uniform"}
        How each region's size is drawn (:func:`region_size`).

    Returns
    -------
    cube : ndarray, shape (H, W, B)
        A modified copy.
    mask : ndarray of bool, shape (H, W)
        True on implanted pixels.
    """
    from .sensor_augment import resample_bands

    if not library:
        raise ParameterError("library: at least one spectrum is needed")
    if not 0 < abundance[0] <= abundance[1] <= 1:
        raise ParameterError(f"abundance: expected 0 < low <= high <= 1, got {abundance}")
    out = cube.astype(np.float64, copy=True)
    mask = np.zeros(cube.shape[:2], dtype=bool)
    height, width, bands = cube.shape
    for _ in range(count):
        placed = _placed_region(rng, height, width, max_size, valid, sizes)
        if placed is None:
            continue
        ys, xs = placed
        if ys.size == 0:
            continue
        spectrum = resample_bands(np.asarray(library[rng.integers(len(library))], dtype=np.float64)[None], bands)[0]
        host = out[ys, xs]
        scale = np.mean(np.abs(host)) / max(float(np.mean(np.abs(spectrum))), 1e-12) * rng.uniform(0.7, 1.3)
        a = rng.uniform(*abundance) * rng.uniform(0.6, 1.0, size=(ys.size, 1))
        out[ys, xs] = (1 - a) * host + a * (spectrum * scale)
        mask[ys, xs] = True
    return out, mask
