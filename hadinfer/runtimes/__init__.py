"""Model runtimes: PyTorch, ONNX Runtime and TensorRT behind one protocol (:class:`ModelRuntime`).

A runtime is chosen once, from the model file's own bytes (or by name), never from its
suffix or from a file beside it; each runtime validates the whole file when it opens it.
It is then bound to one device (:meth:`ModelRuntime.bind`, or ``open_runtime(path,
device=...)``), resolved once; ``run(batch)`` runs there and takes no device.
"""

from __future__ import annotations

import importlib

from ..errors import ModelFileError, ParameterError
from ..models.feature_model import is_feature_model_file
from ..models.metadata import check_model_path
from .base import ModelRuntime, ShapeProfile
from .engine_file import is_engine

__all__ = ["RUNTIMES", "ModelRuntime", "ShapeProfile", "open_runtime", "sniff_runtime"]

#: runtime name -> "module:class" (imported only when chosen)
RUNTIMES = {
    "torch": "hadinfer.runtimes.torch_runtime:TorchRuntime",
    "onnxruntime": "hadinfer.runtimes.onnx_runtime:OnnxRuntime",
    "tensorrt": "hadinfer.runtimes.tensorrt_runtime:TensorRTRuntime",
}

_ZIP = b"PK\x03\x04"  # torch.save's container, and NumPy's .npz
#: First bytes of files users pass as a model by mistake: GeoTIFF/TIFF (classic and
#: BigTIFF, both byte orders), MATLAB v5 and HDF5 (MATLAB v7.3, netCDF-4).
_SCENE_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"MATLAB", b"\x89HDF\r\n\x1a\n")


def sniff_runtime(path: str) -> str:
    """The runtime for a file, from its first bytes: a torch zip, a hadinfer engine, else ONNX.

    Raises
    ------
    ModelFileError
        The file cannot be read, or it is plainly not a network: a ``learned`` feature
        model (``.npz``) or a scene (TIFF, MATLAB, HDF5), named as such in one line.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if head.startswith(_ZIP):
        if is_feature_model_file(path):
            raise ModelFileError(f"{path}: a feature model of the learned detector, not a network; run it with "
                                 f"--detector learned --feature-model {path} (Python: detector='learned', model=...)")
        return "torch"
    if head.startswith(_SCENE_SIGNATURES):
        raise ModelFileError(f"{path}: a raster or MATLAB file, not a model (a checkpoint, ONNX model or "
                             "TensorRT engine)")
    if is_engine(head):
        return "tensorrt"
    return "onnxruntime"


def open_runtime(path, runtime: str = "auto", device: str | None = None) -> ModelRuntime:
    """Open a model file with a runtime, bound to a device if one is given.

    Parameters
    ----------
    path : str or PathLike
        A checkpoint (``hadinfer train``), ONNX model or engine file (``hadinfer export``).
    runtime : {"auto", "torch", "onnxruntime", "tensorrt"}
        ``auto``: by the file's content.
    device : {"auto", "cpu", "cuda", "cuda:N"}, optional
        Bind the runtime to this device (:meth:`ModelRuntime.bind`); ``None``: open and
        validate only, and bind later.

    Raises
    ------
    InputNotFoundError
        Nothing at ``path``.
    ParameterError
        Unknown runtime name.
    ModelFileError
        A folder, an unreadable or malformed file.
    MissingDependencyError
        The runtime is not installed (the message names the extra).
    DeviceUnavailableError
        The runtime cannot use ``device``.
    """
    if runtime != "auto" and runtime not in RUNTIMES:
        raise ParameterError(f"runtime: expected auto, {', '.join(RUNTIMES)}, got {runtime!r}")
    path = check_model_path(path)  # a folder is a one-line error, not an IsADirectoryError from open()
    name = sniff_runtime(path) if runtime == "auto" else runtime
    module, cls = RUNTIMES[name].split(":")
    opened = getattr(importlib.import_module(module), cls).open(path)
    return opened if device is None else opened.bind(device)
