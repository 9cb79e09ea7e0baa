"""Export: ONNX graphs with metadata, ORT parity on real tiles, runtimes chosen by content, TensorRT."""

import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs torch (extra 'export')")
onnx = pytest.importorskip("onnx", reason="export needs onnx (extra 'export')")
pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript (extra 'export')")
pytest.importorskip("onnxruntime", reason="parity needs onnxruntime (extra 'onnx')")

import hadinfer  # noqa: E402
from hadinfer.detectors import make_detector  # noqa: E402
from hadinfer.runtimes.onnx_runtime import OnnxRuntime  # noqa: E402
from hadinfer.runtimes.torch_runtime import TorchRuntime  # noqa: E402
from hadinfer.errors import MissingDependencyError, ModelFileError  # noqa: E402
from hadinfer.export.onnx_export import export_onnx  # noqa: E402
from hadinfer.export.parity import max_abs_difference  # noqa: E402
from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig  # noqa: E402
from hadinfer.models.checkpoint import save_checkpoint  # noqa: E402
from hadinfer.models.input_policy import fit_whitening, network_input  # noqa: E402
from hadinfer.training.adapt import train  # noqa: E402
from hadinfer.training.trainer import TrainConfig  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory, had_dir):
    folder = tmp_path_factory.mktemp("export")
    model, report, provenance = train([had_dir / "abu-urban-3.mat"], config=TrainConfig(steps=30, rounds=0))
    ckpt = save_checkpoint(folder / "m.pt", model, provenance=provenance, report=report)
    return ckpt, export_onnx(ckpt, folder / "m.onnx"), folder


def test_graph_is_checked_and_dynamic_with_metadata(exported):
    ckpt, path, _ = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != "" for d in dims] == [True, False, True, True]  # batch, C fixed, H, W
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["hadinfer_format"] == "hadinfer-onnx" and meta["format_version"] == "1"
    assert meta["receptive_radius"] == "6" and meta["channels"] == "17"
    assert json.loads(meta["input_policy"])["policy"] == "pca-whiten+rx"
    assert json.loads(meta["provenance"])["scenes"][0]["name"].endswith("abu-urban-3.mat")
    assert path.stat().st_size < 5 * 2**20


def test_ort_matches_torch_on_real_tiles(exported, had_dir):
    ckpt, path, _ = exported
    with hadinfer.open_scene(had_dir / "san-diego.mat") as scene:
        cube, valid = scene.read_all()
    mean, projection = fit_whitening(hadinfer.BackgroundStats(cube.shape[2]).update(cube[valid]))
    z = network_input(cube, mean, projection, 16)
    tiles = np.stack([z[:64, :64], z[30:94, 36:100]]).transpose(0, 3, 1, 2).astype(np.float32)
    assert max_abs_difference(ckpt, path, tiles) <= 1e-4


def test_ort_detect_reproduces_torch_map(exported, had_dir):
    ckpt, path, _ = exported
    scene = had_dir / "pavia-center.mat"
    torch_map = hadinfer.detect(scene, detector=str(ckpt), device="cpu").scores
    ort_map = hadinfer.detect(scene, detector=str(path), device="cpu", tile_size=32).scores
    np.testing.assert_allclose(ort_map, torch_map, rtol=1e-4, atol=1e-4)


def test_fp16_model_runs_close_to_fp32(exported, had_dir):
    ckpt, path, folder = exported
    half = export_onnx(ckpt, folder / "m16.onnx", fp16=True, overwrite=True)
    scene = had_dir / "abu-urban-3.mat"
    truth, _ = hadinfer.read_mask(scene)
    a = hadinfer.evaluate(hadinfer.detect(scene, detector=str(path), device="cpu").scores, truth)["auc_df"]
    b = hadinfer.evaluate(hadinfer.detect(scene, detector=str(half), device="cpu").scores, truth)["auc_df"]
    assert abs(a - b) <= 1e-3, (a, b)


def test_registry_picks_the_runtime_by_content(exported):
    ckpt, path, _ = exported
    assert isinstance(make_detector(str(ckpt)).runtime, TorchRuntime)
    assert isinstance(make_detector(str(path)).runtime, OnnxRuntime)
    assert isinstance(make_detector(str(path), runtime="onnxruntime").runtime, OnnxRuntime)
    sidecar = path.with_name(path.name + ".json")  # a stray file beside a model changes nothing
    sidecar.write_text("{}")
    try:
        assert isinstance(make_detector(str(path)).runtime, OnnxRuntime)
    finally:
        sidecar.unlink()


def test_bad_model_files_are_one_line_errors(exported, tmp_path):
    _, path, _ = exported
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="cannot load"):
        OnnxRuntime.open(corrupt)
    proto = onnx.load(str(path))
    for entry in proto.metadata_props:
        if entry.key == "format_version":
            entry.value = "99"
    onnx.save(proto, str(tmp_path / "future.onnx"))
    with pytest.raises(ModelFileError, match="format 99"):
        OnnxRuntime.open(tmp_path / "future.onnx")
    plain = AnomalyFCN(NetworkConfig()).eval()
    with warnings.catch_warnings():  # torch's exporter warns about its own internals (LeafSpec)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(plain, (torch.zeros(1, 17, 16, 16),), str(tmp_path / "plain.onnx"), dynamo=True)
    with pytest.raises(ModelFileError, match="not a hadinfer model"):
        OnnxRuntime.open(tmp_path / "plain.onnx")


def test_cli_export_and_detect(exported, had_dir, tmp_path):
    from click.testing import CliRunner

    from hadinfer.cli.main import cli

    ckpt, _, _ = exported
    result = CliRunner().invoke(cli, ["export", str(ckpt), "-o", str(tmp_path / "x.onnx")])
    assert result.exit_code == 0, result.output
    assert "max |diff|" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = CliRunner().invoke(cli, ["detect", str(had_dir / "pavia-center.mat"), "-o", str(tmp_path / "x.tif"),
                                      "--detector", str(tmp_path / "x.onnx"), "-q"])
    assert result.exit_code == 0, result.output


def test_tensorrt_path_fails_clearly_without_tensorrt(exported, tmp_path):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed: this test covers its absence")
    except ImportError:
        pass
    from hadinfer.export.tensorrt_engine import build_engine

    _, path, _ = exported
    with pytest.raises(MissingDependencyError, match=r"pip install 'hadinfer\[tensorrt\]'"):
        build_engine(path, tmp_path / "m.engine")


def test_tensorrt_engine_matches_onnx(exported, tmp_path):
    pytest.importorskip("tensorrt", reason="TensorRT cannot be installed here (its wheels fetch NVIDIA libraries "
                                           "from another index); the contract tests in tests/runtimes cover it")
    from hadinfer.export.tensorrt_engine import build_engine

    _, path, _ = exported
    engine = build_engine(path, tmp_path / "m.engine", min_tile=32, opt_tile=64, max_tile=128)
    cube = np.random.default_rng(0).normal(size=(60, 60, 50))
    a = hadinfer.detect(cube, detector=str(path), device="cpu").scores
    b = hadinfer.detect(cube, detector=str(engine), device="cuda", tile_size=64).scores
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
