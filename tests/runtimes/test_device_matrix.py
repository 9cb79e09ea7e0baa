"""Which device each detector really uses: torch CUDA present or absent x ONNX Runtime CUDA present or absent
x ``auto``, ``cuda``, ``cuda:1``, on a machine whose driver shows two GPUs.

The GPU libraries are faked at their documented surface (``torch.cuda.is_available`` /
``device_count``; ``onnxruntime.get_available_providers``, ``InferenceSession`` with
provider options, ``preload_dlls``); the fake session computes on the CPU.  The rule
under test: the runtime that runs the detector decides, and an explicit device it
cannot use is an error, never a silent CPU fallback.
"""

import sys
import types

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason="the shipped model needs onnxruntime (extra 'onnx')")
torch = pytest.importorskip("torch", reason="the array-library half of the matrix needs torch")

import hadinfer  # noqa: E402
from hadinfer.errors import DeviceUnavailableError  # noqa: E402

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def fake_onnxruntime(with_cuda: bool):
    """onnxruntime (CPU build) or onnxruntime-gpu, as seen through its public API."""
    fake = types.ModuleType("onnxruntime")
    fake.sessions, fake.preloaded = [], []
    fake.SessionOptions = ort.SessionOptions
    fake.get_available_providers = lambda: [CUDA, CPU] if with_cuda else [CPU]
    if with_cuda:
        fake.preload_dlls = lambda *a, **k: fake.preloaded.append(True)

    class InferenceSession:
        def __init__(self, path, options=None, providers=None):
            names = [p[0] if isinstance(p, tuple) else p for p in providers]
            self.provider_options = dict(p for p in providers if isinstance(p, tuple))
            # onnxruntime skips providers it lacks (with a warning) and falls back to the CPU.
            self.providers = [p for p in names if p in fake.get_available_providers()]
            self._real = ort.InferenceSession(path, options, providers=[CPU])
            fake.sessions.append(self)

        def get_providers(self):
            return self.providers

        def __getattr__(self, name):
            return getattr(self._real, name)

    fake.InferenceSession = InferenceSession
    return fake


@pytest.fixture
def machine(monkeypatch):
    """Set up the matrix cell: returns a function (torch_cuda, ort_cuda) -> fake onnxruntime."""
    def setup(torch_cuda: bool, ort_cuda: bool):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: torch_cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2 if torch_cuda else 0)
        monkeypatch.setattr("hadinfer.arrays.nvidia_driver_present", lambda: True)
        monkeypatch.setattr("hadinfer.runtimes.onnx_runtime.visible_gpu_count", lambda: 2)
        fake = fake_onnxruntime(ort_cuda)
        monkeypatch.setitem(sys.modules, "onnxruntime", fake)
        return fake
    return setup


CELLS = [(t, o, d) for t in (True, False) for o in (True, False) for d in ("auto", "cuda", "cuda:1")]


@pytest.mark.parametrize("torch_cuda,ort_cuda,device", CELLS,
                         ids=[f"torch{'GPU' if t else 'CPU'}-ort{'GPU' if o else 'CPU'}-{d}" for t, o, d in CELLS])
def test_general_on_onnx_runtime(machine, monkeypatch, torch_cuda, ort_cuda, device):
    fake = machine(torch_cuda, ort_cuda)

    def no_torch():
        raise AssertionError("ONNX Runtime on any device must not need PyTorch")

    evidence = []
    if torch_cuda:  # PyTorch sees the GPU: the input's local evidence is computed there
        from hadinfer.arrays.torch_arrays import TorchArrays

        class RecordingTorchArrays(TorchArrays):
            def __init__(self, device):
                evidence.append(device)
                super().__init__("cpu")  # this machine has no GPU: the same code on the CPU

        monkeypatch.setattr("hadinfer.arrays.torch_arrays.TorchArrays", RecordingTorchArrays)
    else:  # without it, nothing may need PyTorch
        monkeypatch.setattr("hadinfer.arrays.torch_arrays.import_torch", no_torch)
    cube = np.random.default_rng(0).normal(size=(24, 20, 8))
    expected = {"auto": "cuda:0" if ort_cuda else "cpu", "cuda": "cuda:0", "cuda:1": "cuda:1"}[device]
    if not ort_cuda and device != "auto":
        with pytest.raises(DeviceUnavailableError, match=r"CPU build.*hadinfer\[onnx-gpu\]"):
            hadinfer.detect(cube, detector="general", device=device)
        return
    result = hadinfer.detect(cube, detector="general", device=device)
    assert result.report["device"] == expected and np.isfinite(result.scores).all()
    assert evidence == ([expected] if torch_cuda and expected != "cpu" else [])
    assert result.report["arrays"] == ("torch" if evidence else "numpy")
    session = fake.sessions[-1]
    if expected == "cpu":
        assert session.providers == [CPU] and not fake.preloaded
    else:
        assert session.providers[0] == CUDA and session.provider_options[CUDA]["device_id"] == int(expected[-1])
        assert fake.preloaded  # CUDA and cuDNN from pip wheels are loaded before the session


