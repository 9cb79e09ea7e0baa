"""Whitening and principal components from a background covariance, with fixed signs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError

if TYPE_CHECKING:
    from .statistics import BackgroundStats


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


def pca_whitening(stats: "BackgroundStats", n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
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
