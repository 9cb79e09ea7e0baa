"""PyTorch on CPU or CUDA: the same kernels on a GPU. torch is imported lazily."""

from __future__ import annotations

import numpy as np

from ..errors import DeviceUnavailableError, MissingDependencyError
from .base import ArrayBackend


def import_torch():
    """Import torch or raise an error naming the extra to install."""
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("this needs PyTorch: pip install 'hadinfer[torch]' "
                                     "(or 'hadinfer[train]' for training)") from exc
    return torch


class TorchBackend(ArrayBackend):
    """Arrays are float64 torch tensors on ``device``.

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    MissingDependencyError
        If torch is not installed.
    DeviceUnavailableError
        If a CUDA device was asked for and torch sees none.
    """

    name = "torch"

    def __init__(self, device: str = "cuda"):
        torch = import_torch()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise DeviceUnavailableError(f"--device {device}: no CUDA GPU is available to PyTorch")
        self._torch = torch
        self._device = torch.device(device)
        self.device = str(self._device)

    def asarray(self, array):
        return self._torch.as_tensor(np.ascontiguousarray(array, dtype=np.float64)).to(self._device)

    def to_numpy(self, array):
        return array.detach().cpu().numpy()

    def single(self, array):
        return array.float()

    def contiguous(self, array):
        return array.contiguous()

    def sqrt(self, array):
        return self._torch.sqrt(array)

    def zeros(self, shape):
        return self._torch.zeros(shape, dtype=self._torch.float64, device=self._device)

    def integral_image(self, array):
        return array.cumsum(dim=0).cumsum(dim=1)

    def solve(self, matrices, vectors):
        return self._torch.linalg.solve(matrices, vectors.unsqueeze(-1)).squeeze(-1)

    def sum(self, array, axis):
        return array.sum(dim=axis)

    def where(self, condition, a, b):
        return self._torch.where(condition, a, self._torch.as_tensor(b, dtype=a.dtype, device=a.device))

    def synchronize(self):
        if self._device.type == "cuda":
            self._torch.cuda.synchronize(self._device)
