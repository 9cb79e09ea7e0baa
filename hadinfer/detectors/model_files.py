"""One place that turns a model file into a detector: the backend registry."""

from __future__ import annotations

import os

from ..errors import InputNotFoundError, ParameterError

#: backend name -> "module:class" (imported only when chosen)
BACKENDS = {
    "torch": "hadinfer.detectors.deep:DeepDetector",
    "ort": "hadinfer.detectors.onnx_detector:OnnxDetector",
    "trt": "hadinfer.detectors.tensorrt_detector:TensorRTDetector",
}

_ZIP = b"PK\x03\x04"  # torch.save's container


def sniff_backend(path: str) -> str:
    """Pick the backend from the file's content: a torch zip, an engine with JSON metadata, else ONNX."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == _ZIP:
        return "torch"
    if os.path.exists(path + ".json"):
        return "trt"
    return "ort"


def open_model(path, backend: str = "auto"):
    """A detector for a model file.

    Parameters
    ----------
    path : str or PathLike
        A checkpoint (``hadinfer train``), ONNX model or TensorRT engine (``hadinfer export``).
    backend : {"auto", "torch", "ort", "trt"}

    Raises
    ------
    InputNotFoundError, ParameterError, ModelFileError, MissingDependencyError
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file")
    name = sniff_backend(path) if backend == "auto" else backend
    if name not in BACKENDS:
        raise ParameterError(f"backend: expected auto, {', '.join(BACKENDS)}, got {backend!r}")
    module, cls = BACKENDS[name].split(":")
    import importlib

    return getattr(importlib.import_module(module), cls)(path)
