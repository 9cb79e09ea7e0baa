"""One window's first- and second-order sums about its own centre, in float64 or float32.

What a window adds to the background statistics (:class:`~hadinfer.kernels.statistics.BackgroundStats`)
is a fixed function of its pixels alone: its centre, chunks and float32 deflation basis
come from the window itself, never from what the accumulator saw before.
"""

from __future__ import annotations

import numpy as np

from .centring import CHUNK_ROWS, chunk_buffer, exact_in_float32, float32_scale

#: Leading principal directions split off before a float32 scatter.  On the ten dev
#: scenes a plain float32 scatter moved GRX AUC by up to 5.6e-3 (covariance condition
#: numbers reach 8e8, so float32 rounding of the largest entries swamps the smallest
#: eigenvalues); splitting off 1 direction brought that to 7e-5, 4 or 8 to 1e-5.
DEFLATED = 8

#: Pixels sampled for a window's centre and its float32 deflation basis.
_SAMPLE = 1024


def sample_rows(pixels: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """About :data:`_SAMPLE` valid rows of a window, evenly spaced, in float64."""
    if valid is None:
        sample = pixels[::max(1, pixels.shape[0] // _SAMPLE)]
    else:
        rows = np.flatnonzero(valid)
        sample = pixels[rows[::max(1, rows.size // _SAMPLE)]]
    return np.asarray(sample, dtype=np.float64)



def sums64(pixels: np.ndarray, valid: np.ndarray | None, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum(x - c)`` and ``sum((x - c)(x - c)^T)`` over a window's valid rows, in float64, a chunk at a time."""
    bands = pixels.shape[1]
    first, second = np.zeros(bands), np.zeros((bands, bands))
    size = min(CHUNK_ROWS, pixels.shape[0])
    wide = chunk_buffer(pixels, size, np.float64)
    for start in range(0, pixels.shape[0], CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, pixels.shape[0])
        d = np.subtract(pixels[start:stop], centre, out=wide[:stop - start])
        if valid is not None:
            d[~valid[start:stop]] = 0.0  # a zero row adds nothing to any sum
        first += d.sum(axis=0)
        second += d.T @ d
    return first, second


def sums32(pixels, valid, centre, sample):
    """``sum(x - c)`` and ``sum((x - c)(x - c)^T)`` of a window with a float32 scatter product (see :meth:`BackgroundStats.update`).

    Each centred chunk ``d`` is split as ``d = d' + a U^T`` with ``U`` the window's
    leading principal directions.  One float32 Gram matrix of ``[d', a, 1]`` then holds
    every sum needed, and each of its blocks rounds relative to its own scale: the
    dominant directions' rounding stays out of the minor ones.  ``U`` is folded back,
    and chunks summed, in float64.
    """
    bands = pixels.shape[1]
    shift = centre.astype(np.float32)  # 16 bits: exactly representable
    scale = float32_scale(np.max(np.abs(sample - centre), axis=0))
    # Scaled windows take the float64 subtraction: a scale can lie beyond float32's range.
    direct = exact_in_float32(pixels.dtype) and scale is None
    basis = _leading_directions(sample - centre if scale is None else (sample - centre) * scale)
    u32 = basis.astype(np.float32)
    r = basis.shape[1]
    size = min(CHUNK_ROWS, pixels.shape[0])
    wide = None if direct else chunk_buffer(pixels, size, np.float64)
    augmented = chunk_buffer(pixels, size, np.float32, columns=bands + r + 1)
    augmented[:, -1] = 1.0  # its Gram column holds the chunk's sums
    leading = chunk_buffer(pixels, size, np.float32)
    gram = np.zeros((bands + r + 1, bands + r + 1))
    for start in range(0, pixels.shape[0], CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, pixels.shape[0])
        z = augmented[:stop - start]
        d, a = z[:, :bands], z[:, bands:bands + r]
        if direct:  # int16, uint16, float32...: exact in float32, so x - shift rounds once
            np.subtract(pixels[start:stop], shift, out=d)  # converted inside the ufunc's loop
        else:  # subtract in float64, round once (a float64-loop ufunc writing float32 is slower)
            centred = np.subtract(pixels[start:stop], centre, out=wide[:stop - start])
            if scale is not None:
                centred *= scale  # powers of two: exact
            d[...] = centred
        if r:
            np.matmul(d, u32, out=a)
            d -= np.matmul(a, u32.T, out=leading[:stop - start])  # same layout as d: no transposing copy
        masked = valid is not None and not valid[start:stop].all()
        if masked:
            z[~valid[start:stop]] = 0.0  # a zero row adds nothing to any sum
        gram += z.T @ z  # float32 symmetric rank-k update, summed in float64
        if masked:
            z[:, -1] = 1.0
    fold = np.vstack([np.eye(bands), basis.T])  # d = [d', a] @ fold
    if scale is not None:  # d was d * scale: undo it in float64, exactly
        fold = fold / scale
    return fold.T @ gram[:-1, -1], fold.T @ gram[:-1, :-1] @ fold


def _leading_directions(centred_sample: np.ndarray) -> np.ndarray:
    """Orthonormal (bands, r) basis of a window's leading principal directions, from its sample.

    Six steps of subspace iteration (``U <- qr(S U)``) from a fixed start: each a
    (B, B) x (B, r) product and a thin QR, microseconds; an eigendecomposition took
    milliseconds.  ``U`` need only hold most of the dominant variance, not converge; it
    depends on this window alone, so the window's sums do too.
    """
    bands = centred_sample.shape[1]
    r = min(DEFLATED, bands - 1)
    if r < 1:
        return np.zeros((bands, 0))
    scatter = centred_sample.T @ centred_sample
    basis = np.random.default_rng(0).standard_normal((bands, r))  # fixed: same rounding every run
    for _ in range(6):
        refined, _ = np.linalg.qr(scatter @ basis)
        if not np.isfinite(refined).all():
            break
        basis = refined
    return basis
