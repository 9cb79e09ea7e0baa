"""PyTorch on CPU or CUDA: the same kernels on a GPU. torch is imported lazily."""

from __future__ import annotations

import logging

import numpy as np

from ..errors import DeviceUnavailableError, MissingDependencyError
from .library import ArrayLibrary

log = logging.getLogger(__name__)


def import_torch():
    """Import torch or raise an error naming the extra to install."""
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("this needs PyTorch: pip install 'hadinfer[torch]' "
                                     "(or 'hadinfer[train]' for training)") from exc
    return torch


def torch_device(torch, device: str):
    """A ``torch.device`` for ``cpu``, ``cuda`` or ``cuda:N``, checked against the GPUs torch sees.

    Raises
    ------
    DeviceUnavailableError
        CUDA asked for and torch sees no GPU, or ``cuda:N`` beyond the GPUs it sees.
    """
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(f"--device {device}: no CUDA GPU is available to PyTorch")
        index = torch.device(device).index
        if index is not None and index >= torch.cuda.device_count():
            raise DeviceUnavailableError(f"--device {device}: PyTorch sees {torch.cuda.device_count()} GPU(s)")
    return torch.device(device)


class TorchArrays(ArrayLibrary):
    """Arrays are torch tensors on ``device`` (float64 unless a kernel asks for float32).

    Host tiles are copied in their own dtype from pinned memory without blocking, then
    converted on the device: an int16 tile moves a quarter of the bytes of a float64 one.

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

    moments_on_device = True

    def __init__(self, device: str = "cuda"):
        torch = import_torch()
        self._torch = torch
        self._device = torch_device(torch, device)
        self.device = str(self._device)
        self.bytes_to_device = 0
        if self._device.type == "cuda" and torch.backends.cuda.matmul.allow_tf32:
            # A process-wide switch (torch.set_float32_matmul_precision) that is not ours to
            # turn off behind the caller's back; TF32 keeps 10 bits of a float32 product's
            # inputs, so whitened RX scores would move by about 1e-3.
            log.warning("PyTorch allows TF32 matrix products (torch.set_float32_matmul_precision); "
                        "float32 RX products on %s lose precision: set it to 'highest' for exact maps", self.device)

    def asarray(self, array, dtype=np.float64):
        torch = self._torch
        host = torch.from_numpy(np.ascontiguousarray(array))
        self.bytes_to_device += host.numel() * host.element_size()  # what a GPU would receive
        if self._device.type == "cuda":
            # Pinned memory makes the copy asynchronous; the conversion runs on the GPU.
            host = host.pin_memory().to(self._device, non_blocking=True)
        return host.to(torch.float32 if np.dtype(dtype) == np.float32 else torch.float64)

    def window_moments(self, cube: np.ndarray, valid: np.ndarray):
        """Count, mean and scatter of a window's valid spectra, computed on the device in float64.

        Parameters
        ----------
        cube : ndarray, shape (h, w, bands)
            In the storage dtype (it travels as such, see :meth:`asarray`).
        valid : ndarray of bool, shape (h, w)

        Returns
        -------
        (int, ndarray of float64 (bands,), ndarray of float64 (bands, bands))
            On the host, ready for :meth:`BackgroundStats.merge_moments`.
        """
        torch = self._torch
        x = self.asarray(cube.reshape(-1, cube.shape[2]))
        if not valid.all():
            x = x[torch.from_numpy(np.ascontiguousarray(valid.reshape(-1))).to(self._device)]
        count = int(x.shape[0])
        if count == 0:
            return 0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
        mean = x.mean(dim=0)
        centred = x - mean
        return count, self.to_numpy(mean), self.to_numpy(centred.T @ centred)

    def to_numpy(self, array):
        return array.detach().cpu().numpy()

    def single(self, array):
        return array.float()

    def double(self, array):
        return array.double()

    def contiguous(self, array):
        return array.contiguous()

    def sqrt(self, array):
        return self._torch.sqrt(array)

    def zeros(self, shape, integer=False):
        dtype = self._torch.int64 if integer else self._torch.float64
        return self._torch.zeros(shape, dtype=dtype, device=self._device)

    def to_fixed(self, values, out, scale, limit):
        out.copy_(self._torch.round(values * scale).clamp_(-limit, limit))  # integers: the cast is exact

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
