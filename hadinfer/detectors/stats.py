"""Exact background statistics accumulated window by window."""

from __future__ import annotations

import numpy as np

from ..errors import AllNodataError, ParameterError


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
    """

    def __init__(self, bands: int):
        if bands < 1:
            raise ParameterError(f"bands: expected >= 1, got {bands}")
        self.count_ = 0
        self.mean_ = np.zeros(bands)
        self.scatter_ = np.zeros((bands, bands))

    def update(self, pixels: np.ndarray) -> "BackgroundStats":
        """Add pixels.

        Parameters
        ----------
        pixels : ndarray, shape (n, bands)
            Valid spectra only.

        Returns
        -------
        BackgroundStats
            ``self``, for chaining.
        """
        pixels = np.asarray(pixels, dtype=np.float64)
        n = pixels.shape[0]
        if n == 0:
            return self
        mean = pixels.mean(axis=0)
        centred = pixels - mean
        return self._combine(n, mean, centred.T @ centred)

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
