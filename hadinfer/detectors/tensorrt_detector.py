"""A serialized TensorRT engine as a detector.

UNVERIFIED: written against NVIDIA's documented TensorRT 10 Python API
(``Runtime.deserialize_cuda_engine``, ``IExecutionContext.set_input_shape`` /
``set_tensor_address`` / ``execute_async_v3``), with PyTorch CUDA tensors as device
buffers.  TensorRT cannot be installed where this project is tested.
"""

from __future__ import annotations

import json

from ..errors import DeviceUnavailableError, MissingDependencyError, ModelFileError
from ..models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION, check_model_path
from .network_base import NetworkDetector


class TensorRTDetector(NetworkDetector):
    """Score tiles with a TensorRT engine from ``hadinfer export --engine``.

    Parameters
    ----------
    path : str or PathLike
        The engine; its metadata is read from ``<path>.json``.

    Raises
    ------
    InputNotFoundError, MissingDependencyError, ModelFileError, DeviceUnavailableError
    """

    name = "tensorrt"

    def __init__(self, path):
        self.path = check_model_path(path)
        check_model_path(self.path + ".json")
        try:
            with open(self.path + ".json") as fh:
                meta = json.load(fh)
        except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
            raise ModelFileError(f"{self.path}.json: cannot read the engine's metadata "
                                 f"({' '.join(str(exc).split())})") from exc
        if not isinstance(meta, dict):
            raise ModelFileError(f"{self.path}.json: engine metadata is not a JSON object")
        if meta.get("hadinfer_format") != ONNX_FORMAT or meta.get("format_version") != str(ONNX_FORMAT_VERSION):
            raise ModelFileError(f"{self.path}: engine metadata is not a supported hadinfer format")
        try:
            import tensorrt as trt
        except ImportError as exc:
            raise MissingDependencyError("TensorRT engines need tensorrt: pip install 'hadinfer[tensorrt]' "
                                         "(unverified path)") from exc
        from ..backends.torch_backend import import_torch

        torch = import_torch()
        if not torch.cuda.is_available():
            raise DeviceUnavailableError("TensorRT engines need a CUDA GPU; none is available")
        self._torch, self._trt = torch, trt
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(open(self.path, "rb").read())
        if self._engine is None:
            raise ModelFileError(f"{self.path}: TensorRT cannot deserialize this engine (other TensorRT version "
                                 "or GPU?)")
        self._context = self._engine.create_execution_context()
        self.metadata = meta
        self.channels = int(meta["channels"])
        self.receptive_radius = int(meta["receptive_radius"])
        from ..models.input_policy import InputPolicy

        policy = meta.get("input_policy") or "{}"
        self.policy = InputPolicy.from_metadata(json.loads(policy) if isinstance(policy, str) else policy,
                                                self.channels, where=self.path)

    def _run(self, batch, device):
        if not device.startswith("cuda"):
            raise DeviceUnavailableError("TensorRT runs on CUDA only; use --device cuda")
        torch = self._torch
        inputs = torch.from_numpy(batch).to(device)
        outputs = torch.empty((batch.shape[0], 1) + batch.shape[2:], dtype=torch.float32, device=device)
        self._context.set_input_shape("input", tuple(inputs.shape))
        self._context.set_tensor_address("input", inputs.data_ptr())
        self._context.set_tensor_address("logits", outputs.data_ptr())
        stream = torch.cuda.current_stream(device)
        if not self._context.execute_async_v3(stream.cuda_stream):
            raise ModelFileError(f"{self.path}: TensorRT execution failed")
        stream.synchronize()
        return outputs[0, 0].cpu().numpy()

    def params(self) -> dict:
        return {"engine": self.path}
