"""A fake ``tensorrt`` module written to NVIDIA's documented TensorRT 10/11 Python API, and host memory.

It enforces what the documentation says a real TensorRT does, so code that passes here
has its calls in the right order with the right types:

- ``OptimizationProfile.set_shape`` needs ``min <= opt <= max``;
- ``IExecutionContext.set_input_shape`` returns False (it does not raise) for a shape
  outside the profile or with the wrong channel count;
- ``execute_async_v3`` returns False unless every I/O tensor has an address and the
  input a shape; it reads the input from and writes the output to those addresses;
- TensorRT 11 has no ``BuilderFlag.FP16`` (removed; strongly typed networks instead).

The engine computes with ONNX Runtime on the CPU from the ONNX bytes it was built from,
so an engine's map can be compared with the ONNX model's.
"""

from __future__ import annotations

import contextlib
import ctypes
import pickle
import types

import numpy as np


def make_fake_tensorrt(major: int = 10):
    """A module object standing in for ``tensorrt`` of the given major version."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = f"{major}.15.0.0" if major == 10 else f"{major}.0.0.0"
    trt.calls = []  # (what, detail) in order, for assertions

    class Logger:
        WARNING, INFO, ERROR = 2, 3, 1

        def __init__(self, level=2):
            self.level = level

    flags = {"TF32": 7, "DEBUG": 12}
    if major < 11:
        flags["FP16"] = 0
    trt.BuilderFlag = types.SimpleNamespace(**flags)
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=5)

    class Network:
        def __init__(self, flags):
            self.flags, self.onnx = flags, None

    class OnnxParser:
        def __init__(self, network, logger):
            self.network, self.num_errors = network, 0

        def parse(self, data):
            import onnx

            try:
                onnx.load_from_string(bytes(data))
            except Exception:  # noqa: BLE001 - a real parser reports, it does not raise
                self.num_errors = 1
                return False
            self.network.onnx = bytes(data)
            return True

        def get_error(self, index):
            return "could not parse the model"

    class TimingCache:
        def __init__(self, data):
            self.data = data

        def serialize(self):
            return b"timing-cache"

    class Profile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, low, opt, high):
            if not all(a <= b <= c for a, b, c in zip(low, opt, high)) or len({len(low), len(opt), len(high)}) != 1:
                raise ValueError(f"profile for {name}: need min <= opt <= max")
            self.shapes[name] = (tuple(low), tuple(opt), tuple(high))

    class Config:
        def __init__(self):
            self.flags, self.profiles, self.cache = set(), [], None

        def set_flag(self, flag):
            self.flags.add(flag)

        def clear_flag(self, flag):
            self.flags.discard(flag)

        def create_timing_cache(self, data):
            return TimingCache(data)

        def set_timing_cache(self, cache, ignore_mismatch):
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)
            return len(self.profiles) - 1

    class Builder:
        def __init__(self, logger):
            self.logger = logger

        def create_network(self, flags=0):
            trt.calls.append(("create_network", flags))
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            if network.onnx is None or not config.profiles:
                return None
            trt.calls.append(("build", {"flags": sorted(config.flags), "network_flags": network.flags}))
            return pickle.dumps({"onnx": network.onnx, "profile": config.profiles[0].shapes["input"]})

    class Context:
        def __init__(self, engine):
            self.engine, self.shape, self.addresses = engine, None, {}

        def set_input_shape(self, name, shape):
            low, _, high = self.engine.profile
            shape = tuple(int(v) for v in shape)
            if name != "input" or len(shape) != 4 or not all(a <= s <= b for a, s, b in zip(low, shape, high)):
                trt.calls.append(("rejected_shape", shape))
                return False
            self.shape = shape
            return True

        def set_tensor_address(self, name, address):
            if not isinstance(address, int) or address == 0:
                raise TypeError("set_tensor_address takes a non-null device address (int)")
            self.addresses[name] = address
            return True

        def execute_async_v3(self, stream_handle):
            trt.calls.append(("execute", {"stream": stream_handle, "shape": self.shape}))
            if self.shape is None or set(self.addresses) != {"input", "logits"}:
                return False
            n, c, h, w = self.shape
            inputs = _view(self.addresses["input"], n * c * h * w).reshape(self.shape).copy()
            logits = self.engine.session.run(["logits"], {"input": inputs})[0].astype(np.float32)
            _view(self.addresses["logits"], logits.size)[:] = logits.reshape(-1)
            return True

    class Engine:
        def __init__(self, payload):
            import onnxruntime

            self.profile = payload["profile"]
            self.session = onnxruntime.InferenceSession(payload["onnx"], providers=["CPUExecutionProvider"])

        def get_tensor_profile_shape(self, name, index):
            if name != "input" or index != 0:
                raise IndexError(name)
            return [list(s) for s in self.profile]

        def create_execution_context(self):
            return Context(self)

    class Runtime:
        def __init__(self, logger):
            self.logger = logger

        def deserialize_cuda_engine(self, data):
            try:
                return Engine(pickle.loads(bytes(data)))
            except Exception:  # noqa: BLE001 - a real runtime logs and returns None
                return None

    trt.Logger, trt.Builder, trt.OnnxParser, trt.Runtime = Logger, Builder, OnnxParser, Runtime
    return trt


def _view(address: int, count: int) -> np.ndarray:
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(address))


class HostMemory:
    """Host arrays standing in for device memory, with real addresses, counting allocations.

    Parameters
    ----------
    gpus : int
        How many devices to pretend exist.
    """

    def __init__(self, gpus: int = 1):
        self.gpus = gpus
        self.allocations = 0
        self.streams: list[int] = []
        self.current: list[str] = []

    def device_count(self) -> int:
        return self.gpus

    @contextlib.contextmanager
    def on(self, device: str):
        self.current.append(device)
        try:
            yield
        finally:
            self.current.pop()

    def new_stream(self, device: str):
        handle = 0x1000 + len(self.streams)  # never 0: 0 is CUDA's default stream
        self.streams.append(handle)
        return handle, handle

    def empty(self, count: int, device: str):
        self.allocations += 1
        return np.zeros(count, dtype=np.float32)

    @staticmethod
    def address(buffer) -> int:
        return buffer.ctypes.data

    def upload(self, host, buffer, stream):
        flat = np.ascontiguousarray(host, dtype=np.float32).reshape(-1)
        buffer[:flat.size] = flat
        return flat

    def download(self, buffer, shape, stream):
        return buffer[:int(np.prod(shape))].reshape(shape).copy()
