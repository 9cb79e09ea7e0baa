"""``hadinfer detect A B C --output-dir DIR``: one map per scene, failures listed, others finish."""

import json

import numpy as np
import pytest
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
    missing = runner.invoke(cli, ["detect", str(folder / "a.tif"), "--output-dir", str(tmp_path / "nope" / "deeper")])
    assert missing.exit_code == 2 and "no such folder, and its parent" in missing.output
    assert not (tmp_path / "nope").exists()  # the output folder is created, never its parents
    np.testing.assert_equal(sorted(p.name for p in folder.iterdir()), ["a.tif", "b.tif", "broken.tif"])


def _digests(folder):
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_missing_output_folder_is_created(tmp_path, small_cube):
    # It once had to exist already.
    folder = _scenes(tmp_path, small_cube)
    out = tmp_path / "new"
    result = CliRunner().invoke(cli, ["detect", str(folder / "a.tif"), str(folder / "b.tif"), "--output-dir",
                                      str(out), "-q", "--detector", "grx"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.tif", "b.json", "b.tif", "summary.json"]


def test_a_missing_output_folder_is_not_created_when_the_batch_is_refused(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    (folder / "summary.tif").write_bytes((folder / "a.tif").read_bytes())  # its report would be summary.json
    result = CliRunner().invoke(cli, ["detect", str(folder / "summary.tif"), "--output-dir", str(tmp_path / "new")])
    assert result.exit_code == 2
    assert not (tmp_path / "new").exists()


def _batch(folder, out, *options):
    return CliRunner().invoke(cli, ["detect", str(folder / "a.tif"), str(folder / "b.tif"), "--output-dir",
                                    str(out), "-q", *options])


@pytest.mark.parametrize("first, second, fragment", [
    (["--detector", "grx"], ["--detector", "lrx"], "made by --detector grx; this run asks for --detector lrx"),
    (["--detector", "grx"], ["--detector", "grx", "--shrinkage", "0.5"], "(shrinkage=0.5)"),
    (["--detector", "grx"], ["--detector", "grx", "--bands", "1-6"], "(bands=1-6)"),
    (["--detector", "grx", "--pfa", "0.01"], ["--detector", "grx", "--pfa", "0.001"], "(pfa=0.001)"),
], ids=["other-detector", "other-parameters", "other-bands", "other-pfa"])
def test_a_rerun_asking_for_other_maps_does_not_keep_the_old_ones(tmp_path, small_cube, first, second, fragment):
    # A rerun with another detector once skipped every scene and exited 0: the folder then
    # held grx maps under an lrx run's summary.
    folder = _scenes(tmp_path, small_cube)
    out = tmp_path / "out"
    assert _batch(folder, out, *first).exit_code == 0
    before = _digests(out)
    refused = _batch(folder, out, *second)
    assert refused.exit_code == 2, refused.output
    line = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert len(line) == 1 and fragment in line[0] and "(and 1 more map)" in line[0] and "--overwrite" in line[0]
    assert _digests(out) == before  # nothing replaced, not even the summary
    replaced = _batch(folder, out, *second, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    report = json.loads((out / "a.json").read_text())
    assert report["request"]["detector"] == second[1] and report["detector"] == second[1]
    assert _batch(folder, out, *second).exit_code == 0  # the same request again: skipped
    assert json.loads((out / "summary.json").read_text())["skipped"] == 2


def test_a_map_without_its_report_is_not_taken_as_this_runs(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    out = tmp_path / "out"
    assert _batch(folder, out, "--detector", "grx").exit_code == 0
    (out / "b.json").unlink()
    refused = _batch(folder, out, "--detector", "grx")
    assert refused.exit_code == 2 and "made by an unknown request" in refused.stderr


def test_a_rerun_without_detections_keeps_the_maps_made_with_them(tmp_path, small_cube):
    folder = _scenes(tmp_path, small_cube)
    out = tmp_path / "out"
    assert _batch(folder, out, "--detector", "grx", "--pfa", "0.01").exit_code == 0
    assert _batch(folder, out, "--detector", "grx").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["skipped"] == 2


@pytest.mark.parametrize("count", [2, 16])
def test_a_batch_of_many_small_scenes_runs_the_compiled_ring_kernel_for_all(tmp_path, small_cube, monkeypatch,
                                                                             count):
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    from hadinfer.kernels import compiled

    monkeypatch.delenv("HADINFER_COMPILED", raising=False)
    monkeypatch.setattr(compiled, "numba_ready", lambda: False)  # as in a fresh process
    monkeypatch.setattr(compiled, "_many_scenes", False)
    folder = tmp_path / "in"
    folder.mkdir()
    for number in range(count):
        write_geotiff(folder / f"s{number}.tif", np.roll(small_cube, number, axis=0))
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(cli, ["detect", str(folder / "*.tif"), "--output-dir", str(out), "-q",
                                      "--detector", "fusion"])
    assert result.exit_code == 0, result.output
    kernels = {json.loads(path.read_text())["ring_kernel"] for path in out.glob("s[0-9]*.json")}
    assert kernels == ({"compiled"} if count >= compiled.MANY_SCENES else {"numpy"})


def test_a_cluster_batch_tells_each_worker_how_many_scenes_it_serves(monkeypatch):
    from hadinfer.cli.scheduled import scene_among
    from hadinfer.kernels import compiled

    monkeypatch.setattr(compiled, "_many_scenes", False)
    assert scene_among(3, lambda *job: job, "a.tif", "a-map.tif") == ("a.tif", "a-map.tif")
    assert not compiled._many_scenes
    scene_among(compiled.MANY_SCENES, lambda *job: None, "a.tif")
    assert compiled._many_scenes
