"""A self-trained deep detector run through PyTorch (torch imported lazily)."""

from __future__ import annotations

import numpy as np

from ..backends.torch_backend import import_torch
from ..errors import DeviceUnavailableError
from .base import Detector
from .stats import BackgroundStats


class DeepDetector(Detector):
    """Score tiles with a trained :class:`~hadinfer.models.anomaly_fcn.AnomalyFCN`.

    The scene's own global statistics define the input (whitened principal components
    and a global-RX channel, :mod:`hadinfer.models.input_policy`), so one network serves
    any band count.  Scores are the network's logits (higher =
    more anomalous).

    Parameters
    ----------
    checkpoint : str or PathLike, optional
        A checkpoint file.  Give ``model`` and ``metadata`` instead to use a network in
        memory (e.g. straight after training).
    model : AnomalyFCN, optional
    metadata : dict, optional

    Attributes
    ----------
    mean_, projection_ : ndarray
        The scene's whitening, set by :meth:`fit`.
    """

    name = "deep"
    tile_parallel = False  # torch already uses every core

    def __init__(self, checkpoint=None, *, model=None, metadata=None):
        import_torch()
        if model is None:
            from ..models.checkpoint import load_checkpoint

            model, metadata = load_checkpoint(checkpoint)
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self._model = model.eval()
        self._metadata = metadata or {}
        self._devices = {}

    @property
    def halo(self) -> int:
        """The network's receptive radius."""
        return self._model.config.receptive_radius

    @property
    def metadata(self) -> dict:
        """Checkpoint metadata (input policy, provenance, training report)."""
        return self._metadata

    def fit(self, stats: BackgroundStats) -> "DeepDetector":
        from ..models.input_policy import fit_whitening

        self.mean_, self.projection_ = fit_whitening(stats)
        return self

    def _model_on(self, device: str):
        torch = import_torch()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DeviceUnavailableError(f"--device {device}: no CUDA GPU is available to PyTorch")
        if device not in self._devices:
            import copy

            self._devices[device] = copy.deepcopy(self._model).to(device)
        return self._devices[device]

    def score(self, cube, valid, core=None, backend=None):
        torch = import_torch()
        device = backend.device if backend is not None else "cpu"
        model = self._model_on(device)
        height, width, bands = cube.shape
        from ..models.input_policy import network_input

        z = network_input(cube.reshape(-1, bands), self.mean_, self.projection_, self._model.config.in_channels - 1)
        z = np.where(valid.reshape(-1, 1), z, 0.0).reshape(height, width, -1)
        tensor = torch.from_numpy(np.ascontiguousarray(z.transpose(2, 0, 1), dtype=np.float32))[None].to(device)
        with torch.inference_mode():
            logits = model(tensor)[0, 0].float().cpu().numpy()
        if core is not None:
            logits, valid = logits[core], valid[core]
        out = logits.astype(np.float32)
        out[~valid] = np.nan
        return out

    def params(self) -> dict:
        return {"checkpoint": self.checkpoint, "network": self._model.config.to_dict()}
