"""Background statistics accumulated window by window, the same to the bit however a scene is cut.

Why the statistics are exact sums
---------------------------------
A map must not depend on the tile size, the strips of a cluster run, the number of
workers or the order results arrive in (issue 21).  Floating-point merges (the
Chan–Golub–LeVeque update this module used before) round differently for every
grouping, and a float32 scatter steered by what an accumulator saw first rounds
differently again, so maps differed by 1e-5 relative between ``--tile-size 32`` and
``4096``.  Here:

* a *window*'s moments are a fixed function of that window's pixels (its own centre,
  its own chunks, its own float32 deflation basis, nothing carried over from other
  windows);
* windows are added exactly: every number a window contributes is split into 32-bit
  integer limbs on a fixed binary grid (:class:`ExactSum`) and summed in int64, which
  is associative, so any order or tree of merges gives the same integers;
* mean and scatter are computed once from those integers with Python's exact integer
  arithmetic and rounded once to float64 (so, from exact sums, they are correctly
  rounded);
* the windows themselves are canonical: :func:`statistics_windows` cuts a scene by its
  own shape and file blocks, never by the tile size, and every statistics pass (one
  process, a cluster's strips) reads those windows.

With integer data (int16, uint16...) and ``precision="float64"`` each window's sums are
exact too (integers below 2**53), so the statistics are then the exact mean and scatter
of the pixels, correctly rounded, however they are cut into windows.

Cost: the exact adds (:meth:`ExactSum.add`) took 1.6 % of a statistics pass over a
1024 x 1024 x 100 int16 scene (0.55 s, float32 or float64 windows; cProfile, idle 2-core
VM, 2026-12-06); the float32 windows' own deflation bases cost more (see
``docs/distributed.md``).
"""

from __future__ import annotations

import numpy as np

from ..errors import AllNodataError, ParameterError, ValueRangeError

#: Arithmetic a window's scatter can be formed in (see :meth:`BackgroundStats.update`).
PRECISIONS = ("float64", "float32")

#: Rows per chunk.  Windows are processed a chunk at a time so that the centred copy
#: (4096 x 200 bands x 4 B = 3.3 MB in float32) is still in cache when BLAS reads it, and
#: no scratch array as large as the window is allocated: fresh large arrays cost page
#: faults on every tile, which on a small VM took longer than the arithmetic.
CHUNK_ROWS = 4096

#: Leading principal directions split off before a float32 scatter.  On the ten dev
#: scenes a plain float32 scatter moved GRX AUC by up to 5.6e-3 (covariance condition
#: numbers reach 8e8, so float32 rounding of the largest entries swamps the smallest
#: eigenvalues); splitting off 1 direction brought that to 7e-5, 4 or 8 to 1e-5.
DEFLATED = 8

#: Pixels sampled for a window's centre and its float32 deflation basis.
_SAMPLE = 1024

#: Side of the canonical statistics windows (rounded up to whole file blocks): 256 x 256
#: pixels read at a time bound memory as the default tile does (52 MB for 400 int16
#: bands), and the exact adds of a window cost a few percent of its scatter.
STATISTICS_WINDOW = 256

#: Significant bits of a window's centre ``c``: ``c_i * c_j`` has 32, so ``n * c_i * c_j``
#: is exact in float64 for windows of up to 2**21 pixels, and a window's first-order sum
#: rounded to :data:`_FIRST_BITS` times ``c_j`` is exact.  The centre is within 2**-17 of
#: the window's sample mean, so nothing is lost to cancellation.
_CENTRE_BITS = 16
_FIRST_BITS = 53 - _CENTRE_BITS

#: Bits an :class:`ExactSum` keeps below each added array's largest entry (float64 keeps
#: 53): what is dropped lies 2**-96 below the largest entry and is truncated the same way
#: whatever else is summed.
_KEPT_BITS = 96
_LIMB = 32

#: Spreads (per band) from 2**-30 to 2**30 go through float32 arithmetic as they are:
#: their squares, summed over thousands of pixels, stay far from float32's overflow
#: (2**128) and their smallest meaningful deviations' squares above its subnormals
#: (2**-126).  Outside that range (a scene multiplied by 1e30 or 1e-30 overflowed to inf
#: or underflowed to 0, issue 20) a band is scaled by a power of two first, which is
#: exact and undone exactly in float64; inside it nothing changes, bit for bit.
_SAFE_EXPONENT = 30


