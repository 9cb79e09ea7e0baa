"""A scene's shape in a few numbers, from its statistics pass: what conditions a feature network.

A per-pixel network cannot tell whether the scene around a pixel is a few broad materials
or a clutter of many; RX on its features then must serve both.  The descriptor is the
spectrum of the scene's covariance on the canonical band grid (each band standardised, so
it is the correlation structure and no sensor's units): the fractions of variance along
its leading principal directions, as logarithms.  A scene of one material and noise puts
almost all variance in one direction; a cluttered scene spreads it.  It comes from the
(mean, covariance) the statistics pass already fits, so every tile of a scene sees the
same descriptor and tiles stay independent.
"""

from __future__ import annotations

import numpy as np

from .canonical_spectra import canonical_affine

#: Leading directions the descriptor keeps.
DESCRIPTOR_SIZE = 8
#: Variance fractions are floored here before the logarithm, so a rank-deficient scene's
#: descriptor stays in the range real scenes span (about -0.1 to -9).
_FRACTION_FLOOR = 1e-4


def descriptor_from_canonical(covariance: np.ndarray, size: int = DESCRIPTOR_SIZE) -> np.ndarray:
    """Log variance fractions of the ``size`` leading eigenvalues of a canonical covariance.

    Parameters
    ----------
    covariance : ndarray, shape (K, K)
        Covariance of the scene's standardised spectra on the canonical grid.
    size : int

    Returns
    -------
    ndarray of float32, shape (size,)
        ``log(lambda_i / sum(lambda))``, largest first; floored at ``log(1e-4)``.

    Examples
    --------
    >>> [round(float(v), 3) for v in descriptor_from_canonical(np.diag([3.0, 1.0]), 3)]
    [-0.288, -1.386, -9.21]
    """
    covariance = np.asarray(covariance, dtype=np.float64)
    eigenvalues = np.clip(np.linalg.eigvalsh(0.5 * (covariance + covariance.T))[::-1], 0.0, None)
    total = float(eigenvalues.sum())
    fractions = np.zeros(size)
    if total > 0:
        leading = eigenvalues[:size] / total
        fractions[:leading.size] = leading
    return np.log(np.maximum(fractions, _FRACTION_FLOOR)).astype(np.float32)


def scene_descriptor(mean: np.ndarray, covariance: np.ndarray, size: int = DESCRIPTOR_SIZE) -> np.ndarray:
    """The descriptor of a scene from its band mean and covariance (the statistics pass).

    The same numbers :func:`descriptor_from_canonical` gives for the covariance of the
    scene's canonical spectra (:func:`~hadinfer.models.canonical_spectra.canonical_affine`).
    """
    weight, _ = canonical_affine(mean, covariance)
    return descriptor_from_canonical(weight.T @ np.asarray(covariance, dtype=np.float64) @ weight, size)
