"""A trained network exported to ONNX, run with ONNX Runtime (imported lazily)."""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import DeviceUnavailableError, InputNotFoundError, MissingDependencyError, ModelFileError
from ..models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION
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
        The ``.onnx`` file; its metadata (format version, input policy, receptive field)
        is checked when it is opened.

    Raises
    ------
    InputNotFoundError, ModelFileError, MissingDependencyError
    """

    name = "onnx"

    def __init__(self, path):
        self.path = str(path)
        if not os.path.exists(self.path):
            raise InputNotFoundError(f"{self.path}: no such file")
        self._ort = _import_ort()
        self._sessions = {}
        meta = self._session("cpu").get_modelmeta().custom_metadata_map
        if meta.get("hadinfer_format") != ONNX_FORMAT:
            raise ModelFileError(f"{self.path}: not a hadinfer ONNX model (no hadinfer metadata)")
        if meta.get("format_version") != str(ONNX_FORMAT_VERSION):
            raise ModelFileError(f"{self.path}: model format {meta.get('format_version')} is not supported "
                                 f"(this hadinfer reads {ONNX_FORMAT_VERSION})")
        self.metadata = {k: (json.loads(v) if k in ("input_policy", "network", "provenance") else v)
                         for k, v in meta.items()}
        self.channels = int(meta["channels"])
        self.receptive_radius = int(meta["receptive_radius"])
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
                raise ModelFileError(f"{self.path}: ONNX Runtime cannot load it ({str(exc).splitlines()[0]})") \
                    from exc
            if session.get_providers()[0] != PROVIDERS[kind][0]:
                # onnxruntime-gpu falls back to the CPU silently when CUDA cannot load.
                raise DeviceUnavailableError(f"--device {device}: ONNX Runtime could not use "
                                             f"{PROVIDERS[kind][0]} (it offers {session.get_providers()})")
            self._sessions[device] = session
        return self._sessions[device]

    def _run(self, batch, device):
        return self._session(device).run(["logits"], {"input": batch})[0][0, 0]

    def params(self) -> dict:
        return {"model": self.path, "precision": self.metadata.get("precision")}