def float32_scale(spread: np.ndarray) -> np.ndarray | None:
    """Powers of two that bring each band's spread near 1 before float32 arithmetic.

    Parameters
    ----------
    spread : ndarray of float64, shape (B,)
        A typical magnitude of each band's centred values (largest deviation, or
        standard deviation); 0 or non-finite entries are left unscaled.

    Returns
    -------
    ndarray of float64, shape (B,), or None
        ``scale`` with ``spread * scale`` in [0.5, 1) for bands whose spread lies
        outside [2**-30, 2**30], 1 for the others; None when every band is 1 (callers
        then skip the multiplication, so ordinary scenes keep their bits).

    Examples
    --------
    >>> float32_scale(np.array([1.0, 1e3])) is None
    True
    >>> float32_scale(np.array([1e30, 1.0, 1e-30])) * np.array([1e30, 1.0, 1e-30])
    array([0.78886091, 1.        , 0.6338253 ])
    """
    spread = np.asarray(spread, dtype=np.float64)
    exponent = np.frexp(np.where(np.isfinite(spread), spread, 0.0))[1]  # spread < 2**exponent
    outside = (spread > 0) & np.isfinite(spread) & (np.abs(exponent) > _SAFE_EXPONENT)
    if not outside.any():
        return None
    return np.ldexp(1.0, np.where(outside, -exponent, 0))


def statistics_windows(image_shape, block_shape=None):
    """The canonical windows a scene's statistics are accumulated over.

    They depend only on the image and its file blocks, never on the tile size, so every
    statistics pass (:func:`hadinfer.pipeline.accumulate_stats`, a cluster's strips)
    sums the same windows and gets the same bits.

    Parameters
    ----------
    image_shape : (int, int)
    block_shape : (int, int), optional
        The file's internal block; windows are whole blocks, :data:`STATISTICS_WINDOW`
        pixels a side or more.

    Returns
    -------
    list of Tile
        Row-major, halo 0; they partition the image.

    Examples
    --------
    >>> [t.core.toranges()[0] for t in statistics_windows((300, 100))][::2]
    [(0, 256)]
    """
    from ..tiling import aligned_tile_shape, tile_windows

    shape = aligned_tile_shape(STATISTICS_WINDOW, image_shape, block_shape)
    return tile_windows(image_shape, shape)


