"""Ring RX of one block as one compiled pass (Numba, extra ``fast``).

The NumPy path (:func:`hadinfer.kernels.ring_sums._ring_block`) is memory-bound: each
of its few hundred array operations streams the whole block through memory (products,
fixed-point conversion, summed-area tables, box differences, a Cholesky factor built
column by column across pixels).  Here every pixel's products are formed, rounded and
summed while its row is in cache, and every pixel's ring statistics, factorisation and
quadratic form stay in registers.  The arithmetic is the NumPy path's, step for step:
the same fixed-point values and exact int64 box sums, the same factorisation of
``S - t t^T + (n - 1) delta I`` in the same order, so scores agree with it to float64
rounding and the map is, as there, the same bits whatever the tiles.

Compiled with ``nogil`` and without Numba's own threads: the pipeline already scores one
tile per core, and the GIL is released while a block is scored.  Compiled functions are
cached on disk (``cache=True``), so only the first run on a machine pays the compilation
(about a second).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _fixed(value, scale, limit):
    scaled = min(max(value * scale, -limit), limit)
    return np.int64(np.rint(scaled))


@numba.njit(nogil=True, cache=True)
def summed_area_table(slab, mask, scale, limit):
    """int64 summed-area table of (count, z, z_i z_j for i <= j) per pixel, with a zero first row and column.

    Parameters
    ----------
    slab : ndarray of float64, shape (h, w, k)
    mask : ndarray of float64, shape (h, w)
    scale, limit : float
        Fixed-point scale and clip (:class:`~hadinfer.kernels.ring_sums._RingSums`).

    Returns
    -------
    ndarray of int64, shape (h + 1, w + 1, 1 + k + k (k + 1) / 2)
    """
    height, width, k = slab.shape
    channels = 1 + k + k * (k + 1) // 2
    table = np.zeros((height + 1, width + 1, channels), dtype=np.int64)
    row = np.zeros(channels, dtype=np.int64)
    for i in range(height):
        row[:] = 0
        for j in range(width):
            row[0] += _fixed(mask[i, j], scale, limit)
            c = 1 + k
            for a in range(k):
                za = slab[i, j, a]
                row[1 + a] += _fixed(za, scale, limit)
                for b in range(a, k):
                    row[c] += _fixed(za * slab[i, j, b], scale, limit)
                    c += 1
            for c in range(channels):  # int64 wraps around; box sums stay exact
                table[i + 1, j + 1, c] = table[i, j + 1, c] + row[c]
    return table


@numba.njit(nogil=True, cache=True)
def _box(table, top, bottom, left, right, c):
    return table[bottom, right, c] - table[top, right, c] - table[bottom, left, c] + table[top, left, c]


@numba.njit(nogil=True, cache=True)
def ring_block_scores(table, slab, rows0, cols0, n_rows, n_cols, outer, inner, regularization, scale, out):
    """Dual-window RX of ``n_rows x n_cols`` slab pixels from ``(rows0, cols0)``, one map per window pair.

    Parameters
    ----------
    table : from :func:`summed_area_table` of the slab
    slab : ndarray of float64, shape (h, w, k)
    outer, inner : ndarray of int64, shape (windows,)
        Radii of each pair's boxes.
    out : ndarray of float64, shape (windows, n_rows, n_cols)
        NaN where the ring holds fewer than 2 valid pixels.
    """
    height, width, k = slab.shape
    pairs = k * (k + 1) // 2
    ring = np.empty(1 + k + pairs)
    t = np.empty(k)
    d = np.empty(k)
    y = np.empty(k)
    lower = np.empty((k, k))
    unit = 1.0 / scale
    for w in range(outer.shape[0]):
        ro, ri = outer[w], inner[w]
        for p in range(n_rows):
            i = rows0 + p
            o_top, o_bottom = max(0, i - ro), min(height, i + ro + 1)
            i_top, i_bottom = max(0, i - ri), min(height, i + ri + 1)
            for q in range(n_cols):
                j = cols0 + q
                o_left, o_right = max(0, j - ro), min(width, j + ro + 1)
                i_left, i_right = max(0, j - ri), min(width, j + ri + 1)
                for c in range(1 + k + pairs):
                    ring[c] = (_box(table, o_top, o_bottom, o_left, o_right, c)
                               - _box(table, i_top, i_bottom, i_left, i_right, c)) * unit
                count = ring[0]
                if not count > 1.5:
                    out[w, p, q] = np.nan
                    continue
                inverse = 1.0 / count
                root = math.sqrt(inverse)
                for a in range(k):
                    t[a] = ring[1 + a] * root
                    d[a] = slab[i, j, a] - ring[1 + a] * inverse
                ridge = (count - 1.0) * regularization
                score = 0.0
                for jj in range(k):
                    first = 1 + k + jj * k - jj * (jj - 1) // 2  # the pair (jj, jj)
                    acc = ring[first] - t[jj] * t[jj] + ridge
                    for m in range(jj):
                        acc -= lower[jj, m] * lower[jj, m]
                    pivot = math.sqrt(acc)
                    reciprocal = 1.0 / pivot
                    lower[jj, jj] = pivot
                    for ii in range(jj + 1, k):
                        acc = ring[first + ii - jj] - t[ii] * t[jj]
                        for m in range(jj):
                            acc -= lower[ii, m] * lower[jj, m]
                        lower[ii, jj] = acc * reciprocal
                    acc = d[jj]
                    for m in range(jj):
                        acc = acc - lower[jj, m] * y[m]
                    y[jj] = acc * reciprocal
                    score = score + y[jj] * y[jj]
                out[w, p, q] = score * (count - 1.0)
    return out
