"""RX on learned spectral features, fused with the classical fusion: the ``learned`` detector."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..kernels.compiled import compiled_pays
from ..kernels.statistics import BackgroundStats
from ..models.canonical_spectra import band_positions, canonical_affine
from .base import Detector
from .fusion_rx import DEFAULT_COMPONENTS, DEFAULT_WINDOWS, FusionRX

#: Scores are clipped here before the logarithm of the geometric mean.
_FLOOR = 1e-300
#: Pixels whose features are computed at once (see :meth:`LearnedFeatureRX.features`).
_CHUNK_PIXELS = 4096


class LearnedFeatureRX(Detector):
    """Geometric mean of :class:`FusionRX` on the spectra and on learned features of them.

    Each pixel's spectrum is standardised by the scene's own band means and deviations,
    interpolated onto the canonical band grid (one affine map:
    :func:`~hadinfer.models.canonical_spectra.canonical_affine`) and passed through a small
    per-pixel network trained, without labels, so that RX on its output separates
    implanted anomalies from real backgrounds (``training/feature_learning.py``).  The
    network never sees a scene's statistics beyond that standardisation; the statistical
    detector on its features does, which is what carries it to sensors it never saw::

        score(p) = sqrt( fusion(spectra)(p) * fusion(features)(p) )

    Two statistics passes: the spectra's (mean, covariance), as every detector, and then
    the features' (:meth:`fit_features`), which :func:`hadinfer.pipeline.run_detector`
    runs because :attr:`feature_pass` is set.  Features are per pixel, so tiles stay
    independent and the map does not depend on the tiling.

    Parameters
    ----------
    model : str or path, optional
        A feature model file (``.npz``, :mod:`hadinfer.models.feature_model`); default
        the shipped one (``hadinfer/weights/MODEL_CARD.md``).
    windows : sequence of (int, int)
        Local windows of both fusions.
    n_components : int
        Global components of the spectra's fusion (the features' uses at most this many).
    regularization : float
    band_centres : sequence of float, optional
        Centre wavelengths of the scene's bands (distinct, in any order, any unit): each band
        then sits at its relative position by wavelength on the canonical grid instead of
        evenly spaced in file order.

    Attributes
    ----------
    feature_model_ : FeatureModel
    spectra_, features_ : FusionRX
        The fitted fusions.
    """

    name = "learned"
    tile_parallel = True
    #: :func:`hadinfer.pipeline.run_detector` runs a second statistics pass, over
    #: :meth:`features`, and gives it to :meth:`fit_features`.
    feature_pass = True

    def __init__(self, model=None, windows=DEFAULT_WINDOWS, n_components: int = DEFAULT_COMPONENTS,
                 regularization: float = 1e-3, band_centres=None):
        from ..models.feature_model import load_feature_model
        from ..weights import shipped_model

        self.model = str(model) if model is not None else None
        self.windows = windows
        self.n_components = n_components
        self.regularization = regularization
        self.band_centres = None if band_centres is None else [float(c) for c in band_centres]
        self._positions = None if band_centres is None else band_positions(self.band_centres)
        self.feature_model_ = load_feature_model(model if model is not None else shipped_model("learned"))
        self._spectra = FusionRX(windows, n_components, regularization)
        self._features = FusionRX(windows, min(n_components, self.feature_model_.features), regularization)

    @property
    def halo(self) -> int:
        return self._spectra.halo

    @property
    def feature_count(self) -> int:
        """Features per pixel (the bands of the second statistics pass)."""
        return self.feature_model_.features

    def fit(self, stats: BackgroundStats) -> "LearnedFeatureRX":
        """Fit the spectra's fusion and the canonical standardisation on the scene's statistics."""
        self.spectra_ = self._spectra.fit(stats)
        if stats.mean_.size < 2:
            raise ParameterError("learned: the canonical band grid needs at least 2 bands")
        self.affine_ = canonical_affine(stats.mean_, stats.covariance(), positions=self._positions)
        self.network_ = self.feature_model_.fused(*self.affine_)
        # Both fusions' ring statistics (the same bits either way; they score whole tiles) and
        # the network's GELUs (not the same bits; they run on the valid pixels): the GELUs'
        # choice depends on the scene's valid pixels alone, however its statistics were read.
        pairs = 2 * len(self.spectra_.windows)
        self.network_.compiled = compiled_pays(stats.count_ * pairs)
        self.compiled_ = self.spectra_.compiled_ = compiled_pays(stats.pixels_ * pairs, same_bits=True)
        self.features_ = None
        return self

    def features(self, cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The learned features of a window, (h, w, features) float32, 0 where invalid.

        The scene's standardisation is folded into the network's first layer
        (:meth:`~hadinfer.models.feature_model.FeatureModel.fused`), which runs in float32.
        """
        out = np.zeros(valid.shape + (self.feature_model_.features,), dtype=np.float32)
        spectra, mask, flat = cube.reshape(-1, cube.shape[-1]), valid.reshape(-1), out.reshape(-1, out.shape[-1])
        # A few thousand pixels at a time: the float32 copy of the spectra and the network's
        # temporaries stay in cache and never grow with the tile.
        for start in range(0, mask.size, _CHUNK_PIXELS):
            rows = slice(start, start + _CHUNK_PIXELS)
            keep = mask[rows]
            # float32 (what the network computes in) before any selection: a boolean index
            # of a window as rasterio reads it (band-major int16) took 3.4 ms a chunk, the
            # conversion 0.2; a chunk with every pixel valid is not indexed at all.
            pixels = np.asarray(spectra[rows], dtype=np.float32)
            if keep.all():
                flat[rows] = self.network_(pixels)
            elif keep.any():
                flat[rows][keep] = self.network_(pixels[keep])
        return out

    def fit_features(self, stats: BackgroundStats) -> "LearnedFeatureRX":
        """Fit the features' fusion on their statistics over the scene (the second pass)."""
        self.features_ = self._features.fit(stats)
        self.features_.compiled_ = self.compiled_
        return self

    def score(self, cube, valid, core=None, arrays=None, features=None):
        """Scores of the core; ``features``: the window's :meth:`features`, when already computed."""
        if getattr(self, "features_", None) is None:
            raise ParameterError("learned: fit_features (the second statistics pass) has not run")
        spectra = self.spectra_.score(cube, valid, core, arrays=arrays)
        if features is None:
            features = self.features(cube, valid)
        features = self.features_.score(features, valid, core, arrays=arrays)
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(np.maximum(spectra.astype(np.float64), _FLOOR)) + np.log(
                np.maximum(features.astype(np.float64), _FLOOR))
            out = np.exp(0.5 * logs).astype(np.float32)
        out[np.isnan(spectra) | np.isnan(features)] = np.nan
        return out

    def params(self) -> dict:
        return {"model": self.model or "shipped", "windows": [list(p) for p in self._spectra.windows],
                "n_components": self.n_components, "regularization": self.regularization,
                **({} if self.band_centres is None else {"band_centres": self.band_centres})}
