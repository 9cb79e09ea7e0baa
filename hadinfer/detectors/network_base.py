"""What every neural detector shares: the per-scene input policy and the halo."""

from __future__ import annotations

import numpy as np

from .base import Detector
from .stats import BackgroundStats


class NetworkDetector(Detector):
    """Base of detectors that run a trained network (PyTorch, ONNX Runtime, TensorRT).

    Subclasses set ``channels`` and ``receptive_radius`` and implement :meth:`_run`.
    The score is ``softplus(logit) = -log(1 - p)``, the surprisal of "background" under the
    network's probability ``p``: monotone in the logit (same ranking, same AUC(D,F)), but
    background pixels sit near 0 instead of mid-range, which is what min–max normalised
    3-D ROC measures (AUC(F,tau), SNPR) reward.  NaN where invalid.
    """

    tile_parallel = False  # the runtimes already use every core
    channels: int
    receptive_radius: int

    @property
    def halo(self) -> int:
        """The network's receptive radius."""
        return self.receptive_radius

    def fit(self, stats: BackgroundStats) -> "NetworkDetector":
        """Whitening from the scene's own statistics (the input policy)."""
        from ..models.input_policy import fit_whitening

        self.mean_, self.projection_ = fit_whitening(stats)
        return self

    def score(self, cube, valid, core=None, backend=None):
        from ..models.input_policy import network_input

        height, width, bands = cube.shape
        z = network_input(cube.reshape(-1, bands), self.mean_, self.projection_, self.channels - 1)
        z = np.where(valid.reshape(-1, 1), z, 0.0).reshape(height, width, -1)
        batch = np.ascontiguousarray(z.transpose(2, 0, 1)[None], dtype=np.float32)
        logits = self._run(batch, backend.device if backend is not None else "cpu")
        if core is not None:
            logits, valid = logits[core], valid[core]
        out = np.logaddexp(0.0, np.asarray(logits, dtype=np.float64)).astype(np.float32)
        out[~valid] = np.nan
        return out

    def _run(self, batch: np.ndarray, device: str) -> np.ndarray:
        """(1, C, h, w) float32 input -> (h, w) logits on the host."""
        raise NotImplementedError
