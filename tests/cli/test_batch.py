"""``hadinfer detect A B C --output-dir DIR``: one map per scene, failures listed, others finish."""

import json

import numpy as np
import rasterio
from click.testing import CliRunner

from hadinfer.cli.main import cli

from ..conftest import write_geotiff


def _scenes(tmp_path, small_cube):
    folder = tmp_path / "in"
    folder.mkdir()
    write_geotiff(folder / "a.tif", small_cube)
    write_geotiff(folder / "b.tif", small_cube[::-1].copy())
    (folder / "broken.tif").write_bytes(b"not a raster")
    return folder


def test_three_scene_batch_with_one_bad_scene(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(cli, ["detect", str(folder / "*.tif"), "--output-dir", str(out), "-q",
                                      "--detector", "grx", "--pfa", "1e-3"])
    assert result.exit_code == 1
    assert "1 of 3 scenes failed" in result.output and "broken.tif" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.geojson", "a.json", "a.tif", "b.geojson", "b.json", "b.tif",
                                                     "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["failed"], summary["skipped"]) == (2, 1, 0)
    with rasterio.open(out / "a.tif") as ds, rasterio.open(folder / "a.tif") as src:
        assert (ds.crs, ds.transform, ds.shape) == (src.crs, src.transform, src.shape)
    assert json.loads((out / "a.json").read_text())["detections"]["count"] >= 1


def test_existing_maps_are_skipped_then_replaced_with_overwrite(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    (folder / "broken.tif").unlink()
    out = tmp_path / "out"
    out.mkdir()
    args = ["detect", str(folder / "a.tif"), str(folder / "b.tif"), "--output-dir", str(out), "-q",
            "--detector", "grx"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = (out / "a.tif").stat().st_mtime_ns
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0
    assert json.loads((out / "summary.json").read_text())["skipped"] == 2
    assert (out / "a.tif").stat().st_mtime_ns == before
    assert CliRunner().invoke(cli, args + ["--overwrite"]).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["ok"] == 2


def test_batch_usage_errors(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    runner = CliRunner()
    both = runner.invoke(cli, ["detect", str(folder / "a.tif"), "-o", str(tmp_path / "m.tif"), "--output-dir",
                               str(tmp_path)])
    assert both.exit_code == 2 and "--output-dir" in both.output
    many = runner.invoke(cli, ["detect", str(folder / "a.tif"), str(folder / "b.tif"), "-o", str(tmp_path / "m.tif")])
    assert many.exit_code == 2 and "one scene" in many.output
    missing = runner.invoke(cli, ["detect", str(folder / "a.tif"), "--output-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.output
    np.testing.assert_equal(sorted(p.name for p in folder.iterdir()), ["a.tif", "b.tif", "broken.tif"])
