"""A feature model exported to ONNX: metadata inside, dynamic tiles, parity with the NumPy network."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch", reason="export needs torch (extra 'export')")
onnx = pytest.importorskip("onnx", reason="export needs onnx (extra 'export')")
pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript (extra 'export')")
ort = pytest.importorskip("onnxruntime", reason="parity needs onnxruntime (extra 'onnx')")

from hadinfer.cli.main import cli  # noqa: E402
from hadinfer.export.feature_export import ONNX_FEATURE_FORMAT, export_feature_onnx, feature_parity  # noqa: E402
from hadinfer.models.feature_model import load_feature_model  # noqa: E402
from hadinfer.weights import shipped_model  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "learned.onnx"
    return export_feature_onnx(shipped_model("learned"), path)


def test_the_shipped_feature_model_exports_with_metadata_and_parity(exported):
    proto = onnx.load(str(exported))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["hadinfer_format"] == ONNX_FEATURE_FORMAT
    assert json.loads(meta["network"]) == load_feature_model(shipped_model("learned")).metadata["network"]
    assert feature_parity(shipped_model("learned"), exported) < 1e-4


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 7, 33)])
def test_any_batch_and_tile_runs_with_parity(exported, shape):
    n, h, w = shape
    inputs = np.random.default_rng(h).normal(size=(n, 64, h, w)).astype(np.float32) * 3
    assert feature_parity(shipped_model("learned"), exported, inputs) < 1e-4


def test_cli_export_of_a_feature_model_refuses_engine_options(tmp_path):
    result = CliRunner().invoke(cli, ["export", str(shipped_model("learned")), "-o", str(tmp_path / "f.onnx"),
                                      "--fp16"])
    assert result.exit_code != 0 and "feature models" in result.output
    assert not (tmp_path / "f.onnx").exists()
