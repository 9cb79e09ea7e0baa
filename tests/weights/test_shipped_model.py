"""The shipped ``general`` model: packaged, small, described, FP16-safe on every dev scene."""

import json

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.runtimes.onnx_runtime import OnnxRuntime
from hadinfer.weights import SHIPPED, shipped_model

from ..conftest import had_scenes, needs_had

ort = pytest.importorskip("onnxruntime", reason="the shipped model runs on onnxruntime (extra 'onnx')")

SCENES = [pytest.param(row, id=row["file"].removesuffix(".mat")) for row in had_scenes()] or [
    pytest.param(None, marks=pytest.mark.skip(reason="dev scenes not found at ../shared/data/had"))]


def test_model_files_are_packaged_small_and_described():
    onnx_path, checkpoint = shipped_model("general"), shipped_model("general", checkpoint=True)
    assert onnx_path.stat().st_size <= 5 * 2**20 and checkpoint.is_file()
    card = (onnx_path.parent / "MODEL_CARD.md").read_text()
    for fact in ("hadinfer train", "benchmarks/unseen.py", "receptive", SHIPPED["general"][0]):
        assert fact in card
    meta = OnnxRuntime.open(onnx_path).metadata
    # 10 dev scenes, the 2 Salinas files and the 8 unlabelled scenes, read without masks
    assert meta["provenance"]["mode"] == "general" and len(meta["provenance"]["scenes"]) == 20
    recipe = meta["provenance"]["recipe"]
    # evidence_config() (hadinfer/training/adapt.py), as the card says; literal so torch is not needed here
    assert (recipe["steps"], recipe["rounds"], recipe["rotate"], recipe["seed"]) == (1500, 0, True, 0)
    assert meta["input_policy"]["policy"] == "pca-whiten+rx+lrx"
    assert [tuple(w) for w in meta["input_policy"]["lrx_windows"]] == [(3, 9), (5, 15), (7, 29), (11, 41)]


def test_cli_general_beats_grx_on_the_synthetic_scene_and_keeps_georeferencing(tmp_path):
    runner = CliRunner()
    scene, truth = tmp_path / "scene.tif", tmp_path / "truth.tif"
    made = runner.invoke(cli, ["synth", str(scene), "--truth", str(truth), "--size", "128x128", "--bands", "64",
                                 "--seed", "3"])
    assert made.exit_code == 0, made.output
    aucs = {}
    for detector in ("general", "grx"):
        out = tmp_path / f"{detector}.tif"
        result = runner.invoke(cli, ["detect", str(scene), "-o", str(out), "--detector", detector, "-q"])
        assert result.exit_code == 0, result.output
        aucs[detector] = hadinfer.evaluate(out, truth)["auc_df"]
    with rasterio.open(tmp_path / "general.tif") as ds, rasterio.open(scene) as src:
        assert (ds.crs, ds.transform, ds.shape) == (src.crs, src.transform, src.shape)
    assert aucs["general"] > max(aucs["grx"], 0.98), aucs


@needs_had
def test_torch_runtime_gives_the_onnx_map(had_dir):
    pytest.importorskip("torch", reason="--runtime torch needs torch")
    scene = had_dir / "san-diego.mat"
    by_ort = hadinfer.detect(scene, detector="general", device="cpu").scores
    by_torch = hadinfer.detect(scene, detector="general", runtime="torch", device="cpu").scores
    np.testing.assert_allclose(by_ort, by_torch, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def fp16_model(tmp_path_factory):
    pytest.importorskip("torch", reason="FP16 export needs torch (extra 'export')")
    pytest.importorskip("onnx", reason="FP16 export needs onnx (extra 'export')")
    pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript (extra 'export')")
    from hadinfer.export.onnx_export import export_onnx

    folder = tmp_path_factory.mktemp("fp16")
    return str(export_onnx(shipped_model("general", checkpoint=True), folder / "general-fp16.onnx", fp16=True))


@needs_had
@pytest.mark.parametrize("row", SCENES)
def test_fp16_auc_within_1e3_of_fp32(row, had_dir, fp16_model):
    scene = had_dir / row["file"]
    truth, _ = hadinfer.read_mask(scene, key=row["gt_key"])
    full = hadinfer.detect(scene, detector="general", device="cpu", key=row["data_key"]).scores
    half = hadinfer.detect(scene, detector=fp16_model, device="cpu", key=row["data_key"]).scores
    a, b = hadinfer.evaluate(full, truth)["auc_df"], hadinfer.evaluate(half, truth)["auc_df"]
    assert abs(a - b) <= 1e-3, json.dumps({"fp32": a, "fp16": b})
