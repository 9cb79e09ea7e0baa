"""Ring RX of one block as one compiled pass (Numba, extra ``fast``).

The NumPy path (:func:`hadinfer.kernels.ring_sums._ring_block`) is memory-bound: each
of its few hundred array operations streams the whole block through memory (products,
fixed-point conversion, summed-area tables, box differences, a Cholesky factor built
column by column across pixels).  Here every pixel's products are formed, rounded and
summed while its row is in cache, and the ring statistics, factorisations and quadratic
forms of 32 pixels of a row at a time stay in the first-level cache, each step a vector
loop over those pixels (:func:`_ring_scores`; 38 -> 30 ms for a ``fusion`` tile's two
window pairs, 75 -> 55 ms for ``general``'s four, one thread, Intel VM, 2026-12-06, where
one pixel at a time waited on each square root and division in turn).  The arithmetic is
the NumPy path's, step for step: the same fixed-point values and exact int64 box sums, the same factorisation of
``S - t t^T + (n - 1) delta I`` in the same order, so scores agree with it to float64
rounding and the map is, as there, the same bits whatever the tiles.

The summed-area table is never held whole: rows are built as the scoring reaches them,
into a ring of ``2 * outer radius + 2`` rows (every row a pixel's boxes can touch).  A
whole table of a 308 x 308 read window on 10 components is 50 MB of int64 (66 channels),
written once and read back once per window pair; building and scoring it took 86 ms a
tile on one thread for two window pairs, the ring of rows 43 ms (it stays in cache, and
no 50 MB of fresh pages is faulted in per tile), the same bits (Intel VM, 2026-12-06).

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
def _table_row(slab, mask, r, scale, limit, previous, here, prefix):
    """Summed-area table row ``r`` (``here``) from row ``r - 1`` (``previous``) and slab row ``r - 1``.

    A row holds, per column boundary, the int64 sums of (count, z, z_i z_j for i <= j) in
    fixed point over every pixel above and to the left; ``prefix`` is scratch of one row's
    running sums.  int64 wraps around; box sums (differences) stay exact.
    """
    width, k = slab.shape[1], slab.shape[2]
    channels = prefix.shape[0]
    prefix[:] = 0
    here[0, :] = 0
    i = r - 1
    for j in range(width):
        prefix[0] += _fixed(mask[i, j], scale, limit)
        c = 1 + k
        for a in range(k):
            za = slab[i, j, a]
            prefix[1 + a] += _fixed(za, scale, limit)
            for b in range(a, k):
                prefix[c] += _fixed(za * slab[i, j, b], scale, limit)
                c += 1
        for c in range(channels):
            here[j + 1, c] = previous[j + 1, c] + prefix[c]


#: Pixels of a row whose ring covariances are factorised together: every step of the
#: factorisation is then a loop over them, which the compiler turns into vector
#: instructions, where one pixel at a time was a chain of dependent square roots and
#: divisions.  32 keeps a chunk's factors (k x k x 32 doubles, 25 KB for k = 10) in the
#: core's first-level cache.
_LANES = 32


@numba.njit(nogil=True, cache=True)
def ring_block_scores(slab, mask, rows0, cols0, n_rows, n_cols, outer, inner, regularization, scale, limit, out):
    """Dual-window RX of ``n_rows x n_cols`` slab pixels from ``(rows0, cols0)``, one map per window pair.

    Parameters
    ----------
    slab : ndarray of float64, shape (h, w, k)
        Whitened components, zero where invalid, reaching the largest outer radius beyond
        the block where the image has room.
    mask : ndarray of float64, shape (h, w)
        1 where valid.
    outer, inner : ndarray of int64, shape (windows,)
        Radii of each pair's boxes.
    scale, limit : float
        Fixed-point scale and clip (:class:`~hadinfer.kernels.ring_sums._RingSums`).
    out : ndarray of float64, shape (windows, n_rows, n_cols)
        NaN where the ring holds fewer than 2 valid pixels.
    """
    height, width, k = slab.shape
    channels = 1 + k + k * (k + 1) // 2
    reach = 0
    for w in range(outer.shape[0]):
        reach = max(reach, outer[w])
    size = 2 * reach + 2  # table rows a pixel's boxes can touch: i - reach .. i + reach + 1
    rows = np.empty((size, width + 1, channels), dtype=np.int64)
    prefix = np.empty(channels, dtype=np.int64)
    # Box sums are differences of table rows, so the table may start from zero at the first
    # row any box touches rather than at the slab's top: the same sums.
    filled = max(0, rows0 - reach)
    rows[filled % size] = 0
    ring = np.empty((channels, _LANES))
    scratch = np.empty((6, _LANES))
    vectors = np.empty((3, k, _LANES))
    lower = np.empty((k, k, _LANES))
    unit = 1.0 / scale
    for p in range(n_rows):
        i = rows0 + p
        while filled < min(height, i + reach + 1):
            filled += 1
            _table_row(slab, mask, filled, scale, limit, rows[(filled - 1) % size], rows[filled % size], prefix)
        for w in range(outer.shape[0]):
            ro, ri = outer[w], inner[w]
            outer_top, outer_bottom = rows[max(0, i - ro) % size], rows[min(height, i + ro + 1) % size]
            inner_top, inner_bottom = rows[max(0, i - ri) % size], rows[min(height, i + ri + 1) % size]
            for q0 in range(0, n_cols, _LANES):
                lanes = min(_LANES, n_cols - q0)
                for lane in range(lanes):
                    j = cols0 + q0 + lane
                    o_left, o_right = max(0, j - ro), min(width, j + ro + 1)
                    i_left, i_right = max(0, j - ri), min(width, j + ri + 1)
                    ob_r, ot_r, ob_l, ot_l = outer_bottom[o_right], outer_top[o_right], outer_bottom[o_left], outer_top[o_left]
                    ib_r, it_r, ib_l, it_l = inner_bottom[i_right], inner_top[i_right], inner_bottom[i_left], inner_top[i_left]
                    for c in range(channels):
                        ring[c, lane] = ((ob_r[c] - ot_r[c] - ob_l[c] + ot_l[c])
                                         - (ib_r[c] - it_r[c] - ib_l[c] + it_l[c])) * unit
                _ring_scores(ring, slab, i, cols0 + q0, lanes, regularization, scratch, vectors, lower,
                             out[w, p, q0:q0 + lanes])
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _ring_scores(ring, slab, i, j0, lanes, regularization, scratch, vectors, lower, out):
    """Scores of ``lanes`` pixels of row ``i`` from ``j0``, from their ring sums ``ring[:, lane]``.

    Each pixel's arithmetic is that of one pixel alone, step for step (the Cholesky factor
    of ``S - t t^T + (n - 1) delta I``, then the forward solve), so the bits do not depend
    on which pixels share a chunk; only the loops run over the chunk's pixels.  Pixels
    whose ring holds fewer than 2 valid pixels compute infinities (no error: ``numpy``
    error model) and get NaN.
    """
    k = slab.shape[2]
    inverse, root, ridge, score, acc, reciprocal = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                                     scratch[5])
    t, d, y = vectors[0], vectors[1], vectors[2]
    for lane in range(lanes):
        count = ring[0, lane]
        inverse[lane] = 1.0 / count
        root[lane] = math.sqrt(inverse[lane])
        ridge[lane] = (count - 1.0) * regularization
        score[lane] = 0.0
    for a in range(k):
        for lane in range(lanes):
            t[a, lane] = ring[1 + a, lane] * root[lane]
            d[a, lane] = slab[i, j0 + lane, a] - ring[1 + a, lane] * inverse[lane]
    for jj in range(k):
        first = 1 + k + jj * k - jj * (jj - 1) // 2  # the pair (jj, jj)
        for lane in range(lanes):
            acc[lane] = ring[first, lane] - t[jj, lane] * t[jj, lane] + ridge[lane]
        for m in range(jj):
            for lane in range(lanes):
                acc[lane] -= lower[jj, m, lane] * lower[jj, m, lane]
        for lane in range(lanes):
            pivot = math.sqrt(acc[lane])
            reciprocal[lane] = 1.0 / pivot
            lower[jj, jj, lane] = pivot
        for ii in range(jj + 1, k):
            for lane in range(lanes):
                acc[lane] = ring[first + ii - jj, lane] - t[ii, lane] * t[jj, lane]
            for m in range(jj):
                for lane in range(lanes):
                    acc[lane] -= lower[ii, m, lane] * lower[jj, m, lane]
            for lane in range(lanes):
                lower[ii, jj, lane] = acc[lane] * reciprocal[lane]
        for lane in range(lanes):
            acc[lane] = d[jj, lane]
        for m in range(jj):
            for lane in range(lanes):
                acc[lane] = acc[lane] - lower[jj, m, lane] * y[m, lane]
        for lane in range(lanes):
            y[jj, lane] = acc[lane] * reciprocal[lane]
            score[lane] = score[lane] + y[jj, lane] * y[jj, lane]
    for lane in range(lanes):
        out[lane] = score[lane] * (ring[0, lane] - 1.0) if ring[0, lane] > 1.5 else np.nan
