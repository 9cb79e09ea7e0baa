"""Dual-window (ring) RX evidence: whitened components, exact ring sums, batched small solves.

Shared by :class:`~hadinfer.detectors.LocalRX`, :class:`~hadinfer.detectors.FusionRX`
and the network detectors' input (:mod:`hadinfer.models.input_policy`); written once
against the array-library protocol (:mod:`hadinfer.arrays`), so NumPy and PyTorch run the
same code.
"""

from __future__ import annotations

import math

import numpy as np

from ..arrays import NumpyArrays
from .compiled import compiled_kernels
from .centring import centred_blocks

#: The default ridge of each ring covariance, in units of global variance per component.
REGULARIZATION = 1e-3


def whitened_components(xp, cube, valid, mean, projection):
    """``z = (x - mean) @ projection`` per pixel in float64, zero where invalid.

    Parameters
    ----------
    xp : ArrayLibrary
    cube : ndarray, shape (h, w, B)
    valid : ndarray of bool, shape (h, w)
    mean : ndarray, shape (B,)
    projection : ndarray, shape (B, k)

    Returns
    -------
    z : array, shape (h, w, k)
    mask : array of float64, shape (h, w)
        1 where valid, else 0.
    """
    height, width, bands = cube.shape
    mask = xp.asarray(valid.astype(np.float64))
    if isinstance(xp, NumpyArrays):
        # A row at a time: the centred copy of a 300 x 300 x 200 window would be 150 MB of
        # float64, written and read once; a row (470 KB) stays in the core's cache, and its
        # product with the (B, k) projection is small enough for OpenBLAS's small-matrix
        # kernel.  A 296 x 296 x 200 int16 window on 10 components, one thread: 40 ms by
        # rows, 45-50 ms by blocks of 13 rows (the default), the same bits (Intel VM,
        # 2026-12-06).
        z = np.empty((height, width, projection.shape[1]))
        for top, rows, centred in centred_blocks(cube, mean, np.float64, block_pixels=1):
            z[top:top + rows] = (centred @ projection).reshape(rows, width, -1)
    else:
        z = (xp.asarray(cube.reshape(-1, bands)) - xp.asarray(mean)) @ xp.asarray(projection)
    return z.reshape(height, width, projection.shape[1]) * mask[:, :, None], mask


#: Scratch bytes the NumPy ring kernel's blocks may take, whatever larger ``memory_budget`` a caller
#: allows.  Its scratch is about 2.3 KB a pixel for 10 components at two window pairs, so 256 MiB
#: took a whole 256 x 256 tile in one block, with arrays faulted in fresh for every tile; 64 MiB
#: blocks (169 x 169 pixels) re-read more halo but peak far lower.  Whole ``hadinfer detect``
#: commands on 200-band scenes under the compiled kernels' threshold, against 256 MiB
#: (``benchmarks/ab_commits.py --whole-command``, 6-8 paired runs each, 2-core AMD VM,
#: 2026-12-07): peaks ``fusion`` 448 x 448 423 -> 294 MiB, 256 x 256 277 -> 178; ``general``
#: 256 x 256 381 -> 230, 320 x 320 459 -> 294; ``learned`` 320 x 320 324 -> 244; ``lrx``
#: 640 x 640 394 -> 291; times the same (mean differences -0.02 to +0.09 s, every interval
#: across 0).  32 MiB was slower (ad hoc).  The map is the same bits whatever the blocks
#: (exact box sums, per-pixel arithmetic).  The compiled kernel (a ring of table rows, little
#: scratch) and PyTorch arrays (a device that wants large calls) keep the caller's budget.
NUMPY_BLOCK_BUDGET = 64 * 2**20


