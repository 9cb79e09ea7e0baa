"""Issue 21: a model runtime is bound to one device when it is opened or bound; ``run(batch)`` takes no device.

The device is resolved once per run (:meth:`NetworkDetector.arrays_for` binds the
runtime); the detector keeps the runtime as opened, and no runtime keeps a cache per
device.  TensorRT's side of this contract is in ``test_tensorrt_contract.py``.
"""

import importlib
import inspect

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import DeviceUnavailableError, ParameterError
from hadinfer.runtimes import RUNTIMES, open_runtime
from hadinfer.weights import shipped_model


@pytest.mark.parametrize("name", list(RUNTIMES))
def test_run_takes_a_batch_and_no_device(name):
    module, cls = RUNTIMES[name].split(":")
    runtime = getattr(importlib.import_module(module), cls)
    assert list(inspect.signature(runtime.run).parameters) == ["self", "batch"]
    assert list(inspect.signature(runtime.bind).parameters) == ["self", "device"]


@pytest.mark.parametrize("runtime,checkpoint", [("onnxruntime", False), ("torch", True)])
def test_open_binds_once_and_the_opened_runtime_stays_unbound(runtime, checkpoint):
    pytest.importorskip(runtime, reason=f"needs {runtime}")
    path = shipped_model("general", checkpoint=checkpoint)
    opened = open_runtime(path, runtime)
    assert opened.device is None
    with pytest.raises(ParameterError, match="bound to no device"):
        opened.run(np.zeros((1, opened.metadata["channels"], 8, 8), np.float32))
    bound = open_runtime(path, runtime, device="cpu")
    assert bound.device == "cpu" and bound.bind("cpu") is bound
    cpu = opened.bind("cpu")
    assert cpu is not opened and cpu.device == "cpu" and opened.device is None
    batch = np.random.default_rng(0).normal(size=(1, opened.metadata["channels"], 12, 12)).astype(np.float32)
    assert np.array_equal(cpu.run(batch), bound.run(batch))


def test_a_device_the_runtime_cannot_use_fails_at_open():
    pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")
    with pytest.raises(DeviceUnavailableError, match="cuda:7"):
        open_runtime(shipped_model("general"), device="cuda:7")


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
def test_a_run_binds_the_runtime_once(monkeypatch, runtime):
    pytest.importorskip(runtime, reason=f"needs {runtime}")
    detector = hadinfer.make_detector("general", runtime=runtime)
    bound = []
    original = type(detector.runtime)._bind
    monkeypatch.setattr(type(detector.runtime), "_bind",
                        lambda self, device: (bound.append(device), original(self, device))[1])
    result = hadinfer.detect(np.random.default_rng(1).normal(size=(70, 60, 9)), detector=detector, device="cpu",
                             tile_size=32)
    assert bound == ["cpu"] and result.report["device"] == "cpu"
    assert detector.runtime.device is None  # scoring left the detector as it was
