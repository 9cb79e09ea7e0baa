"""Array backends for the RX kernels, chosen once through a registry."""

from __future__ import annotations

import importlib.util
import os

from ..errors import ParameterError
from .base import ArrayBackend
from .numpy_backend import NumpyBackend

__all__ = ["ArrayBackend", "available_devices", "get_backend", "resolve_device"]


def _nvidia_driver_present() -> bool:
    # Cheap test first: importing torch costs seconds and hundreds of MB, which a
    # machine without an NVIDIA driver should never pay just to learn it has no GPU.
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidia0")


def _torch_cuda_available() -> bool:
    if not _nvidia_driver_present() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(device: str = "auto") -> str:
    """Turn ``"auto"`` into ``"cuda"`` when PyTorch sees a GPU, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if _torch_cuda_available() else "cpu"
    return device


def get_backend(device: str = "auto", library: str | None = None) -> ArrayBackend:
    """Return the backend for a device.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``auto`` picks CUDA when PyTorch sees a GPU.  An explicit ``cuda`` that cannot
        be honoured raises; it never falls back to the CPU silently.
    library : {"numpy", "torch"}, optional
        Force a library (``torch`` on ``cpu`` is useful for parity tests).  Default:
        NumPy on the CPU, PyTorch on CUDA.

    Raises
    ------
    ParameterError
        Unknown device or library.
    DeviceUnavailableError, MissingDependencyError
        CUDA asked for but not usable.
    """
    device = resolve_device(device)
    if device != "cpu" and not device.startswith("cuda"):
        raise ParameterError(f"device: expected auto, cpu or cuda[:N], got {device!r}")
    library = library or ("numpy" if device == "cpu" else "torch")
    if library == "numpy":
        if device != "cpu":
            raise ParameterError("the numpy backend runs on the CPU only")
        return NumpyBackend()
    if library == "torch":
        from .torch_backend import TorchBackend

        return TorchBackend(device)
    raise ParameterError(f"library: expected numpy or torch, got {library!r}")


def available_devices() -> list[str]:
    """Devices usable right now, for reports and ``--help``."""
    return ["cpu", "cuda"] if _torch_cuda_available() else ["cpu"]