def ring_rx(xp, z, mask, valid, windows, regularization, core=None, memory_budget=256 * 2**20, compiled=None):
    """Dual-window RX scores of a window's core for several window pairs at once.

    All pairs share one set of integral images per block (the costly part: one channel
    per component and per pair of components), so each extra window costs only its
    box differences and its small solves.

    Parameters
    ----------
    xp : ArrayLibrary
    z : array, shape (h, w, k)
        Whitened components, zero where invalid (:func:`whitened_components`).
    mask : array of float64, shape (h, w)
    valid : ndarray of bool, shape (h, w)
    windows : sequence of (int, int)
        ``(inner, outer)`` odd widths.
    regularization : float
        Ridge added to each ring covariance.
    core : (slice, slice), optional
        Pixels to score; default all.
    memory_budget : int
        Rough bytes of scratch memory (the NumPy kernel takes at most
        :data:`NUMPY_BLOCK_BUDGET` of it).
    compiled : bool, optional
        Whether NumPy arrays go through the compiled kernel (the same bits), as the
        detector decided for its scene (:func:`~.compiled.compiled_pays`); default
        whenever :func:`~.compiled.compiled_kernels` allows it.

    Returns
    -------
    list of ndarray of float32, one (core rows, core cols) map per window pair
        NaN where invalid or where the ring holds fewer than 2 valid pixels.
    """
    height, width, k = z.shape
    if k == 0:  # a scene without variance has no components: nothing departs from its ring (score 0)
        z, k, regularization = xp.zeros((height, width, 1)), 1, max(regularization, 1.0)
    rows, cols = core if core is not None else (slice(0, height), slice(0, width))
    outs = [np.full((rows.stop - rows.start, cols.stop - cols.start), np.nan, dtype=np.float32) for _ in windows]
    # Sub-blocks of the core keep scratch under the budget: pair sums per window and, for
    # large k, full k x k matrices with LAPACK copies.  Square blocks re-read the least halo.
    pairs = k * (k + 1) // 2
    per_pixel = 8 * (len(windows) * (pairs + k + 2) + 2 * pairs + 4 * k + 8 + (0 if k <= _SMALL_K else 12 * k * k))
    # Decided once per window; never where Numba is missing or turned off, whatever the caller asked.
    compiled = (compiled is not False) and k <= _SMALL_K and isinstance(xp, NumpyArrays) and compiled_kernels()
    budget = min(memory_budget, NUMPY_BLOCK_BUDGET) if isinstance(xp, NumpyArrays) and not compiled else memory_budget
    edge = max(1, int(np.sqrt(budget / per_pixel)))
    for r0 in range(rows.start, rows.stop, edge):
        for c0 in range(cols.start, cols.stop, edge):
            block = (slice(r0, min(rows.stop, r0 + edge)), slice(c0, min(cols.stop, c0 + edge)))
            if compiled:
                scores = _ring_block_compiled(z, mask, block, windows, regularization)
            else:
                scores = _ring_block(xp, z, mask, block, windows, regularization, budget)
            for out, part in zip(outs, scores):
                out[r0 - rows.start:block[0].stop - rows.start,
                    c0 - cols.start:block[1].stop - cols.start] = xp.to_numpy(part)
    for out in outs:
        out[~valid[rows, cols]] = np.nan
    return outs


def _slab(shape, block, radius):
    """The block plus ``radius`` each side, clipped to the window: ``(lo, hi, left, right)``."""
    (r0, r1), (c0, c1) = (block[0].start, block[0].stop), (block[1].start, block[1].stop)
    return max(0, r0 - radius), min(shape[0], r1 + radius), max(0, c0 - radius), min(shape[1], c1 + radius)