@pytest.mark.parametrize("torch_cuda,ort_cuda,device", CELLS,
                         ids=[f"torch{'GPU' if t else 'CPU'}-ort{'GPU' if o else 'CPU'}-{d}" for t, o, d in CELLS])
def test_rx_detectors_follow_torch(machine, torch_cuda, ort_cuda, device):
    machine(torch_cuda, ort_cuda)
    detector = hadinfer.make_detector("grx")
    if not torch_cuda and device != "auto":
        with pytest.raises(DeviceUnavailableError, match="no CUDA GPU is available to PyTorch"):
            detector.arrays_for(device)
        return
    arrays = detector.arrays_for(device)
    assert arrays.device == ({"auto": "cuda", "cuda": "cuda", "cuda:1": "cuda:1"}[device] if torch_cuda else "cpu")
    assert arrays.name == ("torch" if torch_cuda else "numpy")


@pytest.mark.parametrize("torch_cuda,ort_cuda,device", CELLS,
                         ids=[f"torch{'GPU' if t else 'CPU'}-ort{'GPU' if o else 'CPU'}-{d}" for t, o, d in CELLS])
def test_general_on_torch(machine, monkeypatch, torch_cuda, ort_cuda, device):
    machine(torch_cuda, ort_cuda)
    detector = hadinfer.make_detector("general", runtime="torch")
    if not torch_cuda and device != "auto":
        with pytest.raises(DeviceUnavailableError, match="PyTorch sees no CUDA GPU"):
            detector.arrays_for(device)
        return
    expected = {"auto": "cuda:0", "cuda": "cuda:0", "cuda:1": "cuda:1"}[device] if torch_cuda else "cpu"
    moved = []  # binding copies the network to the device; this torch has no CUDA to copy it to
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, where: (moved.append(str(where)), self)[1])
    arrays = detector.arrays_for(device)
    assert arrays.device == arrays.runtime.device == expected and moved == [expected]


def test_cuda_beyond_the_gpus_is_an_error(machine):
    machine(True, True)
    with pytest.raises(DeviceUnavailableError, match="cuda:5"):
        hadinfer.make_detector("general").arrays_for("cuda:5")


def test_a_session_that_falls_back_to_the_cpu_is_an_error(machine, monkeypatch):
    fake = machine(False, True)
    monkeypatch.setattr(fake, "get_available_providers", lambda: [CUDA, CPU])
    original = fake.InferenceSession

    class Fallback(original):
        def get_providers(self):
            return [CPU]  # what onnxruntime-gpu reports when CUDA failed to load

    fake.InferenceSession = Fallback
    with pytest.raises(DeviceUnavailableError, match="could not use CUDAExecutionProvider"):
        hadinfer.detect(np.random.default_rng(0).normal(size=(16, 16, 6)), detector="general", device="cuda")


def test_gpu_sessions_show_fallback_warnings(machine):
    from hadinfer.runtimes.onnx_runtime import session_options

    assert session_options(ort, "cuda:0").log_severity_level <= 2  # WARNING: CPU fallbacks are visible
    assert session_options(ort, "cpu").log_severity_level == 3


def test_torch_runtime_disables_tf32_during_the_call():
    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
    from hadinfer.runtimes.torch_runtime import TorchRuntime

    seen = []
    model = AnomalyFCN(NetworkConfig())
    original = model.forward
    model.forward = lambda z: (seen.append(torch.backends.cudnn.allow_tf32), original(z))[1]
    before = torch.backends.cudnn.allow_tf32
    TorchRuntime(model, {}).bind("cpu").run(np.zeros((1, 17, 8, 8), np.float32))
    assert seen == [False] and torch.backends.cudnn.allow_tf32 == before  # off for the call, restored after
