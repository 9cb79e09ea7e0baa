"""Global RX: Mahalanobis distance of each pixel to the whole scene's background."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .base import Detector
from .stats import BackgroundStats, whitening_basis


class GlobalRX(Detector):
    """Global RX detector (Reed & Yu, 1990).

    ``score(x) = (x - mu)^T S^+ (x - mu)`` with ``mu`` and ``S`` the mean and sample
    covariance (ddof=1) of every valid pixel of the scene, accumulated exactly in
    float64 window by window (:class:`BackgroundStats`), and ``S^+`` its
    pseudo-inverse.

    Parameters
    ----------
    rcond : float, optional
        Relative eigenvalue cutoff of the pseudo-inverse (see :func:`whitening_basis`);
        default ``B * eps``.  Constant bands and scenes with fewer pixels than bands
        are handled by dropping the null directions.
    shrinkage : float
        Optional shrinkage of the covariance toward a scaled identity, in [0, 1]; 0
        (default) is exact RX.
    precision : {"float64", "float32"}
        Arithmetic of the scoring projection.  Statistics and the pseudo-inverse are
        always float64; ``float32`` only projects the (float64-centred) spectra in
        single precision, about 3x faster on a CPU.  On the ten dev scenes it changed
        scores by at most 2.3e-5 relative (median 5e-7) and AUC by at most 3.4e-6.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (B,)
    projection_ : ndarray of float64, shape (B, k)
        Whitening matrix: ``score = ||(x - mean_) @ projection_||^2``; k is the rank kept.
    n_pixels_ : int
        Background pixels the statistics came from.
    """

    name = "grx"
    halo = 0

    def __init__(self, rcond: float | None = None, shrinkage: float = 0.0, precision: str = "float64"):
        if precision not in ("float64", "float32"):
            raise ParameterError(f"precision: expected float64 or float32, got {precision!r}")
        self.rcond = rcond
        self.shrinkage = shrinkage
        self.precision = precision

    def fit(self, stats: BackgroundStats) -> "GlobalRX":
        """Build the whitening projection from global statistics.

        Raises
        ------
        AllNodataError
            If ``stats`` saw no pixel.
        """
        basis, values = whitening_basis(stats.covariance(ddof=1), rcond=self.rcond, shrinkage=self.shrinkage)
        self.mean_ = stats.mean_.copy()
        self.projection_ = basis / np.sqrt(values)
        self.n_pixels_ = stats.count_
        return self

    def score(self, cube, valid, core=None, backend=None):
        xp = self._backend(backend)
        if core is not None:
            cube, valid = cube[core], valid[core]
        height, width, bands = cube.shape
        centred = xp.asarray(cube.reshape(-1, bands)) - xp.asarray(self.mean_)
        projection = xp.asarray(self.projection_)
        if self.precision == "float32":
            centred, projection = xp.single(centred), xp.single(projection)
        whitened = centred @ projection
        scores = xp.to_numpy(xp.sum(whitened * whitened, axis=1)).reshape(height, width).astype(np.float32)
        scores[~valid] = np.nan
        return scores
