"""The commands' happy paths: synth, detect, evaluate (text, JSON, ROC), info, quicklook."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio
from click.testing import CliRunner

from hadinfer.cli.main import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    run("synth", folder / "scene.tif", "--truth", folder / "truth.tif", "--size", "96x80", "--bands", "30")
    return folder


def test_synth_detect_evaluate_roundtrip(example, tmp_path):
    run("detect", example / "scene.tif", "-o", tmp_path / "map.tif", "--report", tmp_path / "run.json", "-q")
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["scene"] == {"path": str(example / "scene.tif"), "height": 96, "width": 80, "bands": 30,
                               "dtype": "int16", "valid_pixels": 96 * 80}
    assert set(report["seconds"]) == {"read", "fit", "compute", "write", "total"}
    assert report["megapixels_per_second"] > 0 and report["peak_memory_mb"] > 0 and report["device"] == "cpu"
    text = run("evaluate", tmp_path / "map.tif", "--truth", example / "truth.tif", "--roc", tmp_path / "roc.png")
    assert re.search(r"AUC\(D,F\)\s+(0\.9\d+|1\.0+)\n", text.stdout), text.stdout
    assert (tmp_path / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads(run("evaluate", tmp_path / "map.tif", "--truth", example / "truth.tif", "--json").stdout)
    assert metrics["auc_df"] > 0.9 and metrics["snpr"] == pytest.approx(metrics["auc_dt"] / metrics["auc_ft"])
    run("quicklook", tmp_path / "map.tif", "-o", tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000


def test_info_describes_a_geotiff(example):
    fields = json.loads(run("info", example / "scene.tif", "--json").stdout)
    assert (fields["height"], fields["width"], fields["bands"], fields["dtype"]) == (96, 80, 30, "int16")
    assert fields["crs"] == "EPSG:32633" and fields["interleave"] == "band" and fields["bad_bands"] == "none"
    with rasterio.open(example / "scene.tif") as ds:
        assert fields["block_shape"] == list(ds.block_shapes[0])
        assert fields["compression"] == (ds.compression.value.lower() if ds.compression else None)


def test_lrx_from_cli_on_band_subset(example, tmp_path):
    run("detect", example / "scene.tif", "-o", tmp_path / "lrx.tif", "--detector", "lrx", "--window", "3,11",
        "--pca", "5", "--bands", "1-20", "-q")
    with rasterio.open(tmp_path / "lrx.tif") as ds:
        assert ds.read(1).shape == (96, 80)


@pytest.mark.parametrize("detector", ["fusion-area", "fusion-peaks"])
def test_the_area_detectors_from_cli_take_their_area_and_report_it(example, tmp_path, detector):
    pytest.importorskip("skimage", reason=f"{detector} needs scikit-image (extra 'area')")
    run("detect", example / "scene.tif", "-o", tmp_path / "area.tif", "--detector", detector, "--area", "16",
        "--report", tmp_path / "area.json", "-q")
    report = json.loads((tmp_path / "area.json").read_text())
    assert report["detector"] == detector and report["params"]["area"] == 16
    with rasterio.open(tmp_path / "area.tif") as ds, rasterio.open(example / "scene.tif") as scene:
        assert ds.shape == scene.shape and ds.crs == scene.crs and ds.transform == scene.transform


def test_import_hadinfer_does_not_import_torch():
    code = "import sys, hadinfer, hadinfer.cli.main; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_readme_api_example_runs(tmp_path, monkeypatch):
    block = re.search(r"## Python API\s+```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example").mkdir()
    run("synth", "example/scene.tif", "--truth", "example/truth.tif", "--size", "64x64", "--bands", "100")
    run("detect", "example/scene.tif", "-o", "example/map.tif", "-q")
    exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "example" / "lrx.tif").is_file()


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README.read_text()
