"""What every neural detector shares: the per-scene input policy and the halo."""

from __future__ import annotations

import numpy as np

from .base import Detector
from .stats import BackgroundStats


class NetworkDetector(Detector):
    """Base of detectors that run a trained network (PyTorch, ONNX Runtime, TensorRT).

    Subclasses set ``channels``, ``receptive_radius`` and ``policy`` (an
    :class:`~hadinfer.models.input_policy.InputPolicy` read from the model's metadata) and
    implement :meth:`_run`.  The score is ``softplus(logit) = -log(1 - p)``, the surprisal
    of "background" under the network's probability ``p``: monotone in the logit (same
    ranking, same AUC(D,F)), but background pixels sit near 0 instead of mid-range, which
    is what min–max normalised 3-D ROC measures (AUC(F,tau), SNPR) reward.  NaN where
    invalid.
    """

    tile_parallel = False  # the runtimes already use every core
    channels: int
    receptive_radius: int
    policy = None

    def _policy(self):
        from ..models.input_policy import InputPolicy

        return self.policy if self.policy is not None else InputPolicy(self.channels - 1)

    @property
    def halo(self) -> int:
        """The network's receptive radius plus what its local evidence channels need."""
        return self.receptive_radius + self._policy().halo

    def fit(self, stats: BackgroundStats) -> "NetworkDetector":
        """Whitening (and local evidence) from the scene's own statistics (the input policy)."""
        self.inputs_ = self._policy().fit(stats)
        return self

    def score(self, cube, valid, core=None, backend=None):
        height, width = cube.shape[:2]
        rows, cols = core if core is not None else (slice(0, height), slice(0, width))
        # The network needs its receptive radius around the core; the evidence channels
        # need their own halo around that, which the rest of the read window provides.
        r = self.receptive_radius
        region = (slice(max(0, rows.start - r), min(height, rows.stop + r)),
                  slice(max(0, cols.start - r), min(width, cols.stop + r)))
        features = self.inputs_.features(cube, valid, region)
        batch = np.ascontiguousarray(features.transpose(2, 0, 1)[None], dtype=np.float32)
        logits = self._run(batch, backend.device if backend is not None else "cpu")
        inner = (slice(rows.start - region[0].start, rows.stop - region[0].start),
                 slice(cols.start - region[1].start, cols.stop - region[1].start))
        logits, core_valid = logits[inner], valid[rows, cols]
        out = np.logaddexp(0.0, np.asarray(logits, dtype=np.float64)).astype(np.float32)
        out[~core_valid] = np.nan
        return out

    def _run(self, batch: np.ndarray, device: str) -> np.ndarray:
        """(1, C, h, w) float32 input -> (h, w) logits on the host."""
        raise NotImplementedError