def _ring_block_compiled(z, mask, block, windows, regularization):
    """:func:`_ring_block` for NumPy arrays in one compiled pass (:mod:`.ring_sums_compiled`)."""
    from .ring_sums_compiled import ring_block_scores
    from .scipy_blas import numba_dispatch

    r = max(outer for _, outer in windows) // 2
    lo, hi, left, right = _slab(z.shape, block, r)
    slab = np.ascontiguousarray(z[lo:hi, left:right], dtype=np.float64)
    scale, limit = fixed_point(r)
    rows, cols = block[0].stop - block[0].start, block[1].stop - block[1].start
    out = np.empty((len(windows), rows, cols))
    with numba_dispatch():
        ring_block_scores(slab, np.ascontiguousarray(mask[lo:hi, left:right], dtype=np.float64),
                          block[0].start - lo, block[1].start - left, rows, cols,
                          np.array([outer // 2 for _, outer in windows], dtype=np.int64),
                          np.array([inner // 2 for inner, _ in windows], dtype=np.int64), regularization, scale,
                          limit, out)
    return list(out)


def _ring_block(xp, z, mask, block, windows, regularization, memory_budget):
    """Scores of the read-window pixels in ``block`` (row slice, column slice), one array per window pair."""
    k = z.shape[2]
    r = max(outer for _, outer in windows) // 2
    (r0, r1), (c0, c1) = (block[0].start, block[0].stop), (block[1].start, block[1].stop)
    lo, hi, left, right = _slab(z.shape, block, r)
    slab, slab_mask = z[lo:hi, left:right], mask[lo:hi, left:right]
    ring = _RingSums(xp, hi - lo, right - left, r, rows=slice(r0 - lo, r1 - lo), cols=slice(c0 - left, c1 - left))
    n_pix = (r1 - r0) * (c1 - c0)
    radii = [(outer // 2, inner // 2) for inner, outer in windows]
    counts = ring.integral(slab_mask[:, :, None])
    n = [ring.ring(counts, *radius)[0] for radius in radii]
    del counts
    n_safe = [xp.where(count > 1.5, count, 2.0) for count in n]
    sums = ring.integral(slab)
    ring_sums = [ring.ring(sums, *radius) for radius in radii]
    del sums
    # Sums of z_i z_j for i <= j (np.triu_indices order), one row per pair: channels first,
    # so each pair is one contiguous vector over the block's pixels.
    i_upper, j_upper = np.triu_indices(k)
    pair_sums = [xp.zeros((len(i_upper), n_pix)) for _ in windows]
    slab_bytes = (hi - lo + 2 * r + 1) * (right - left + 2 * r + 1) * 8 * 3
    group = max(1, memory_budget // slab_bytes)
    for g in range(0, len(i_upper), group):
        stop = min(g + group, len(i_upper))
        products, inside = ring.padded(stop - g)
        for i in range(k):  # pairs (i, j >= i) are consecutive: one broadcast product per i
            first = i * k - i * (i - 1) // 2  # index of the pair (i, i)
            lo_p, hi_p = max(g, first), min(stop, first + k - i)
            if lo_p < hi_p:
                ring.fill(inside[:, :, lo_p - g:hi_p - g],
                          slab[:, :, i:i + 1] * slab[:, :, i + lo_p - first:i + hi_p - first])
        products = xp.integral_image(products)
        for window_pairs, radius in zip(pair_sums, radii):
            ring.ring(products, *radius, out=window_pairs[g:stop])
    centre = xp.contiguous(z[r0:r1, c0:c1].reshape(n_pix, k).T)
    out = []
    for window_pairs, window_sums, count, safe in zip(pair_sums, ring_sums, n, n_safe):
        if k <= _SMALL_K:
            scores = _ring_quadratic_form(xp, window_pairs, window_sums, safe, centre, k, regularization)
        else:
            mean = (window_sums / safe).T
            cov = (window_pairs.T - safe[:, None] * mean[:, i_upper.tolist()] * mean[:, j_upper.tolist()]) \
                / (safe - 1)[:, None] + xp.asarray(regularization * (i_upper == j_upper))
            full = xp.zeros((n_pix, k, k))
            full[:, i_upper.tolist(), j_upper.tolist()] = cov
            full[:, j_upper.tolist(), i_upper.tolist()] = cov
            diff = centre.T - mean
            scores = xp.sum(diff * xp.solve(full, diff), axis=1)
        out.append(xp.where(count > 1.5, scores, float("nan")).reshape(r1 - r0, c1 - c0))
    return out


#: Up to this many components, per-pixel systems are solved by a Cholesky factorisation
#: vectorised across pixels (a few hundred array operations); beyond it, by batched LAPACK.
_SMALL_K = 24


def _ring_quadratic_form(xp, pair_sums, sums, count, centre, k, regularization):
    """``d^T (C + delta I)^{-1} d`` per pixel from a ring's raw sums.

    ``C`` is the ring's sample covariance (ddof=1) and ``d`` the centre pixel minus the
    ring mean.  With ``t = s / sqrt(n)`` (``s``: the ring sums of ``z``), the scaled matrix
    ``(n - 1)(C + delta I) = S - t t^T + (n - 1) delta I`` (``S``: the pair sums) is
    factorised as if ``t`` were an extra column of its Cholesky factor, so the covariance
    is never formed as an array.  Cholesky and forward substitution run column by column,
    each step one vector operation over all pixels: O(k^3 / 6) vector operations instead
    of one LAPACK call per pixel.

    Parameters
    ----------
    pair_sums : array, shape (k (k + 1) / 2, n)
        Ring sums of ``z_i z_j`` for ``i <= j`` (``np.triu_indices`` order).
    sums : array, shape (k, n)
    count : array, shape (n,)
        Ring pixels, at least 2.
    centre : array, shape (k, n)
        The pixels' own ``z``.
    """
    packed = pair_sums
    index = {pair: p for p, pair in enumerate(zip(*np.triu_indices(k)))}
    inverse = 1.0 / count
    t = sums * xp.sqrt(inverse)
    d = centre - sums * inverse
    ridge = (count - 1.0) * regularization
    lower = [[None] * k for _ in range(k)]  # lower[i][j] = L_ij, i >= j
    y = [None] * k
    score = 0.0
    for j in range(k):
        acc = packed[index[(j, j)]] - t[j] * t[j] + ridge
        for m in range(j):
            acc -= lower[j][m] * lower[j][m]
        pivot = xp.sqrt(acc)
        reciprocal = 1.0 / pivot
        lower[j][j] = pivot
        for i in range(j + 1, k):
            acc = packed[index[(j, i)]] - t[i] * t[j]
            for m in range(j):
                acc -= lower[i][m] * lower[j][m]
            lower[i][j] = acc * reciprocal
        acc = d[j]
        for m in range(j):
            acc = acc - lower[j][m] * y[m]
        y[j] = acc * reciprocal
        score = score + y[j] * y[j]
    return score * (count - 1.0)


#: Fractional bits of the fixed-point ring sums (a resolution of 2**-28 = 3.7e-9 in units
#: of global standard deviations, or their squares).
_FIXED_BITS = 28


def fixed_point(radius: int) -> tuple[float, float]:
    """``(scale, limit)`` of the fixed-point ring sums for boxes up to ``radius``: values are
    ``rint(clip(v * scale, -limit, limit))``, so the largest box's sum stays below 2**62."""
    box_bits = math.ceil(math.log2((2 * radius + 1) ** 2))
    return float(2 ** _FIXED_BITS), float(2 ** (62 - box_bits))


class _RingSums:
    """Exact sums of each channel over rings (outer box minus inner box) via integral images.

    The slab is zero-padded by the largest outer radius, so boxes that leave it are
    truncated: correct at image borders, and never reached inside a tile whose halo is
    that radius.  One integral image serves every window pair.

    Values are rounded, each on its own, to fixed point (:data:`_FIXED_BITS` fractional
    bits) and summed in int64, where a box sum is exact.  A float64 summed-area table
    would round each box sum according to where the slab starts, and so with the tile
    and block layout: the map would change in its last bits with ``tile_size``.  int64
    prefix sums may wrap around; a box sum cannot, because values are clipped to
    ``±limit``, which keeps the largest box's sum inside int64.  Values beyond it are
    clipped: ``|z_i z_j|`` above 3.4e7 for outer windows up to 21 pixels (a component
    over 5800 global standard deviations), 8.4e6 up to 45 pixels (2900).
    """

    def __init__(self, xp, height, width, radius, rows, cols):
        self.xp, self.height, self.width = xp, height, width
        self.r, self.rows, self.cols = radius, rows, cols
        self.scale, self.limit = fixed_point(radius)

    def fill(self, inside, values):
        """Write float ``values`` into (part of) the inside of a :meth:`padded` table, in fixed point."""
        self.xp.to_fixed(values, inside, self.scale, self.limit)

    def integral(self, channels):
        """Summed-area table of the zero-padded (height, width, c) ``channels``, in fixed point."""
        padded, inside = self.padded(channels.shape[2])
        self.fill(inside, channels)
        return self.xp.integral_image(padded)

    def padded(self, channels):
        """int64 zeros for an integral image of ``channels`` channels, and the view of its inside to fill."""
        r = self.r
        padded = self.xp.zeros((self.height + 2 * r + 1, self.width + 2 * r + 1, channels), integer=True)
        return padded, padded[r + 1:r + 1 + self.height, r + 1:r + 1 + self.width]

    def _box(self, integral, radius, rows):
        r, cols = self.r, self.cols
        a0 = slice(rows.start + r - radius, rows.stop + r - radius)
        a1 = slice(rows.start + r + radius + 1, rows.stop + r + radius + 1)
        b0 = slice(cols.start + r - radius, cols.stop + r - radius)
        b1 = slice(cols.start + r + radius + 1, cols.stop + r + radius + 1)
        total = integral[a1, b1] - integral[a0, b1]
        total -= integral[a1, b0]
        total += integral[a0, b0]
        return total

    def ring(self, integral, outer_radius, inner_radius, out=None):
        """Ring sums at the block's pixels, channels first: shape (c, block rows * block cols).

        Computed a few rows at a time, so each block's box differences are still in
        cache when they are transposed (twice as fast as one whole-block transpose).
        Written into ``out`` when given.
        """
        rows, cols = self.rows, self.cols
        width = cols.stop - cols.start
        if out is None:
            out = self.xp.zeros((integral.shape[2], (rows.stop - rows.start) * width))
        for top in range(rows.start, rows.stop, _RING_ROWS):
            part = slice(top, min(rows.stop, top + _RING_ROWS))
            ring = self._box(integral, outer_radius, part)
            ring -= self._box(integral, inner_radius, part)
            offset = (top - rows.start) * width
            out[:, offset:offset + ring.shape[0] * width] = ring.reshape(-1, integral.shape[2]).T
        out *= 1.0 / self.scale  # a power of two: exact
        return out


#: Rows of ring sums computed at a time (see :meth:`_RingSums.ring`).
_RING_ROWS = 16
