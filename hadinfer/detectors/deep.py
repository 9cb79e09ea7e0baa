"""A self-trained deep detector run through PyTorch (torch imported lazily)."""

from __future__ import annotations

import copy

from ..backends.torch_backend import import_torch
from ..errors import DeviceUnavailableError
from .network_base import NetworkDetector


class DeepDetector(NetworkDetector):
    """Score tiles with a trained :class:`~hadinfer.models.anomaly_fcn.AnomalyFCN` in PyTorch.

    The scene's own global statistics define the input (whitened principal components
    and a global-RX channel, :mod:`hadinfer.models.input_policy`), so one network serves
    any band count.

    Parameters
    ----------
    checkpoint : str or PathLike, optional
        A checkpoint file.  Give ``model`` (and optionally ``metadata``) instead to use a
        network in memory, e.g. straight after training.
    model : AnomalyFCN, optional
    metadata : dict, optional
    """

    name = "deep"

    def __init__(self, checkpoint=None, *, model=None, metadata=None):
        import_torch()
        if model is None:
            from ..models.checkpoint import load_checkpoint

            model, metadata = load_checkpoint(checkpoint)
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self._model = model.eval()
        self._metadata = metadata or {}
        self._devices = {}
        self.channels = model.config.in_channels
        self.receptive_radius = model.config.receptive_radius
        from ..models.input_policy import InputPolicy

        stored = self._metadata.get("input")
        self.policy = (InputPolicy.from_metadata(stored, self.channels, where=self.checkpoint or "model")
                       if stored else InputPolicy(self.channels - 1))

    @property
    def metadata(self) -> dict:
        """Checkpoint metadata (input policy, provenance, training report)."""
        return self._metadata

    def _run(self, batch, device):
        torch = import_torch()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DeviceUnavailableError(f"--device {device}: no CUDA GPU is available to PyTorch")
        if device not in self._devices:
            self._devices[device] = copy.deepcopy(self._model).to(device)
        with torch.inference_mode():
            return self._devices[device](torch.from_numpy(batch).to(device))[0, 0].float().cpu().numpy()

    def params(self) -> dict:
        return {"checkpoint": self.checkpoint, "network": self._model.config.to_dict()}
