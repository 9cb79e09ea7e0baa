"""Array libraries for the classical RX kernels (NumPy, PyTorch), chosen once by device.

A *model runtime* (:mod:`hadinfer.runtimes`) runs a trained network; an *array library*
runs the classical kernels.  Each word means one thing.
"""

from __future__ import annotations

import importlib.util
import os

from ..errors import ParameterError
from .library import ArrayLibrary
from .numpy_arrays import NumpyArrays

__all__ = ["ArrayLibrary", "NumpyArrays", "array_library", "check_device", "nvidia_driver_present",
           "torch_sees_cuda"]


def nvidia_driver_present() -> bool:
    """Whether this machine has an NVIDIA driver, without importing any GPU library.

    Importing torch costs seconds and hundreds of MB, which a machine without a driver
    should never pay just to learn it has no GPU.
    """
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidia0")


def torch_sees_cuda() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU."""
    if not nvidia_driver_present() or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def check_device(device: str) -> str:
    """Refuse a device string other than ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises
    ------
    ParameterError
    """
    text = str(device)
    if text in ("auto", "cpu", "cuda"):
        return text
    if text.startswith("cuda:") and text[5:].isdigit():
        return text
    raise ParameterError(f"device: expected auto, cpu, cuda or cuda:N, got {device!r}")


def array_library(device: str = "auto", library: str | None = None) -> ArrayLibrary:
    """The array library for a device.

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
    device = check_device(device)
    if device == "auto":
        device = "cuda" if torch_sees_cuda() else "cpu"
    library = library or ("numpy" if device == "cpu" else "torch")
    if library == "numpy":
        if device != "cpu":
            raise ParameterError("the numpy array library runs on the CPU only")
        return NumpyArrays()
    if library == "torch":
        from .torch_arrays import TorchArrays

        return TorchArrays(device)
    raise ParameterError(f"library: expected numpy or torch, got {library!r}")
