"""Issue 10: exported graphs run whole on GPU runtimes, and FP16 models keep strong anomalies finite.

The operator lists are checked in (``export/op_support/``); ONNX Runtime's CUDA provider
has no ``Asinh`` kernel, so a graph with one would run that node on the CPU with copies
around it.  The FP16 check runs ONNX Runtime with graph optimisations off: with them on,
the CPU provider removes the casts and hides an overflow.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="graph checks need onnx (extra 'export')")
ort = pytest.importorskip("onnxruntime", reason="running models needs onnxruntime (extra 'onnx')")

from hadinfer.export.operator_check import graph_operators, supported_operators, unsupported_operators  # noqa: E402
from hadinfer.weights import shipped_model  # noqa: E402

GPU_RUNTIMES = ["onnxruntime-cuda", "tensorrt"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny evidence-skip network exported in float32 and float16."""
    torch = pytest.importorskip("torch", reason="export needs torch (extra 'export')")
    pytest.importorskip("onnxscript", reason="the exporter needs onnxscript (extra 'export')")
    from hadinfer.export.onnx_export import export_onnx
    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
    from hadinfer.models.checkpoint import save_checkpoint

    folder = tmp_path_factory.mktemp("gpu")
    torch.manual_seed(0)
    model = AnomalyFCN(NetworkConfig(in_channels=8, width=8, dilations=(1, 2), evidence_skip=2))
    checkpoint = save_checkpoint(folder / "m.pt", model, provenance={}, report={})
    return {"float32": export_onnx(checkpoint, folder / "m32.onnx"),
            "float16": export_onnx(checkpoint, folder / "m16.onnx", fp16=True), "model": model}


@pytest.mark.parametrize("runtime", GPU_RUNTIMES)
def test_the_shipped_model_has_only_gpu_operators(runtime):
    assert unsupported_operators(shipped_model("general"), runtime) == []


@pytest.mark.parametrize("precision", ["float32", "float16"])
@pytest.mark.parametrize("runtime", GPU_RUNTIMES)
def test_exports_have_only_gpu_operators(exported, runtime, precision):
    assert unsupported_operators(exported[precision], runtime) == []
    assert "Asinh" not in graph_operators(exported[precision])


def test_the_check_catches_an_operator_without_a_cuda_kernel(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Asinh", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "asinh.onnx"))
    assert unsupported_operators(tmp_path / "asinh.onnx", "onnxruntime-cuda") == ["Asinh"]
    assert "Asinh" in supported_operators("tensorrt") and "Conv" in supported_operators("onnxruntime-cuda")


def unoptimised(path):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_fp16_model_fed_7e4_gives_finite_output(exported):
    x = np.abs(np.random.default_rng(0).normal(size=(1, 8, 12, 12))).astype(np.float32) + 0.1
    x[0, :, 5, 6] = 7e4  # beyond float16's 65504
    x[0, :, 2, 2] = 3e7
    logits = unoptimised(exported["float16"]).run(["logits"], {"input": x})[0]
    assert np.isfinite(logits).all()
    reference = unoptimised(exported["float32"]).run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(logits, reference, rtol=0.05, atol=0.05)


def test_portable_asinh_equals_asinh_over_float32_range():
    torch = pytest.importorskip("torch", reason="needs torch")
    from hadinfer.models.anomaly_fcn import portable_asinh

    z = torch.tensor([0.0, 1e-30, -1e-8, 1e-4, 0.5, -1.0, 1.0, 1.0001, 3.0, -7e4, 1e17, 2.0 ** 60, 1.2e18, 1e19,
                      -3e38, 3.4e38], dtype=torch.float32)
    # Relative to float32 rounding, and in absolute terms within float32's step at 1 near zero.
    np.testing.assert_allclose(portable_asinh(z).numpy(), torch.asinh(z.double()).numpy(), rtol=2e-6, atol=1.2e-7)


def test_portable_asinh_keeps_order_across_its_split():
    torch = pytest.importorskip("torch", reason="needs torch")
    from hadinfer.models.anomaly_fcn import portable_asinh

    z = torch.logspace(-3, 38.5, 4000, dtype=torch.float64).float()
    out = portable_asinh(z)
    assert torch.isfinite(out).all() and (out[1:] >= out[:-1]).all()
    assert torch.equal(portable_asinh(-z), -out)