class ExactSum:
    """An exact running sum of float64 arrays of one shape, in 32-bit limbs of int64.

    Each added array is cut on a fixed binary grid, ``value = sum_k limb_k 2**(32 (low + k))``,
    keeping :data:`_KEPT_BITS` bits below its largest entry; limbs are summed in int64,
    so the total does not depend on the order of additions or on how partial sums are
    grouped.  Carries are propagated every 2**30 additions, before any limb can overflow.

    Parameters
    ----------
    shape : tuple of int
    """

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.low = 0
        self.limbs = np.zeros((0,) + self.shape, dtype=np.int64)
        self.additions = 0

    def add(self, values: np.ndarray) -> None:
        """Add a float64 array (finite) of :attr:`shape`."""
        values = np.asarray(values, dtype=np.float64)
        largest = float(np.max(np.abs(values))) if values.size else 0.0
        if largest == 0.0:
            return
        if not np.isfinite(largest):
            raise ParameterError("statistics: a window's sums are not finite (values too large for float64)")
        top = int(np.frexp(largest)[1])  # largest < 2**top
        low = (top - _KEPT_BITS) // _LIMB
        count = -(-(top - _LIMB * low) // _LIMB)
        rest = np.ldexp(values, -_LIMB * low)  # exact: a power of two
        limbs = np.empty((count,) + self.shape, dtype=np.int64)
        for k in range(count - 1, -1, -1):  # top down; each step removes exact high bits
            weight = float(2 ** (_LIMB * k))
            digit = np.floor(rest / weight)
            rest -= digit * weight
            limbs[k] = digit
        self._add_limbs(low, limbs, 1)

    def merge(self, other: "ExactSum") -> None:
        """Add another sum's total (``other`` is not modified)."""
        if other.limbs.shape[0]:
            self._add_limbs(other.low, other.limbs, other.additions)

    def _add_limbs(self, low: int, limbs: np.ndarray, additions: int) -> None:
        if not self.limbs.shape[0]:
            self.low, self.limbs = low, limbs.copy()
        else:
            start, stop = min(self.low, low), max(self.low + self.limbs.shape[0], low + limbs.shape[0])
            if (start, stop) != (self.low, self.low + self.limbs.shape[0]):
                grown = np.zeros((stop - start,) + self.shape, dtype=np.int64)
                grown[self.low - start:self.low - start + self.limbs.shape[0]] = self.limbs
                self.low, self.limbs = start, grown
            self.limbs[low - self.low:low - self.low + limbs.shape[0]] += limbs
        self.additions += additions
        if self.additions >= 2 ** 30:
            self._carry()

    def _carry(self) -> None:
        # Each addition puts less than 2**32 in a limb: after 2**30 of them, move carries up.
        self.limbs = np.concatenate([self.limbs, np.zeros((1,) + self.shape, dtype=np.int64)])
        for k in range(self.limbs.shape[0] - 1):
            carry = self.limbs[k] >> _LIMB
            self.limbs[k] -= carry << _LIMB
            self.limbs[k + 1] += carry
        self.additions = 1

    def integers(self, index=None) -> tuple[np.ndarray, int]:
        """``(total, exponent)``: the sum is ``total * 2**exponent``, total an object array of Python ints.

        ``index`` (a NumPy index into :attr:`shape`, e.g. a triangle's ``(rows, cols)``)
        takes only those entries: Python's integers cost about a microsecond each.
        """
        limbs = self.limbs if index is None else self.limbs[(slice(None),) + tuple(index)]
        total = np.zeros(limbs.shape[1:], dtype=object)
        for k in range(limbs.shape[0] - 1, -1, -1):
            total = (total << _LIMB) + limbs[k].astype(object)
        return total, _LIMB * self.low


def _round_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` rounded to ``bits`` significant bits (a fixed function of each value)."""
    mantissa, exponent = np.frexp(values)
    return np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)


def _divide(numerator: np.ndarray, exponent: int, denominator: int) -> np.ndarray:
    """``numerator * 2**exponent / denominator`` correctly rounded to float64 (Python ints, exact)."""
    if exponent >= 0:
        numerator, denominator = numerator * (1 << exponent), denominator
    else:
        denominator = denominator << -exponent
    flat = [int(v) / denominator for v in numerator.ravel()]
    return np.array(flat, dtype=np.float64).reshape(numerator.shape)


class BackgroundStats:
    """Mean and scatter matrix of spectra, accumulated window by window, exactly merged.

    Each window contributes its count, first-order and second-order sums about its own
    centre, formed in float64 (or float32 with deflation, see :meth:`update`), and those
    are added exactly (:class:`ExactSum`).  The mean and scatter are computed once, when
    first read, from the exact sums and rounded once.  Any grouping or order of windows
    and merges gives the same bits; a scene larger than memory gets exact global
    statistics.

    Parameters
    ----------
    bands : int
        Spectral dimension.

    Attributes
    ----------
    count_ : int
        Valid pixels seen.
    pixels_ : int
        Pixels seen, valid or not: what a scene's tiles hold (a scene mostly nodata has
        few valid pixels, but its tiles are scored whole).
    mean_ : ndarray of float64, shape (bands,)
    scatter_ : ndarray of float64, shape (bands, bands)
        Sum of outer products of centred spectra.

    Notes
    -----
    Each window is read a chunk of rows at a time: no scratch array as large as the
    window is made, whatever its dtype (int16 or float32 windows are never widened to
    float64 as a whole).  Reading ``mean_``/``scatter_`` costs one exact computation on
    Python integers (tens of milliseconds for 200 bands), cached until the next update.
    """

    def __init__(self, bands: int):
        if bands < 1:
            raise ParameterError(f"bands: expected >= 1, got {bands}")
        self._bands = bands
        self._count = 0
        self._pixels = 0
        self._first = ExactSum((bands,))  # sum of x
        self._second = ExactSum((bands, bands))  # sum over windows of G + n c c^T
        self._cross = ExactSum((bands, bands))  # sum over windows of A c^T (A: first-order sum about c)
        self._moments = None

    @property
    def count_(self) -> int:
        return self._count

    @property
    def pixels_(self) -> int:
        return self._pixels

    @property
    def mean_(self) -> np.ndarray:
        return self._finish()[0]

    @property
    def scatter_(self) -> np.ndarray:
        return self._finish()[1]

    def update(self, pixels: np.ndarray, valid: np.ndarray | None = None, *,
               precision: str = "float64") -> "BackgroundStats":
        """Add a window of pixels.

        What the window adds is a fixed function of its pixels (and their order), never
        of what the accumulator saw before.

        Parameters
        ----------
        pixels : ndarray, shape (n, bands)
            Spectra, any real dtype (int16 windows are converted a chunk at a time).
        valid : ndarray of bool, shape (n,), optional
            Rows to count; default all.  Invalid rows are skipped without copying the
            valid ones out of the window.
        precision : {"float64", "float32"}
            Arithmetic of this window's scatter.  Both centre the window on ``c``, its
            sample mean rounded to 16 bits.  ``float64``: exact for integer data (an
            integer centre, integer sums below 2**53).  ``float32``: splits off the
            window's leading principal directions (:data:`DEFLATED`, from its own
            sample), forms the scatter with a float32 BLAS product and converts it back
            to float64.  The product is twice as fast as in float64; with the centring
            and the split, a 256 x 256 x 200 window took 30 ms instead of 41 on a 2-core
            CPU.  On the ten dev scenes it moved GRX AUC by at most 1e-5
            (``tests/detectors/test_grx_float32.py``).

        Returns
        -------
        BackgroundStats
            ``self``, for chaining.

        Raises
        ------
        ParameterError
            Wrong shapes, or an unknown precision.
        ValueRangeError
            Values whose squares overflow float64 (magnitudes above about 1e135) or
            variations whose squares underflow it (below about 1e-135).  Any scale
            float32 holds is fine: float32 arithmetic scales bands by powers of two
            first (:func:`float32_scale`).
        """
        if precision not in PRECISIONS:
            raise ParameterError(f"precision: expected float64 or float32, got {precision!r}")
        pixels = np.asarray(pixels)
        bands = self._bands
        if pixels.ndim != 2 or pixels.shape[1] != bands:
            raise ParameterError(f"pixels: expected shape (n, {bands}), got {pixels.shape}")
        if valid is not None:
            valid = np.asarray(valid, dtype=bool).reshape(-1)
            if valid.shape[0] != pixels.shape[0]:
                raise ParameterError(f"valid: expected {pixels.shape[0]} flags, got {valid.shape[0]}")
            if valid.all():
                valid = None
        n = pixels.shape[0] if valid is None else int(np.count_nonzero(valid))
        if n == 0:
            self._pixels += pixels.shape[0]
            return self
        sample = _sample(pixels, valid)
        centre = _round_bits(sample.mean(axis=0), _CENTRE_BITS)
        _check_range(sample, centre)
        if pixels.dtype.kind in "iub":  # an integer centre keeps integer windows exact
            centre = np.round(centre)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _add, in one line
            if precision == "float64":
                first, second = _sums64(pixels, valid, centre)
            else:
                first, second = _sums32(pixels, valid, centre, sample)
        return self._add(n, centre, first, second, pixels.shape[0])

    def _add(self, n: int, centre: np.ndarray, first: np.ndarray, second: np.ndarray,
             pixels: int | None = None) -> "BackgroundStats":
        """Add a window: ``n`` valid pixels (of ``pixels``, default ``n``), ``first = sum(x - c)``,
        ``second = sum((x - c)(x - c)^T)``.

        ``sum(x) = A + n c`` and ``sum(x x^T) = G + A c^T + c A^T + n c c^T``: with ``c`` of
        16 bits and ``A`` rounded to 37, every product is exact in float64 (``n`` is split
        in 20-bit parts for windows over 2**21 pixels).  Rounding ``A`` moves the window's
        mean by ``|A| 2**-37 / n`` and its scatter by the square of that: nothing.
        """
        # Everything is formed and checked before anything is added, so a window whose
        # squares overflow float64 leaves the accumulator as it was, and says so.
        with np.errstate(over="ignore", invalid="ignore"):
            first = _round_bits(np.asarray(first, dtype=np.float64), _FIRST_BITS)
            square = np.outer(centre, centre)
            terms = [(self._first, first)]
            for part in _split_count(n):
                terms += [(self._first, part * centre), (self._second, part * square)]
            terms += [(self._second, (second + second.T) / 2), (self._cross, np.outer(first, centre))]
        if not all(np.isfinite(values).all() for _, values in terms):
            # A value beyond the sample's checked range (an unsampled outlier near float64's limit).
            raise ValueRangeError("some pixel values are too large: their squares overflow float64 "
                                  "(hadinfer needs magnitudes below about 1e135; rescale the scene)")
        for total, values in terms:
            total.add(values)
        self._count += n
        self._pixels += n if pixels is None else pixels
        self._moments = None
        return self

    def update_window(self, cube: np.ndarray, valid: np.ndarray, *, precision: str = "float64") -> "BackgroundStats":
        """Add the valid pixels of an (h, w, B) window as read from a scene.

        A reshape is free; invalid pixels are masked inside :meth:`update`, never copied
        out (no mask at all when every pixel is valid).

        Parameters
        ----------
        cube : ndarray, shape (h, w, bands)
        valid : ndarray of bool, shape (h, w)
        precision : {"float64", "float32"}
            See :meth:`update`.

        Returns
        -------
        BackgroundStats
            ``self``, for chaining.
        """
        return self.update(cube.reshape(-1, cube.shape[2]), None if valid.all() else valid.reshape(-1),
                           precision=precision)

    def merge(self, other: "BackgroundStats") -> "BackgroundStats":
        """Add the pixels another accumulator saw (exact: any order or tree gives the same bits).

        Statistics of parts of a scene (strips on different workers, say) merged in any
        order or tree equal those of all the parts' windows added to one accumulator.

        Parameters
        ----------
        other : BackgroundStats
            Not modified.

        Returns
        -------
        BackgroundStats
            ``self``, for chaining.

        Raises
        ------
        ParameterError
            Different band counts.

        Examples
        --------
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(100, 3))
        >>> merged = BackgroundStats(3).update(x[:30]).merge(BackgroundStats(3).update(x[30:]))
        >>> bool(np.allclose(merged.covariance(), np.cov(x, rowvar=False)))
        True
        >>> other = BackgroundStats(3).update(x[30:]).merge(BackgroundStats(3).update(x[:30]))
        >>> bool(np.array_equal(merged.scatter_, other.scatter_))
        True
        """
        if other._bands != self._bands:
            raise ParameterError(f"merge: {other._bands} bands into {self._bands}")
        self._pixels += other._pixels
        if other._count == 0:
            return self
        for mine, theirs in ((self._first, other._first), (self._second, other._second),
                             (self._cross, other._cross)):
            mine.merge(theirs)
        self._count += other._count
        self._moments = None
        return self

    def merge_moments(self, count: int, mean: np.ndarray, scatter: np.ndarray) -> "BackgroundStats":
        """Add a window given by its count, mean and centred scatter (e.g. computed on a GPU).

        The window is re-expressed about a 16-bit centre (a fixed function of ``mean``)
        and added as :meth:`update` adds one.

        Raises
        ------
        ParameterError
            Shapes that do not match the accumulator's bands.
        """
        mean, scatter = np.asarray(mean, dtype=np.float64), np.asarray(scatter, dtype=np.float64)
        if mean.shape != (self._bands,) or scatter.shape != (self._bands, self._bands):
            raise ParameterError(f"merge_moments: a {mean.shape} mean and {scatter.shape} scatter for "
                                 f"{self._bands} bands")
        if count == 0:
            return self
        centre = _round_bits(mean, _CENTRE_BITS)
        first = _round_bits(count * (mean - centre), _FIRST_BITS)
        return self._add(int(count), centre, first, scatter + np.outer(first, first) / count)

    def _finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and scatter from the exact sums, each correctly rounded (cached).

        The scatter is symmetric exactly (every second-order term added is), so only its
        upper triangle is computed and then mirrored: the same bits in half the time, 0.04
        of the 0.08 s a 205-band scene took, much of a small scene's run.
        """
        if self._moments is not None:
            return self._moments
        bands, n = self._bands, self._count
        if n == 0:
            self._moments = (np.zeros(bands), np.zeros((bands, bands)))
            return self._moments
        rows, cols = np.triu_indices(bands)
        first, e1 = self._first.integers()
        second, e2 = self._second.integers((rows, cols))
        cross, e3 = self._cross.integers((rows, cols))
        mirrored, _ = self._cross.integers((cols, rows))
        # sum(x x^T) = second + cross + cross^T, at one exponent.
        e = min(e2, e3)
        second = second * (1 << (e2 - e)) + (cross + mirrored) * (1 << (e3 - e))
        # scatter = sum(x x^T) - sum(x) sum(x)^T / n = (n sum(x x^T) - sum(x) sum(x)^T) / n.
        lowest = min(e, 2 * e1)
        numerator = second * (n << (e - lowest)) - first[rows] * first[cols] * (1 << (2 * e1 - lowest))
        scatter = np.empty((bands, bands))
        scatter[rows, cols] = scatter[cols, rows] = _divide(numerator, lowest, n)
        self._moments = (_divide(first, e1, n), scatter)
        return self._moments

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """Sample covariance, shape (bands, bands).

        Raises
        ------
        AllNodataError
            If no pixel was seen.
        """
        if self._count == 0:
            raise AllNodataError("every pixel is nodata or not finite: no background statistics")
        return self.scatter_ / max(self._count - ddof, 1)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_moments"] = None  # recomputed where needed; keeps task results small
        return state


#: Magnitudes (of values, and of each band's spread in a window's sample) float64 sums of
#: squares hold with full precision: 2**450 squared, summed over 2**100 pixels, stays below
#: its overflow (2**1024); 2**-450 squared is above its subnormals (2**-1022) by more than
#: its 53 bits.
_LARGEST_VALUE = 2.0 ** 450
_SMALLEST_SPREAD = 2.0 ** -450


def _check_range(sample: np.ndarray, centre: np.ndarray) -> None:
    """Refuse a window whose values' squares would overflow float64 or whose variations' would underflow.

    Overflow made an unexplained error (or inf in the sums); underflow a scatter of zeros
    and a map of zeros, silently.  Any scale float32 can hold is far inside both bounds.
    """
    largest = float(np.max(np.abs(sample))) if sample.size else 0.0
    if largest > _LARGEST_VALUE:
        raise ValueRangeError(f"pixel values reach {largest:.3g}: too large, their squares overflow float64 "
                              "(hadinfer needs magnitudes below about 1e135; rescale the scene)")
    spread = np.max(np.abs(sample - centre), axis=0) if sample.size else np.zeros(0)
    tiny = spread[(spread > 0) & (spread < _SMALLEST_SPREAD)]
    if tiny.size:
        raise ValueRangeError(f"pixel values vary by as little as {tiny.min():.3g}: their squares underflow "
                              "float64 (hadinfer needs variations above about 1e-135; rescale the scene)")


def _split_count(n: int) -> list[int]:
    """``n`` as parts of at most 21 bits (times powers of two), so ``part * c_i * c_j`` is exact."""
    if n < 2 ** 21:
        return [n]
    return [(n >> 20) << 20, n & (2 ** 20 - 1)]


def _sample(pixels: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """About :data:`_SAMPLE` valid rows of a window, evenly spaced, in float64."""
    if valid is None:
        sample = pixels[::max(1, pixels.shape[0] // _SAMPLE)]
    else:
        rows = np.flatnonzero(valid)
        sample = pixels[rows[::max(1, rows.size // _SAMPLE)]]
    return np.asarray(sample, dtype=np.float64)


def _sums64(pixels: np.ndarray, valid: np.ndarray | None, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _sums32(pixels, valid, centre, sample):
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
    direct = _exact_in_float32(pixels.dtype) and scale is None
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


def _exact_in_float32(dtype) -> bool:
    """Whether every value of ``dtype`` is a float32 (8- and 16-bit integers, float32)."""
    dtype = np.dtype(dtype)
    return dtype == np.float32 or (dtype.kind in "iu" and dtype.itemsize <= 2)


def chunk_buffer(pixels: np.ndarray, rows: int, dtype, columns: int | None = None) -> np.ndarray:
    """A (rows, columns) scratch array laid out like the (n, bands) ``pixels``.

    Scenes read band by band (rasterio, band-interleaved files) arrive band-major: a
    row-major buffer would turn every chunk copy into a transpose, ten times slower.
    ``columns`` defaults to the band count.
    """
    order = "F" if pixels.strides[0] < pixels.strides[1] else "C"
    return np.empty((rows, pixels.shape[1] if columns is None else columns), dtype=dtype, order=order)


def centred_blocks(cube: np.ndarray, mean: np.ndarray, dtype=np.float32, scale: np.ndarray | None = None,
                   block_pixels: int = CHUNK_ROWS):
    """Yield ``(top, rows, centred)`` for blocks of rows of a window: ``(x - mean) * scale`` per pixel.

    The subtraction runs in float64 and is rounded once to ``dtype`` (or, for float32
    output from windows whose values are exact in float32, such as int16, runs in float32
    with two roundings and no float64 pass), into buffers that are reused from block to
    block and laid out like ``cube`` (band-major or pixel-major), so any window, a
    sub-window view included, is centred without a transposing copy and without ever
    being widened as a whole.

    Parameters
    ----------
    cube : ndarray, shape (h, w, B)
        Any real dtype.
    mean : ndarray of float64, shape (B,)
    dtype : numpy dtype
        Of the centred spectra.
    scale : ndarray of float64, shape (B,), optional
        Powers of two per band (:func:`float32_scale`), applied after the subtraction
        and before the rounding to ``dtype``, so it is exact; default none.
    block_pixels : int
        About how many pixels a block holds (whole rows, at least one); the blocks'
        values do not depend on it.

    Yields
    ------
    top : int
        First row of the block.
    rows : int
        Rows in the block.
    centred : ndarray of ``dtype``, shape (rows * w, B)
        Valid only until the next block is yielded.
    """
    height, width, bands = cube.shape
    step = max(1, block_pixels // max(width, 1))
    single = np.dtype(dtype) == np.float32
    # A scale beyond float32's range (data near its subnormals) is applied in float64.
    direct = single and _exact_in_float32(cube.dtype) and scale is None
    wide = None if direct else _block_buffer(cube, step, np.float64)
    narrow = _block_buffer(cube, step, dtype) if single else None
    if direct:  # the mean in two float32 parts, so no offset is left behind
        high, low = _float32_parts(mean)
    for top in range(0, height, step):
        block = cube[top:top + step]
        rows = block.shape[0]
        if direct:  # exact conversion, then x - mean with two roundings, no float64 pass
            centred = np.subtract(block, high, out=narrow[:rows])  # converted inside the ufunc's loop
            centred -= low
        else:
            centred = np.subtract(block, mean, out=wide[:rows])
            if scale is not None:
                centred *= scale
            if narrow is not None:
                narrow[:rows] = centred
                centred = narrow[:rows]
        yield top, rows, centred.reshape(rows * width, bands)  # a view: rows and columns are adjacent


def centred_float32(xp, cube: np.ndarray, mean: np.ndarray):
    """A whole window centred as :func:`centred_blocks` centres it in float32, on ``xp``'s device.

    The same roundings, so the host and a device agree to the bit here: windows whose
    values are exact in float32 (int16, float32) travel in their own dtype, are converted
    on the device and have the mean taken off in two float32 parts; others are centred in
    float64 and rounded once.  (The host streams blocks of rows to stay in cache; a GPU
    wants the whole window in one call.)

    Parameters
    ----------
    xp : ArrayLibrary
    cube : ndarray, shape (h, w, B)
    mean : ndarray of float64, shape (B,)

    Returns
    -------
    array of float32, shape (h * w, B)
    """
    pixels = cube.reshape(-1, cube.shape[2])
    if _exact_in_float32(cube.dtype):
        high, low = _float32_parts(mean)
        centred = xp.asarray(pixels, dtype=np.float32) - xp.asarray(high, dtype=np.float32)
        return centred - xp.asarray(low, dtype=np.float32)
    return xp.single(xp.asarray(pixels) - xp.asarray(mean))


def _float32_parts(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mean`` as ``high + low`` in float32: subtracting both leaves no offset float32 would round away."""
    high = mean.astype(np.float32)
    return high, (mean - high).astype(np.float32)


def _block_buffer(cube: np.ndarray, rows: int, dtype) -> np.ndarray:
    """A (rows, w, B) scratch block laid out like ``cube`` whose (rows * w, B) reshape is a view."""
    _, width, bands = cube.shape
    if cube.strides[2] > cube.strides[1]:  # band-major, as rasterio reads
        return np.empty((bands, rows, width), dtype=dtype).transpose(1, 2, 0)
    return np.empty((rows, width, bands), dtype=dtype)


def whitening_basis(covariance: np.ndarray, *, rcond: float | None = None, shrinkage: float = 0.0,
                    n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decompose a covariance into a whitening projection.

    ``score = ||(x - mu) @ W||^2`` then equals ``(x - mu)^T S^+ (x - mu)`` where ``S^+``
    is the Moore–Penrose pseudo-inverse of the (optionally shrunk) covariance.

    Parameters
    ----------
    covariance : ndarray, shape (B, B)
    rcond : float, optional
        Eigenvalues below ``rcond * max_eigenvalue`` are treated as zero (their
        directions carry no score), as ``np.linalg.pinv`` does with singular values.
        Default ``B * eps``: constant bands and rank deficiency (fewer pixels than
        bands) are handled without blowing up noise directions.
    shrinkage : float
        Ledoit–Wolf style convex shrinkage toward ``mean(eigenvalues) * I``:
        ``(1 - shrinkage) * S + shrinkage * trace(S)/B * I``.  0 keeps exact RX.
    n_components : int, optional
        Keep only the leading principal components (for PCA-reduced detectors).

    Returns
    -------
    basis : ndarray, shape (B, k)
        Principal directions (columns), leading first.
    eigenvalues : ndarray, shape (k,)
        Their variances after shrinkage.
    """
    if not 0.0 <= shrinkage <= 1.0:
        raise ParameterError(f"shrinkage: expected a value in [0, 1], got {shrinkage}")
    bands = covariance.shape[0]
    values, vectors = np.linalg.eigh(covariance)
    values, vectors = values[::-1], vectors[:, ::-1]
    if shrinkage:
        values = (1 - shrinkage) * values + shrinkage * values.mean()
    cutoff = (bands * np.finfo(np.float64).eps if rcond is None else rcond) * max(values[0], 0.0)
    keep = values > cutoff
    if n_components is not None:
        keep[n_components:] = False
    if not keep.any():  # a constant image: nothing deviates, every score is 0
        return np.zeros((bands, 0)), np.zeros(0)
    return vectors[:, keep], values[keep]


def fixed_signs(directions: np.ndarray) -> np.ndarray:
    """``directions`` (columns) with each sign chosen so its largest-magnitude entry is positive.

    A column's scale does not move its largest entry, so whitened directions (an
    eigenvector over the root of its eigenvalue) get the same signs as their eigenvectors.
    """
    if not directions.shape[1]:
        return directions
    lead = np.abs(directions).argmax(axis=0)
    return directions * np.sign(directions[lead, np.arange(directions.shape[1])])


def pca_whitening(stats: BackgroundStats, n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and projection to whitened principal components, with fixed signs.

    ``z = (x - mean) @ projection`` has unit global variance per component.  Each
    eigenvector's sign is chosen so its largest-magnitude loading is positive, so the same
    scene always gives the same ``z`` (networks see consistent channels).  When the scene
    has fewer usable components than ``n_components`` the projection is padded with zero
    columns, so a network's channel count never changes.

    Parameters
    ----------
    stats : BackgroundStats
    n_components : int, optional
        Columns of the projection; default every non-degenerate component.

    Returns
    -------
    mean : ndarray, shape (B,)
    projection : ndarray, shape (B, n_components)
    """
    basis, values = whitening_basis(stats.covariance(ddof=1), n_components=n_components)
    projection = fixed_signs(basis) / np.sqrt(values)
    if n_components is not None and projection.shape[1] < n_components:
        projection = np.hstack([projection, np.zeros((projection.shape[0], n_components - projection.shape[1]))])
    return stats.mean_.copy(), projection

