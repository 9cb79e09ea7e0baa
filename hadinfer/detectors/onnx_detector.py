"""A trained network exported to ONNX, run with ONNX Runtime (imported lazily)."""

from __future__ import annotations

import json

import numpy as np

from ..errors import DeviceUnavailableError, MissingDependencyError, ModelFileError
from ..models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION, check_model_path
from .network_base import NetworkDetector

#: Execution providers asked for, per device; the session must really use the first.
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _import_ort():
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError("ONNX models need onnxruntime: pip install 'hadinfer[onnx]' "
                                     "(or 'hadinfer[onnx-gpu]' for CUDA)") from exc
    return onnxruntime


class OnnxDetector(NetworkDetector):
    """Score tiles with an ONNX model from ``hadinfer export``.

    Parameters
    ----------
    path : str or PathLike
        The ``.onnx`` file.  Everything is checked when it is opened, before any pixel
        is read: its metadata (format version, channels, input policy, receptive field)
        and its graph (a float32 input ``input`` of rank 4 whose channel dimension is the
        metadata's ``channels``, an output ``logits`` of rank 4 with one channel).

    Raises
    ------
    InputNotFoundError
        Nothing at ``path``.
    ModelFileError
        A folder, a file ONNX Runtime cannot load, or a model whose metadata or graph
        does not fit (one line naming the file and the problem).
    MissingDependencyError
        onnxruntime is not installed.
    """

    name = "onnx"

    def __init__(self, path):
        self.path = check_model_path(path)
        self._ort = _import_ort()
        self._sessions = {}
        session = self._session("cpu")
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get("hadinfer_format") != ONNX_FORMAT:
            raise ModelFileError(f"{self.path}: not a hadinfer ONNX model (no hadinfer metadata)")
        if meta.get("format_version") != str(ONNX_FORMAT_VERSION):
            raise ModelFileError(f"{self.path}: model format {meta.get('format_version')} is not supported "
                                 f"(this hadinfer reads {ONNX_FORMAT_VERSION})")
        try:
            self.metadata = {k: (json.loads(v) if k in ("input_policy", "network", "provenance") else v)
                             for k, v in meta.items()}
            self.channels = int(meta["channels"])
            self.receptive_radius = int(meta["receptive_radius"])
        except KeyError as exc:
            raise ModelFileError(f"{self.path}: hadinfer metadata lacks {exc.args[0]!r}") from exc
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            raise ModelFileError(f"{self.path}: malformed hadinfer metadata ({_one_line(exc)})") from exc
        if self.channels < 1 or self.receptive_radius < 0:
            raise ModelFileError(f"{self.path}: metadata gives {self.channels} channels and receptive radius "
                                 f"{self.receptive_radius}")
        _check_graph(session, self.channels, self.path)
        from ..models.input_policy import InputPolicy

        self.policy = InputPolicy.from_metadata(self.metadata.get("input_policy") or {}, self.channels, where=self.path)

    def _session(self, device: str):
        if device not in self._sessions:
            kind = "cpu" if device == "cpu" else "cuda"
            options = self._ort.SessionOptions()
            options.log_severity_level = 3
            try:
                session = self._ort.InferenceSession(self.path, options, providers=PROVIDERS[kind])
            except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
                raise ModelFileError(f"{self.path}: ONNX Runtime cannot load it ({_one_line(exc)})") from exc
            if session.get_providers()[0] != PROVIDERS[kind][0]:
                # onnxruntime-gpu falls back to the CPU silently when CUDA cannot load.
                raise DeviceUnavailableError(f"--device {device}: ONNX Runtime could not use "
                                             f"{PROVIDERS[kind][0]} (it offers {session.get_providers()})")
            self._sessions[device] = session
        return self._sessions[device]

    def _run(self, batch, device):
        session = self._session(device)
        try:
            return session.run(["logits"], {"input": batch})[0][0, 0]
        except Exception as exc:  # ORT's own Fail/InvalidArgument/...: what the checks at open cannot see
            raise ModelFileError(f"{self.path}: ONNX Runtime failed on a {batch.shape} batch ({_one_line(exc)})") \
                from exc

    def params(self) -> dict:
        return {"model": self.path, "precision": self.metadata.get("precision")}


def _one_line(exc: BaseException) -> str:
    """An ONNX Runtime message on one line, whole: its later lines often hold the actual reason."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_graph(session, channels: int, path: str) -> None:
    """Refuse a graph the runtime could not feed, before any statistics pass.

    The runtime feeds ``input`` a float32 (batch, channels, rows, cols) array and reads
    channel 0 of ``logits``; a dimension the graph leaves symbolic is accepted.

    Raises
    ------
    ModelFileError
    """
    inputs = {arg.name: arg for arg in session.get_inputs()}
    outputs = {arg.name: arg for arg in session.get_outputs()}
    if "input" not in inputs:
        raise ModelFileError(f"{path}: the graph has no input named 'input' (its inputs: {', '.join(inputs)})")
    if "logits" not in outputs:
        raise ModelFileError(f"{path}: the graph has no output named 'logits' (its outputs: {', '.join(outputs)})")
    if len(inputs) > 1:
        raise ModelFileError(f"{path}: the graph has {len(inputs)} inputs ({', '.join(inputs)}); hadinfer feeds "
                             "only 'input'")
    arg = inputs["input"]
    if arg.type != "tensor(float)":
        raise ModelFileError(f"{path}: input 'input' is {arg.type}, expected tensor(float) (float32)")
    shape = arg.shape
    if shape is None or len(shape) != 4:
        raise ModelFileError(f"{path}: input 'input' has rank {len(shape or [])} (shape {_dims(shape)}), expected "
                             f"4: (batch, {channels} channels, rows, cols)")
    if isinstance(shape[1], int) and shape[1] != channels:
        raise ModelFileError(f"{path}: input 'input' has {shape[1]} channels (shape {_dims(shape)}), but its "
                             f"metadata says {channels}")
    arg = outputs["logits"]
    if arg.type not in ("tensor(float)", "tensor(float16)", "tensor(double)"):
        raise ModelFileError(f"{path}: output 'logits' is {arg.type}, expected a floating-point tensor")
    shape = arg.shape
    if shape is not None and len(shape) != 4:
        raise ModelFileError(f"{path}: output 'logits' has rank {len(shape)} (shape {_dims(shape)}), expected 4: "
                             "(batch, 1, rows, cols)")
    if shape is not None and isinstance(shape[1], int) and shape[1] != 1:
        raise ModelFileError(f"{path}: output 'logits' has {shape[1]} channels (shape {_dims(shape)}), expected 1")


def _dims(shape) -> str:
    """``(batch, 17, height, width)``: symbolic dimensions by name, unknown ones as ``?``."""
    return "(" + ", ".join("?" if d is None else str(d) for d in (shape or [])) + ")"
