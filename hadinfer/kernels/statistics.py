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
from .exact_sum import ExactSum, exact_quotient, round_bits
from .window_sums import sample_rows, sums32, sums64

#: Arithmetic a window's scatter can be formed in (see :meth:`BackgroundStats.update`).
PRECISIONS = ("float64", "float32")

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
            window's leading principal directions (:data:`~hadinfer.kernels.window_sums.DEFLATED`, from its own
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
            first (:func:`~hadinfer.kernels.centring.float32_scale`).
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
        sample = sample_rows(pixels, valid)
        centre = round_bits(sample.mean(axis=0), _CENTRE_BITS)
        _check_range(sample, centre)
        if pixels.dtype.kind in "iub":  # an integer centre keeps integer windows exact
            centre = np.round(centre)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _add, in one line
            if precision == "float64":
                first, second = sums64(pixels, valid, centre)
            else:
                first, second = sums32(pixels, valid, centre, sample)
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
            first = round_bits(np.asarray(first, dtype=np.float64), _FIRST_BITS)
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
        centre = round_bits(mean, _CENTRE_BITS)
        first = round_bits(count * (mean - centre), _FIRST_BITS)
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
        scatter[rows, cols] = scatter[cols, rows] = exact_quotient(numerator, lowest, n)
        self._moments = (exact_quotient(first, e1, n), scatter)
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
