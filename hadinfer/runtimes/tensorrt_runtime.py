"""TensorRT: a hadinfer engine file (``hadinfer export --engine``) on one CUDA GPU.

NOT RUN ON A GPU: written against NVIDIA's documented TensorRT 10 Python API
(``Runtime.deserialize_cuda_engine``, ``ICudaEngine.get_tensor_profile_shape``,
``IExecutionContext.set_input_shape`` (returns a bool), ``set_tensor_address``,
``execute_async_v3`` (returns a bool)), and verified only by contract tests against a
fake ``tensorrt`` module that enforces those documented behaviours
(``tests/runtimes/fake_tensorrt.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..errors import MissingDependencyError, ModelFileError, ParameterError
from ..models.metadata import check_model_path
from .base import ModelRuntime, ShapeProfile, check_metadata
from .engine_file import read_engine_file


def import_tensorrt():
    """Import tensorrt or raise an error naming the extra."""
    try:
        import tensorrt
    except ImportError as exc:
        raise MissingDependencyError("TensorRT engines need tensorrt: pip install 'hadinfer[tensorrt]' on a machine "
                                     "with an NVIDIA GPU (not yet run on a GPU, see README)") from exc
    return tensorrt


@dataclass
class _DeviceState:
    """The bound device's engine, context, stream and reusable buffers."""

    engine: object
    context: object
    stream: object
    stream_handle: int
    buffers: dict = field(default_factory=dict)  # name -> (buffer, capacity in values)


class TensorRTRuntime(ModelRuntime):
    """Run a hadinfer engine file with TensorRT.

    Inputs must lie inside the engine's optimisation profile (:attr:`profile`, read from
    the engine itself); the pipeline plans its tiles so they do
    (:meth:`hadinfer.detectors.network.NetworkDetector.tile_limits`), and :meth:`run`
    refuses anything else with a message naming the sizes, before TensorRT sees it.
    Binding to ``cuda:N`` deserialises the engine on GPU N and checks its profile, once;
    buffers are allocated by the bound runtime and grown only when a larger input
    arrives; work runs on a stream of its own.

    Parameters
    ----------
    path : str
    metadata : dict
    engine_bytes : bytes
    trt : module
        ``tensorrt``.
    memory : TorchCudaMemory or compatible
        Device allocation and copies (see :mod:`hadinfer.runtimes.device_memory`).
    """

    name = "tensorrt"
    extra = "tensorrt"

    def __init__(self, path, metadata, engine_bytes, trt, memory):
        self.path, self.metadata, self._trt, self._memory = path, metadata, trt, memory
        self._engine_bytes = engine_bytes
        self._state: _DeviceState | None = None  # set by _bind
        self.profile = ShapeProfile(min_side=int(metadata.get("min_tile", 1)),
                                    max_side=int(metadata["max_tile"]) if "max_tile" in metadata else None,
                                    max_batch=int(metadata["max_batch"]) if "max_batch" in metadata else None)

    @classmethod
    def open(cls, path, *, memory=None) -> "TensorRTRuntime":
        path = check_model_path(path)
        raw, engine_bytes = read_engine_file(path)
        metadata = check_metadata(raw, path)
        trt = import_tensorrt()
        if memory is None:
            from .device_memory import TorchCudaMemory

            memory = TorchCudaMemory()
        return cls(path, metadata, engine_bytes, trt, memory)

    def devices(self) -> list[str]:
        return [f"cuda:{i}" for i in range(self._memory.device_count())]

    def unavailable_reason(self, device: str) -> str:
        if device == "cpu":
            return "TensorRT engines run on a CUDA GPU only; use the ONNX model for the CPU"
        return f"TensorRT sees {self._memory.device_count()} GPU(s)"

    def _bind(self, device: str) -> "TensorRTRuntime":
        with self._memory.on(device):  # the engine binds to the current device
            runtime = self._trt.Runtime(self._trt.Logger(self._trt.Logger.WARNING))
            engine = runtime.deserialize_cuda_engine(self._engine_bytes)
            if engine is None:
                raise ModelFileError(f"{self.path}: TensorRT cannot deserialize this engine (built by another "
                                     "TensorRT version or for another GPU?)")
            self._check_profile(engine)
            context = engine.create_execution_context()
            stream, handle = self._memory.new_stream(device)
        bound = copy.copy(self)
        bound.device = device
        bound._state = _DeviceState(engine, context, stream, handle)
        return bound

    def _check_profile(self, engine) -> None:
        """The engine's own profile must be the one its metadata promises the pipeline."""
        low, _, high = (tuple(s) for s in engine.get_tensor_profile_shape("input", 0))
        real = ShapeProfile(min_side=max(low[2], low[3]), max_side=min(high[2], high[3]), max_batch=high[0])
        if real != self.profile or low[0] != 1:
            raise ModelFileError(f"{self.path}: the engine's profile {low}..{high} differs from its metadata "
                                 f"({self.profile})")

    def _buffer(self, name: str, count: int):
        buffer, capacity = self._state.buffers.get(name, (None, 0))
        if capacity < count:  # grow by at least 2x, never shrink: edge tiles and steady state allocate nothing
            capacity = max(count, 2 * capacity)
            buffer = self._memory.empty(capacity, self.device)
            self._state.buffers[name] = (buffer, capacity)
        return buffer

    def run(self, batch):
        self._check_bound()
        n, channels, rows, cols = batch.shape
        if not self.profile.admits(rows, cols, n):
            raise ParameterError(f"{self.path}: a {n}x{rows}x{cols} input lies outside the engine's profile "
                                 f"({self.profile.min_side}..{self.profile.max_side} px a side, batch "
                                 f"<= {self.profile.max_batch}); the tile planner should have prevented this")
        state = self._state
        with self._memory.on(self.device):
            if not state.context.set_input_shape("input", (n, channels, rows, cols)):
                raise ModelFileError(f"{self.path}: TensorRT refused input shape {(n, channels, rows, cols)}")
            inputs = self._buffer("input", batch.size)
            outputs = self._buffer("logits", n * rows * cols)
            keep = self._memory.upload(batch, inputs, state.stream)
            state.context.set_tensor_address("input", self._memory.address(inputs))
            state.context.set_tensor_address("logits", self._memory.address(outputs))
            if not state.context.execute_async_v3(state.stream_handle):
                raise ModelFileError(f"{self.path}: TensorRT execution failed on a {batch.shape} input")
            result = self._memory.download(outputs, (n, rows, cols), state.stream)
            del keep  # the pinned host copy may go only after the stream has finished with it
        return result.astype(np.float32, copy=False)
