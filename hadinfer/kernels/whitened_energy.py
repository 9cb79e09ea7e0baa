"""Global RX's per-pixel energy, ``||(x - mean) @ P||^2``, streamed a few rows at a time."""

from __future__ import annotations

import numpy as np

from .statistics import centred_blocks


def whitened_energy(cube: np.ndarray, mean: np.ndarray, projection: np.ndarray,
                    scale: np.ndarray | None = None) -> np.ndarray:
    """``||(x - mean) @ projection||^2`` per pixel, in the projection's dtype, a few rows at a time.

    Each block of rows is centred (:func:`~hadinfer.kernels.statistics.centred_blocks`),
    projected and reduced while still in cache: no array as large as the window is
    allocated and the window is never widened.

    Parameters
    ----------
    cube : ndarray, shape (h, w, B)
        Any real dtype.
    mean : ndarray of float64, shape (B,)
    projection : ndarray, shape (B, k)
        float32 for single-precision scoring.
    scale : ndarray of float64, shape (B,), optional
        Powers of two the centred spectra are multiplied by first (``projection`` is
        then already divided by them); see :attr:`GlobalRX.scale_`.

    Returns
    -------
    ndarray of float32, shape (h, w)
    """
    height, width, _ = cube.shape
    out = np.empty((height, width), dtype=np.float32)
    for top, rows, centred in centred_blocks(cube, mean, projection.dtype, scale):
        whitened = centred @ projection
        out[top:top + rows] = np.einsum("ij,ij->i", whitened, whitened).reshape(rows, width)
    return out
