"""``||x @ P||^2`` per row with half the multiplications: a triangular product in place of ``P``.

Why
---
Global RX's energy is the squared norm of each whitened spectrum, and a norm does not
change when the whitened axes are rotated: with ``P^T = Q R`` (QR, ``Q`` orthogonal),
``x @ P = x @ R^T @ Q^T`` and ``||x @ P|| = ||x @ R^T||``.  ``R^T`` is lower triangular, so
BLAS's triangular product (``trmm``) forms it with about half the multiplications of the
dense product.  On a 256 x 256 x 200 int16 window, one thread, the energy took 41 ms
instead of 66 (2-core Intel VM, 2026-12-07).  NumPy has no triangular product, so it comes
from SciPy's BLAS (extras ``fast`` and ``mat``); without SciPy the same factor goes through
NumPy's dense product: the same scores to float32 rounding, at the old speed.

A row's result does not depend on the other rows in the call (measured: OpenBLAS gives
the same bits for any row count and either memory layout), so a pixel's energy stays the
same whichever tile, core or block of rows it is scored in.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np


def energy_factor(projection: np.ndarray) -> np.ndarray:
    """A lower-triangular ``(B, B)`` matrix ``L`` with ``||x @ L|| == ||x @ projection||`` for every ``x``.

    Parameters
    ----------
    projection : ndarray, shape (B, k)
        Any rank; the QR runs in float64.

    Returns
    -------
    ndarray, shape (B, B), Fortran order, of ``projection``'s dtype
        ``R^T`` of ``projection^T = Q R``, columns beyond ``min(B, k)`` zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> projection, x = rng.normal(size=(6, 4)), rng.normal(size=(3, 6))
    >>> factor = energy_factor(projection)
    >>> bool(np.allclose(np.triu(factor, 1), 0.0))
    True
    >>> bool(np.allclose(((x @ factor) ** 2).sum(1), ((x @ projection) ** 2).sum(1)))
    True
    """
    bands, rank = projection.shape
    factor = np.zeros((bands, bands), dtype=projection.dtype, order="F")
    if rank:
        upper = np.linalg.qr(projection.astype(np.float64).T, mode="r")  # (min(k, B), B)
        factor[:, :upper.shape[0]] = upper.T
    return factor


def triangular_energy(block: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``||row @ factor||^2`` for each row of ``block``, overwriting ``block``.

    Parameters
    ----------
    block : ndarray, shape (n, B)
        float32 or float64, either memory order; its values are destroyed (it is a
        scratch copy of centred spectra).
    factor : ndarray, shape (B, B)
        From :func:`energy_factor`, of ``block``'s dtype.

    Returns
    -------
    ndarray, shape (n,), of ``block``'s dtype
    """
    trmm = _trmm(block.dtype)
    if trmm is None:
        product = block @ factor
    else:
        if block.strides[0] > block.strides[1]:
            # A row-major block (pixel-major windows) is copied column-major first (0.6 ms for
            # 4096 x 200): the sum below rounds the same only over the same layout, and this
            # keeps a map's bits independent of how its scene lays out bands.
            block = np.asfortranarray(block)
        product = trmm(1.0, factor, block, side=1, lower=1, overwrite_b=1)  # B := B L
        if product.shape[0] == 1:
            # One row is C- as well as F-contiguous, and NumPy then sums it in another order:
            # summed as two rows, it rounds as it would among others.
            return np.einsum("ij,ij->i", *2 * (np.asfortranarray(np.repeat(product, 2, axis=0)),))[:1]
    return np.einsum("ij,ij->i", product, product)


def triangular_blas() -> bool:
    """Whether the triangular product runs in BLAS (SciPy installed); loads SciPy's BLAS if so.

    Loading it early matters: threadpoolctl limits the BLAS libraries loaded when the
    limit is set, and SciPy's wheels bring their own OpenBLAS, which would otherwise start
    later with a thread per core beside every scoring thread (:mod:`hadinfer.cpu_threads`).
    """
    return _trmm(np.dtype(np.float32)) is not None


@functools.lru_cache(maxsize=None)
def _trmm(dtype):
    """SciPy's ``strmm``/``dtrmm`` for ``dtype``, or None without SciPy."""
    if dtype not in (np.float32, np.float64) or importlib.util.find_spec("scipy") is None:
        return None
    from scipy.linalg import blas

    return blas.strmm if dtype == np.float32 else blas.dtrmm
