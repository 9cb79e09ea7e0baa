"""Exported networks are written in forms ONNX Runtime fuses (GELU, pixel norm), with the same maths."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs torch (extra 'export')")
onnx = pytest.importorskip("onnx", reason="export needs onnx (extra 'export')")
pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript (extra 'export')")
ort = pytest.importorskip("onnxruntime", reason="running models needs onnxruntime (extra 'onnx')")

from hadinfer.export.onnx_export import export_onnx, fusable_for_onnx_runtime  # noqa: E402
from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig, PixelNorm  # noqa: E402
from hadinfer.models.checkpoint import save_checkpoint  # noqa: E402


def _model():
    torch.manual_seed(1)
    model = AnomalyFCN(NetworkConfig(in_channels=6, width=8, dilations=(1, 2), evidence_skip=2)).eval()
    with torch.no_grad():  # norms that are not the identity
        for module in model.modules():
            if isinstance(module, PixelNorm):
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3)
    return model


def test_the_fusable_copy_computes_what_the_model_does_and_leaves_it_alone():
    model = _model()
    fusable = fusable_for_onnx_runtime(model)
    z = torch.randn(3, 6, 17, 11) * 4
    with torch.no_grad():
        np.testing.assert_allclose(fusable.body(z).numpy(), model.body(z).numpy(), rtol=1e-5, atol=1e-5)
    assert any(isinstance(m, torch.nn.GELU) for m in model.modules())
    assert any(isinstance(m, PixelNorm) for m in model.modules())
    assert not any(isinstance(m, (torch.nn.GELU, PixelNorm)) for m in fusable.modules())


def test_onnx_runtime_fuses_the_exported_gelus_and_norms(tmp_path):
    model = _model()
    path = export_onnx(save_checkpoint(tmp_path / "m.pt", model, provenance={}, report={}), tmp_path / "m.onnx")
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    kinds = {node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node}
    assert {"Gelu", "LayerNormalization"} <= kinds and "Erf" not in kinds
    z = np.random.default_rng(2).normal(size=(1, 6, 9, 13)).astype(np.float32)  # a batch of one, as tiles come
    with torch.no_grad():
        expected = model(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": z})[0], expected, rtol=1e-4, atol=1e-5)


def test_the_shipped_model_is_the_fused_form(tmp_path):
    from hadinfer.weights import shipped_model

    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(shipped_model("general")), options, providers=["CPUExecutionProvider"])
    kinds = [node.op_type for node in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    assert kinds.count("Gelu") == 5 and kinds.count("LayerNormalization") == 4 and "Erf" not in kinds
