"""Exact background statistics accumulated window by window."""

from __future__ import annotations

import numpy as np

from ..errors import AllNodataError, ParameterError

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

#: Pixels sampled for a window's shift (and the first window's deflation basis).
_SAMPLE = 1024


class BackgroundStats:
    """Running mean and scatter matrix of spectra, in float64.

    Windows are merged with the pairwise update of Chan, Golub & LeVeque (1979):
    each window is centred on its own mean before its scatter is formed, so the
    result equals ``np.cov`` of all pixels at once (to float rounding) without the
    cancellation of a naive sum of squares, and a scene larger than memory still
    gets exact global statistics.

    Parameters
    ----------
    bands : int
        Spectral dimension.

    Attributes
    ----------
    count_ : int
        Pixels seen.
    mean_ : ndarray of float64, shape (bands,)
    scatter_ : ndarray of float64, shape (bands, bands)
        Sum of outer products of centred spectra.

    Notes
    -----
    Each window is read a chunk of rows at a time: no scratch array as large as the
    window is made, whatever its dtype (int16 or float32 windows are never widened to
    float64 as a whole).  With ``precision="float32"`` the accumulator also keeps the
    scene's leading principal directions (a private basis, refined by one step of
    subspace iteration per window); it changes only rounding, never what is estimated.
    """

    def __init__(self, bands: int):
        if bands < 1:
            raise ParameterError(f"bands: expected >= 1, got {bands}")
        self.count_ = 0
        self.mean_ = np.zeros(bands)
        self.scatter_ = np.zeros((bands, bands))
        self._basis = None  # (bands, r) leading directions for float32 windows

    def update(self, pixels: np.ndarray, valid: np.ndarray | None = None, *,
               precision: str = "float64") -> "BackgroundStats":
        """Add a window of pixels.

        Parameters
        ----------
        pixels : ndarray, shape (n, bands)
            Spectra, any real dtype (int16 windows are converted a chunk at a time).
        valid : ndarray of bool, shape (n,), optional
            Rows to count; default all.  Invalid rows are skipped without copying the
            valid ones out of the window.
        precision : {"float64", "float32"}
            Arithmetic of this window's scatter.  ``float64`` centres on the window's
            exact mean.  ``float32`` centres on the mean of a sample of the window, splits
            off the leading principal directions (:data:`DEFLATED`), forms the scatter
            with a float32 BLAS product, and converts it back and merges it in float64.
            The product is twice as fast as in float64; with the centring and the split,
            a 256 x 256 x 200 window took 30 ms instead of 41 on a 2-core CPU.  On the ten
            dev scenes it moved GRX AUC by at most 3.4e-6
            (``tests/detectors/test_grx_float32.py``).

        Returns
        -------
        BackgroundStats
            ``self``, for chaining.

        Raises
        ------
        ParameterError
            Wrong shapes, or an unknown precision.
        """
        if precision not in PRECISIONS:
            raise ParameterError(f"precision: expected float64 or float32, got {precision!r}")
        pixels = np.asarray(pixels)
        bands = self.mean_.shape[0]
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
            return self
        if precision == "float64":
            mean, scatter = _scatter64(pixels, valid, n)
        else:
            mean, scatter = self._scatter32(pixels, valid, n)
        return self._combine(n, mean, scatter)

    def _scatter32(self, pixels, valid, n):
        """Mean and scatter of one window with a float32 scatter product (see :meth:`update`).

        The window is centred on a shift (the mean of a sample), and each centred chunk
        ``d`` is split as ``d = d' + a U^T`` with ``U`` the leading principal directions.
        One float32 Gram matrix of ``[d', a, 1]`` then holds every sum needed, and each
        of its blocks rounds relative to its own scale: the dominant directions' rounding
        stays out of the minor ones.  ``U`` is folded back, and windows summed, in float64.
        """
        bands = pixels.shape[1]
        if valid is None:
            sample = pixels[::max(1, pixels.shape[0] // _SAMPLE)]
        else:
            rows = np.flatnonzero(valid)
            sample = pixels[rows[::max(1, rows.size // _SAMPLE)]]
        sample = np.asarray(sample, dtype=np.float64)
        # Any shift is exact (the offset from it is summed too); one representable in
        # float32 lets narrow inputs be centred in float32 with a single rounding.
        shift = sample.mean(axis=0).astype(np.float32)
        direct = _exact_in_float32(pixels.dtype)
        basis = self._leading_directions(sample - shift)
        u32 = basis.astype(np.float32)
        r = basis.shape[1]
        size = min(CHUNK_ROWS, pixels.shape[0])
        wide = chunk_buffer(pixels, size, np.float64)
        augmented = chunk_buffer(pixels, size, np.float32, columns=bands + r + 1)
        augmented[:, -1] = 1.0  # its Gram column holds the chunk's sums
        leading = chunk_buffer(pixels, size, np.float32)
        gram = np.zeros((bands + r + 1, bands + r + 1))
        for start in range(0, pixels.shape[0], CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, pixels.shape[0])
            z = augmented[:stop - start]
            d, a = z[:, :bands], z[:, bands:bands + r]
            if direct:  # int16, uint16, float32...: exact in float32, so x - shift rounds once
                d[...] = pixels[start:stop]
                d -= shift
            else:  # subtract in float64, round once (a float64-loop ufunc writing float32 is slower)
                d[...] = np.subtract(pixels[start:stop], shift, out=wide[:stop - start])
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
        offset = fold.T @ gram[:-1, -1] / n
        scatter = fold.T @ gram[:-1, :-1] @ fold - n * np.outer(offset, offset)
        return shift.astype(np.float64) + offset, (scatter + scatter.T) / 2

    def _leading_directions(self, centred_sample: np.ndarray) -> np.ndarray:
        """Orthonormal (bands, r) basis of the leading principal directions.

        Subspace iteration (``U <- qr(S U)``): a few steps on the first float32 window's
        sample, then one step per window on everything accumulated so far.  Each step is
        a (B, B) x (B, r) product and a thin QR, microseconds; an eigendecomposition of
        the sample took milliseconds, more with a reading thread beside it.  ``U`` need
        only hold most of the dominant variance, not converge.
        """
        bands = centred_sample.shape[1]
        r = min(DEFLATED, bands - 1)
        if r < 1:
            return np.zeros((bands, 0))
        if self._basis is None or self._basis.shape[1] != r:
            scatter, steps = centred_sample.T @ centred_sample, 6
            basis = np.random.default_rng(0).standard_normal((bands, r))  # fixed: same rounding every run
        elif self.count_:
            scatter, steps, basis = self.scatter_, 1, self._basis
        else:
            return self._basis
        for _ in range(steps):
            refined, _ = np.linalg.qr(scatter @ basis)
            if not np.isfinite(refined).all():
                break
            basis = refined
        self._basis = basis
        return basis

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
        """Add the pixels another accumulator saw (same pairwise update, exact to rounding).

        Statistics of parts of a scene (strips on different workers, say) merged in any
        order or tree equal those of all pixels at once.

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
        """
        if other.mean_.shape != self.mean_.shape:
            raise ParameterError(f"merge: {other.mean_.shape[0]} bands into {self.mean_.shape[0]}")
        if other.count_ == 0:
            return self
        return self._combine(other.count_, other.mean_, other.scatter_)

    def merge_moments(self, count: int, mean: np.ndarray, scatter: np.ndarray) -> "BackgroundStats":
        """Add a window given by its count, mean and centred scatter (e.g. computed on a GPU).

        Raises
        ------
        ParameterError
            Shapes that do not match the accumulator's bands.
        """
        mean, scatter = np.asarray(mean, dtype=np.float64), np.asarray(scatter, dtype=np.float64)
        if mean.shape != self.mean_.shape or scatter.shape != self.scatter_.shape:
            raise ParameterError(f"merge_moments: a {mean.shape} mean and {scatter.shape} scatter for "
                                 f"{self.mean_.shape[0]} bands")
        return self if count == 0 else self._combine(int(count), mean, scatter)

    def _combine(self, n: int, mean: np.ndarray, scatter: np.ndarray) -> "BackgroundStats":
        # Chan, Golub & LeVeque: both sides centred on their own means, joined by the
        # outer product of the mean difference.
        total = self.count_ + n
        delta = mean - self.mean_
        self.scatter_ += scatter + np.outer(delta, delta) * (self.count_ * n / total)
        self.mean_ += delta * (n / total)
        self.count_ = total
        return self

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """Sample covariance, shape (bands, bands).

        Raises
        ------
        AllNodataError
            If no pixel was seen.
        """
        if self.count_ == 0:
            raise AllNodataError("every pixel is nodata or not finite: no background statistics")
        return self.scatter_ / max(self.count_ - ddof, 1)



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


def centred_blocks(cube: np.ndarray, mean: np.ndarray, dtype=np.float32):
    """Yield ``(top, rows, centred)`` for blocks of rows of a window: ``x - mean`` per pixel.

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
    step = max(1, CHUNK_ROWS // max(width, 1))
    single = np.dtype(dtype) == np.float32
    direct = single and _exact_in_float32(cube.dtype)
    wide = None if direct else _block_buffer(cube, step, np.float64)
    narrow = _block_buffer(cube, step, dtype) if single else None
    if direct:  # the mean in two float32 parts, so no offset is left behind
        high = mean.astype(np.float32)
        low = (mean - high).astype(np.float32)
    for top in range(0, height, step):
        block = cube[top:top + step]
        rows = block.shape[0]
        if direct:  # exact conversion, then x - mean with two roundings, no float64 pass
            centred = narrow[:rows]
            centred[...] = block
            centred -= high
            centred -= low
        else:
            centred = np.subtract(block, mean, out=wide[:rows])
            if narrow is not None:
                narrow[:rows] = centred
                centred = narrow[:rows]
        yield top, rows, centred.reshape(rows * width, bands)  # a view: rows and columns are adjacent


def _block_buffer(cube: np.ndarray, rows: int, dtype) -> np.ndarray:
    """A (rows, w, B) scratch block laid out like ``cube`` whose (rows * w, B) reshape is a view."""
    _, width, bands = cube.shape
    if cube.strides[2] > cube.strides[1]:  # band-major, as rasterio reads
        return np.empty((bands, rows, width), dtype=dtype).transpose(1, 2, 0)
    return np.empty((rows, width, bands), dtype=dtype)


def _scatter64(pixels: np.ndarray, valid: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and scatter of a window in float64, a chunk of rows at a time (two passes)."""
    bands = pixels.shape[1]
    total = np.zeros(bands)
    for start in range(0, pixels.shape[0], CHUNK_ROWS):
        rows = np.asarray(pixels[start:start + CHUNK_ROWS], dtype=np.float64)
        weights = np.ones(rows.shape[0]) if valid is None else valid[start:start + CHUNK_ROWS].astype(np.float64)
        total += weights @ rows
    mean = total / n
    scatter = np.zeros((bands, bands))
    for start in range(0, pixels.shape[0], CHUNK_ROWS):
        centred = np.subtract(pixels[start:start + CHUNK_ROWS], mean)
        if valid is not None:
            centred[~valid[start:start + CHUNK_ROWS]] = 0.0
        scatter += centred.T @ centred
    return mean, scatter

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
    if basis.shape[1]:
        lead = np.abs(basis).argmax(axis=0)
        basis = basis * np.sign(basis[lead, np.arange(basis.shape[1])])
    projection = basis / np.sqrt(values)
    if n_components is not None and projection.shape[1] < n_components:
        projection = np.hstack([projection, np.zeros((projection.shape[0], n_components - projection.shape[1]))])
    return stats.mean_.copy(), projection
