"""A scikit-learn / PyOD style estimator for users who hold pixels, not rasters.

:class:`RXOutlierDetector` follows PyOD's ``BaseDetector`` surface: ``fit(X)`` learns the
background into attributes ending in ``_`` (``decision_scores_``, ``threshold_``,
``labels_``); ``decision_function(X)`` scores new pixels (higher = more anomalous);
``predict(X)`` is 1 for an outlier and 0 for an inlier.  Rows of ``X`` are pixel spectra,
shape ``(n_samples, n_bands)``; spatial detectors (local RX, fusion, networks) need the
image and are used through :func:`hadinfer.detect` instead.

Where PyOD sets ``threshold_`` at the ``1 - contamination`` quantile of the training
scores, this one sets it from ``pfa``, a false-alarm rate on background pixels, with the
tail model of :mod:`hadinfer.thresholds` (``contamination`` gives PyOD's rule instead).

scikit-learn is not needed; ``get_params``/``set_params`` make the estimator clonable
and usable in its pipelines and grid searches.
"""

from __future__ import annotations

import numpy as np

from .detectors.global_rx import GlobalRX
from .errors import ParameterError
from .kernels.statistics import BackgroundStats
from .thresholds import check_rate, choose_threshold


class RXOutlierDetector:
    """Global RX (Mahalanobis distance to the background) on pixel spectra.

    Parameters
    ----------
    pfa : float
        False-alarm rate on background pixels in (0, 1) that sets ``threshold_``.
    contamination : float, optional
        PyOD's rule instead: ``threshold_`` is the ``1 - contamination`` quantile of the
        training scores, in (0, 0.5].
    shrinkage : float
        Blend of the covariance toward ``trace / B * I`` in [0, 1] (see
        :class:`hadinfer.GlobalRX`).

    Attributes
    ----------
    detector_ : GlobalRX
        The fitted detector (mean, whitening projection).
    decision_scores_ : ndarray of float64, shape (n_samples,)
        Scores of the training pixels (NaN for rows with a non-finite value).
    threshold_ : float
    threshold_info_ : hadinfer.thresholds.Threshold
        The threshold with its rule and tail model.
    labels_ : ndarray of int, shape (n_samples,)
        1 = outlier, 0 = inlier (rows with a non-finite value are 0).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from hadinfer.estimator import RXOutlierDetector
    >>> X = np.random.default_rng(0).normal(size=(5000, 6))
    >>> X[:5] += 8
    >>> model = RXOutlierDetector(pfa=0.001).fit(X)
    >>> model.predict(X[:5]).tolist()
    [1, 1, 1, 1, 1]
    """

    def __init__(self, pfa: float = 0.01, *, contamination: float | None = None, shrinkage: float = 0.0):
        self.pfa = pfa
        self.contamination = contamination
        self.shrinkage = shrinkage

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's parameters (scikit-learn convention)."""
        return {"pfa": self.pfa, "contamination": self.contamination, "shrinkage": self.shrinkage}

    def set_params(self, **params) -> "RXOutlierDetector":
        """Set constructor parameters (scikit-learn convention).

        Raises
        ------
        ParameterError
            A name the constructor does not take.
        """
        for name, value in params.items():
            if name not in self.get_params():
                raise ParameterError(f"RXOutlierDetector has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def _pixels(self, X, fitting: bool) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ParameterError(f"X: expected pixels as (n_samples, n_bands), got shape {X.shape}; reshape an "
                                 "image with cube.reshape(-1, bands) or use hadinfer.detect")
        if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
            raise ParameterError(f"X: expected real numbers, got dtype {X.dtype}")
        if not fitting and X.shape[1] != self.n_features_in_:
            raise ParameterError(f"X: has {X.shape[1]} bands, the detector was fitted on {self.n_features_in_}")
        X = X.astype(np.float64, copy=False)
        return X, np.isfinite(X).all(axis=1)

    def fit(self, X, y=None) -> "RXOutlierDetector":
        """Learn the background from the pixels of ``X`` (``y`` is ignored: unsupervised).

        Rows with a non-finite value are left out of the statistics.

        Raises
        ------
        ParameterError
            ``X`` not 2-D real numbers, no finite row, or invalid ``pfa``/``contamination``.
        """
        if self.contamination is None:
            check_rate(self.pfa, "pfa")
        elif not 0.0 < float(self.contamination) <= 0.5:  # also refuses NaN
            raise ParameterError(f"contamination: expected a share in (0, 0.5], got {self.contamination!r}")
        X, valid = self._pixels(X, fitting=True)
        if not valid.any():
            raise ParameterError("X: no row without NaN or infinity to fit on")
        self.n_features_in_ = X.shape[1]
        stats = BackgroundStats(X.shape[1]).update(np.where(valid[:, None], X, 0.0), valid)
        self.detector_ = GlobalRX(shrinkage=self.shrinkage, precision="float64").fit(stats)
        self.decision_scores_ = self._score(X, valid)
        if self.contamination is None:
            chosen = choose_threshold(self.decision_scores_, pfa=self.pfa)
        else:
            chosen = choose_threshold(self.decision_scores_, pfa=float(self.contamination), rule="quantile")
        self.threshold_info_ = chosen
        self.threshold_ = chosen.value
        self.labels_ = (np.nan_to_num(self.decision_scores_, nan=-np.inf) > self.threshold_).astype(int)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "detector_"):
            raise ParameterError("RXOutlierDetector: call fit(X) first")

    def _score(self, X, valid) -> np.ndarray:
        cube = np.where(valid[:, None], X, 0.0)[:, None, :]
        scores = self.detector_.score(cube, valid[:, None]).astype(np.float64)[:, 0]
        scores[~valid] = np.nan
        return scores

    def decision_function(self, X) -> np.ndarray:
        """Anomaly scores of the pixels of ``X``, shape (n_samples,); higher = more anomalous.

        NaN for a row with a non-finite value.
        """
        self._check_fitted()
        return self._score(*self._pixels(X, fitting=False))

    def predict(self, X) -> np.ndarray:
        """1 for pixels scoring above ``threshold_``, else 0 (NaN rows: 0)."""
        scores = self.decision_function(X)
        return (np.nan_to_num(scores, nan=-np.inf) > self.threshold_).astype(int)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def __repr__(self) -> str:
        return f"RXOutlierDetector(pfa={self.pfa!r}, contamination={self.contamination!r}, shrinkage={self.shrinkage!r})"
