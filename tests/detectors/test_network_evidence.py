"""A network's local evidence is computed by the array library of its device: the same input, to float rounding."""

import numpy as np
import pytest

import hadinfer
import hadinfer.arrays
from hadinfer.arrays import NumpyArrays
from hadinfer.detectors.network import NetworkArrays, evidence_arrays

pytest.importorskip("onnxruntime", reason="the shipped model runs on ONNX Runtime (extra 'onnx')")


def test_the_cpu_and_a_gpu_without_pytorch_prepare_on_the_host(monkeypatch):
    assert isinstance(evidence_arrays("cpu"), NumpyArrays)
    monkeypatch.setattr(hadinfer.arrays, "torch_sees_cuda", lambda: False)
    assert isinstance(evidence_arrays("cuda:0"), NumpyArrays)


def test_a_gpu_that_pytorch_sees_prepares_there(monkeypatch):
    made = []

    class FakeTorchArrays:
        name = "torch"

        def __init__(self, device):
            made.append(device)

    import hadinfer.arrays.torch_arrays as torch_arrays

    monkeypatch.setattr(hadinfer.arrays, "torch_sees_cuda", lambda: True)
    monkeypatch.setattr(torch_arrays, "TorchArrays", FakeTorchArrays)
    assert isinstance(evidence_arrays("cuda:1"), FakeTorchArrays) and made == ["cuda:1"]


def test_pytorch_evidence_gives_the_numpy_input_and_map(monkeypatch):
    pytest.importorskip("torch", reason="PyTorch arrays (extra 'torch')")
    from hadinfer.arrays.torch_arrays import TorchArrays

    rng = np.random.default_rng(16)
    cube = rng.normal(size=(90, 110, 3)) @ rng.normal(size=(3, 14)) * 30 + rng.normal(size=(90, 110, 14)) * 3 + 500
    cube[40, 60] += 35
    maps, names = {}, {}
    for library in ("numpy", "torch"):
        detector = hadinfer.detectors.build("general")

        def arrays_for(device="auto", _detector=detector, _library=library):
            evidence = TorchArrays("cpu") if _library == "torch" else NumpyArrays()
            return NetworkArrays(_detector.runtime.bind("cpu"), evidence)

        detector.arrays_for = arrays_for
        result = hadinfer.detect(cube, detector=detector, device="cpu", layout="bands-last")
        maps[library], names[library] = result.scores, result.report["arrays"]
    assert names == {"numpy": "numpy", "torch": "torch"}
    np.testing.assert_allclose(maps["torch"], maps["numpy"], rtol=1e-5, atol=1e-6 * np.abs(maps["numpy"]).max())
