"""``hadinfer detect --scheduler``: the same maps, reports, summary and exit codes as one process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hadinfer.cli.main import cli

from ..conftest import write_geotiff
from .conftest import TILE, make_scene_cube, max_relative_difference, read_map

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")


def detect(*args):
    return CliRunner().invoke(cli, ["detect", *map(str, args)])


def _batch_inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, seed in (("a", 1), ("b", 2)):
        write_geotiff(folder / f"{name}.tif", make_scene_cube(seed), nodata=-9999, tiled=True, block=TILE)
    (folder / "broken.tif").write_bytes(b"not a raster")
    return [folder / "a.tif", folder / "broken.tif", folder / "b.tif"]


def test_batch_on_the_cluster_gives_the_single_process_batch(client, tmp_path):
    scenes = _batch_inputs(tmp_path)
    outputs = {}
    for mode, extra in (("single", []), ("cluster", ["--scheduler", client.scheduler.address])):
        out = tmp_path / mode
        out.mkdir()
        result = detect(*scenes, "--output-dir", out, "--detector", "grx", "--tile-size", TILE, "--pfa", "1e-3",
                        *extra)
        assert result.exit_code == 1, result.output
        assert "Error: 1 of 3 scenes failed" in result.stderr and "broken.tif" in result.stderr
        outputs[mode] = out
    single, cluster = (json.loads((outputs[m] / "summary.json").read_text()) for m in ("single", "cluster"))
    assert (cluster["ok"], cluster["failed"], cluster["skipped"]) == (2, 1, 0)
    strip = [{k: v for k, v in row.items() if k not in ("map", "report", "seconds")} for row in single["scenes"]]
    assert strip == [{k: v for k, v in row.items() if k not in ("map", "report", "seconds")}
                     for row in cluster["scenes"]]  # same order, statuses and error messages
    assert sorted(p.name for p in outputs["cluster"].iterdir()) == sorted(p.name for p in outputs["single"].iterdir())
    for name in ("a", "b"):
        expected, expected_geo = read_map(outputs["single"] / f"{name}.tif")
        actual, actual_geo = read_map(outputs["cluster"] / f"{name}.tif")
        assert actual_geo == expected_geo and max_relative_difference(actual, expected) == 0.0
        reports = [json.loads((outputs[m] / f"{name}.json").read_text()) for m in ("single", "cluster")]
        assert reports[0].keys() == reports[1].keys()
        assert reports[0]["detections"]["count"] == reports[1]["detections"]["count"]
    again = detect(*scenes, "--output-dir", outputs["cluster"], "--detector", "grx", "--scheduler",
                   client.scheduler.address, "-q")
    assert again.exit_code == 1
    assert json.loads((outputs["cluster"] / "summary.json").read_text())["skipped"] == 2


def test_one_scene_in_strips_with_report_and_detections(client, scene_path, tmp_path):
    args = [scene_path, "--detector", "lrx", "--window", "3,9", "--tile-size", TILE, "--pfa", "1e-2"]
    for mode, extra in (("single", []), ("cluster", ["--scheduler", client.scheduler.address])):
        result = detect(*args, "-o", tmp_path / f"{mode}.tif", "--report", tmp_path / f"{mode}.json",
                        "--detections", tmp_path / f"{mode}.geojson", *extra)
        assert result.exit_code == 0, result.output
        assert f"{mode}.tif: lrx on 64x80x12" in result.stderr
    expected, expected_geo = read_map(tmp_path / "single.tif")
    actual, actual_geo = read_map(tmp_path / "cluster.tif")
    assert actual_geo == expected_geo and actual.tobytes() == expected.tobytes()  # same bits (issue 21)
    single, cluster = (json.loads((tmp_path / f"{m}.json").read_text()) for m in ("single", "cluster"))
    assert (cluster["strips"], cluster["workers"], cluster["scheduler"]) == (4, 2, client.scheduler.address)
    assert cluster["detections"]["count"] == single["detections"]["count"] >= 1


def test_scheduler_local_starts_and_stops_its_own_cluster(scene_path, tmp_path):
    result = detect(scene_path, "-o", tmp_path / "map.tif", "--detector", "grx", "--tile-size", TILE,
                    "--scheduler", "local", "--workers", "2", "--report", tmp_path / "run.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["workers"] == 2 and report["scheduler"].startswith("tcp://127.0.0.1:")
    single = detect(scene_path, "-o", tmp_path / "single.tif", "--detector", "grx", "--tile-size", TILE)
    assert single.exit_code == 0
    # the same bits as one process (issue 21), default float32 GRX included
    assert read_map(tmp_path / "map.tif")[0].tobytes() == read_map(tmp_path / "single.tif")[0].tobytes()


@pytest.mark.parametrize("args, message", [
    (["--workers", "2"], "only with --scheduler local"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "only with --scheduler local"),
    (["--scheduler", "my-cluster"], "expected 'local' or an address"),
    (["--scheduler", "local", "--workers", "0"], "--workers"),
])
def test_scheduler_usage_errors_exit_2(scene_path, tmp_path, args, message):
    result = detect(scene_path, "-o", tmp_path / "map.tif", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "map.tif").exists()


def test_a_missing_dask_is_one_line_naming_the_extra(scene_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result = detect(scene_path, "-o", tmp_path / "map.tif", "--scheduler", "local")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "pip install 'hadinfer[dask]'" in result.stderr


def test_hadinfer_and_its_cli_do_not_import_dask():
    code = ("import sys, hadinfer, hadinfer.cli.main, hadinfer.cli.scheduled, hadinfer.dask\n"
            "from click.testing import CliRunner\n"
            "assert CliRunner().invoke(hadinfer.cli.main.cli, ['detect', '--help']).exit_code == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
