"""Global RX: Mahalanobis distance of each pixel to the whole scene's background."""

from __future__ import annotations

import numpy as np

from ..arrays import NumpyArrays
from ..errors import ParameterError
from ..kernels.centring import float32_scale
from ..kernels.statistics import PRECISIONS, BackgroundStats
from ..kernels.triangular_energy import energy_factor_for
from ..kernels.whitened_energy import whitened_energy
from ..kernels.whitening import whitening_basis
from .base import Detector


class GlobalRX(Detector):
    """Global RX detector (Reed & Yu, 1990).

    ``score(x) = (x - mu)^T S^+ (x - mu)`` with ``mu`` and ``S`` the mean and sample
    covariance (ddof=1) of every valid pixel of the scene, accumulated window by window
    and merged exactly in float64 (:class:`BackgroundStats`), and ``S^+`` its
    pseudo-inverse (always float64).

    Parameters
    ----------
    rcond : float, optional
        Relative eigenvalue cutoff of the pseudo-inverse (see :func:`whitening_basis`);
        default ``B * eps``.  Constant bands and scenes with fewer pixels than bands
        are handled by dropping the null directions.
    shrinkage : float
        Optional shrinkage of the covariance toward a scaled identity, in [0, 1]; 0
        (default) is exact RX.
    precision : {"float32", "float64"}
        Arithmetic of each window's scatter (:attr:`stats_precision`) and of the
        scoring projection.  ``float32`` (default) forms both with float32 BLAS
        products on spectra centred in float32, never widening a window to float64:
        scoring a 256 x 256 x 200 tile took 31 ms instead of 77 on a 2-core CPU.  On
        the ten dev scenes it moved AUC by at most 3.4e-6 from ``float64``, and scores
        by about 1e-5 relative, so maps from different tile sizes agree to about 1e-4
        (``tests/detectors/test_grx_float32.py``).

    Attributes
    ----------
    mean_ : ndarray of float64, shape (B,)
    projection_ : ndarray of float64, shape (B, k)
        Whitening matrix: ``score = ||(x - mean_) @ projection_||^2``; k is the rank kept.
    n_pixels_ : int
        Background pixels the statistics came from.
    scale_ : ndarray of float64, shape (B,), or None
        Powers of two each band's centred values are multiplied by before float32
        scoring (and the projection divided by), so a scene of any finite scale
        (1e30 or 1e-30 times an ordinary one) neither overflows nor underflows float32;
        None when every band's standard deviation lies in [2**-30, 2**30], as on
        ordinary scenes, whose scores then keep their bits (:func:`float32_scale`).
    """

    name = "grx"
    halo = 0
    tile_parallel = True

    def __init__(self, rcond: float | None = None, shrinkage: float = 0.0, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ParameterError(f"precision: expected float32 or float64, got {precision!r}")
        # Checked here, before the statistics pass; ``not 0 <= x`` also refuses NaN.
        if rcond is not None and not (np.isfinite(rcond) and 0.0 <= rcond < 1.0):
            raise ParameterError(f"rcond: expected a number in [0, 1), got {rcond!r}")
        if not (np.isfinite(shrinkage) and 0.0 <= shrinkage <= 1.0):
            raise ParameterError(f"shrinkage: expected a value in [0, 1], got {shrinkage!r}")
        self.rcond = rcond
        self.shrinkage = shrinkage
        self.precision = precision

    @property
    def stats_precision(self) -> str:
        """Arithmetic the statistics pass should form each window's scatter in (``precision``)."""
        return self.precision

    def chi2_dof(self) -> int:
        """Components kept by the fitted projection: scores are chi-square with this many degrees of freedom on
        Gaussian background."""
        return int(self.projection_.shape[1])

    def fit(self, stats: BackgroundStats) -> "GlobalRX":
        """Build the whitening projection from global statistics.

        Raises
        ------
        AllNodataError
            If ``stats`` saw no pixel.
        """
        covariance = stats.covariance(ddof=1)
        basis, values = whitening_basis(covariance, rcond=self.rcond, shrinkage=self.shrinkage)
        self.mean_ = stats.mean_.copy()
        self.projection_ = basis / np.sqrt(values)
        self.n_pixels_ = stats.count_
        self.scale_ = float32_scale(np.sqrt(np.maximum(np.diag(covariance), 0.0)))
        # The triangular product's factor where it pays (kernels.triangular_energy), else None: dense.
        self._energy_factor = None
        if self.precision == "float32":
            self._energy_factor = energy_factor_for(self._scoring_projection().astype(np.float32), stats.count_)
        return self

    def _scoring_projection(self) -> np.ndarray:
        """The projection scores use: ``projection_``, divided by ``scale_`` for float32 (see :meth:`score`)."""
        scale = getattr(self, "scale_", None) if self.precision == "float32" else None
        return self.projection_ if scale is None else self.projection_ / scale[:, None]

    def score(self, cube, valid, core=None, arrays=None):
        xp = self._arrays(arrays)
        if core is not None:
            cube, valid = cube[core], valid[core]
        # (x - mean) @ P == ((x - mean) * scale) @ (P / scale): the same scores, in float32's range.
        scale = getattr(self, "scale_", None) if self.precision == "float32" else None
        projection = self._scoring_projection()
        if self.precision == "float32" and isinstance(xp, NumpyArrays):
            scores = whitened_energy(cube, self.mean_, projection.astype(np.float32), scale,
                                     getattr(self, "_energy_factor", None))
        else:
            height, width, bands = cube.shape
            centred = xp.asarray(cube.reshape(-1, bands)) - xp.asarray(self.mean_)
            if scale is not None:
                centred = centred * xp.asarray(scale)
            projection = xp.asarray(projection)
            if self.precision == "float32":
                centred, projection = xp.single(centred), xp.single(projection)
            whitened = centred @ projection
            scores = xp.to_numpy(xp.sum(whitened * whitened, axis=1)).reshape(height, width).astype(np.float32)
        scores[~valid] = np.nan
        return scores
