"""One place that turns a model file into a detector: the backend registry."""

from __future__ import annotations

import os

from ..errors import ModelFileError, ParameterError
from ..models.metadata import check_model_path

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
    InputNotFoundError
        Nothing at ``path``.
    ModelFileError
        ``path`` is a folder or unreadable, or the backend finds the file malformed (each
        backend validates the whole file when it opens it).
    ParameterError, MissingDependencyError
    """
    if backend != "auto" and backend not in BACKENDS:
        raise ParameterError(f"backend: expected auto, {', '.join(BACKENDS)}, got {backend!r}")
    path = check_model_path(path)  # a folder is a one-line error, not an IsADirectoryError from open()
    try:
        name = sniff_backend(path) if backend == "auto" else backend
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    module, cls = BACKENDS[name].split(":")
    import importlib

    return getattr(importlib.import_module(module), cls)(path)
