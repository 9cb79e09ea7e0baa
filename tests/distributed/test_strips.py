"""One scene in row strips across the cluster: the same map as one process, or a one-line error."""

from __future__ import annotations

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors import GlobalRX
from hadinfer.distributed.strip_detect import detect_strips
from hadinfer.distributed.strips import strip_extent, strip_plan
from hadinfer.errors import AllNodataError, InputNotFoundError, OutputExistsError, ParameterError
from hadinfer.tiling import tile_windows

from ..conftest import write_geotiff
from .conftest import TILE, max_relative_difference, read_map

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")


@pytest.mark.parametrize("strips", [None, 1, 2, 3, 7, 100])
def test_strip_plan_partitions_the_tiles_into_runs_of_whole_tile_rows(strips):
    tiles = tile_windows((100, 50), (16, 20), halo=3)
    plan = strip_plan(tiles, strips=strips)
    assert [t for strip in plan for t in strip] == tiles
    assert len(plan) == min(strips or 7, 7)
    extents = [strip_extent(strip) for strip in plan]
    assert extents[0][0] == 0 and sum(rows for _, rows in extents) == 100
    assert all(top + rows == nxt for (top, rows), (nxt, _) in zip(extents, extents[1:]))
    tile_rows = [len({t.core.row_off for t in strip}) for strip in plan]
    assert max(tile_rows) - min(tile_rows) <= 1  # spread evenly


@pytest.mark.parametrize("strips", [0, -1, 1.5])
def test_strip_plan_refuses_a_strip_count_below_one(strips):
    with pytest.raises(ParameterError, match="strips"):
        strip_plan(tile_windows((10, 10), 5), strips=strips)


# Identity (issue 21): the statistics are the same canonical windows summed exactly, and
# each tile is scored as in one process, so every difference is 0 (byte identity for
# every registered detector: test_identity.py).
# The network scores on its native 256-pixel tiles whatever tile_size says: a taller scene.
DETECTORS = [("grx", {"precision": "float64"}, "pixel", 0.0, "scene_path", (4, 20, 2)),
             ("grx", {}, "pixel", 0.0, "scene_path", (4, 20, 2)),
             ("lrx", {"inner": 3, "outer": 9}, "pixel", 0.0, "scene_path", (4, 20, 2)),
             ("general", {}, "map", 0.0, "tall_scene_path", (3, 3, 2))]


@pytest.mark.parametrize("detector, params, scale, tolerance, scene, plan", DETECTORS,
                         ids=["grx-float64", "grx", "lrx", "general"])
def test_cluster_map_equals_the_single_process_map(client, request, tmp_path, detector, params, scale, tolerance,
                                                  scene, plan):
    if detector == "general":
        pytest.importorskip("onnxruntime", reason="the shipped model runs on ONNX Runtime (extra 'onnx')")
    scene_path = request.getfixturevalue(scene)
    nodata = 12 if scene == "scene_path" else 0
    single = hadinfer.detect(scene_path, tmp_path / "single.tif", detector=detector, device="cpu", tile_size=TILE,
                             **params)
    result = detect_strips(scene_path, tmp_path / "cluster.tif", client=client, detector=detector, device="cpu",
                           tile_size=TILE, **params)
    expected, expected_geo = read_map(single.path)
    actual, actual_geo = read_map(result.path)
    assert actual_geo == expected_geo
    assert np.isnan(actual).sum() == nodata  # the nodata block, and nothing else
    pixel = max_relative_difference(actual, expected)
    of_map = np.nanmax(np.abs(actual - expected)) / np.nanmax(np.abs(expected))
    print(f"{detector} {params}: max relative difference {pixel:.2e} per pixel, {of_map:.2e} of the map's peak")
    assert (pixel if scale == "pixel" else of_map) <= tolerance
    report = result.report
    assert (report["strips"], report["tiles"], report["workers"]) == plan
    assert report["detector"] == single.report["detector"] and report["halo"] == single.report["halo"]
    assert report["tile_size"] == single.report["tile_size"]
    assert set(report["worker_peak_memory_mb"]) == set(client.scheduler_info()["workers"])


@pytest.mark.parametrize("strips", [1, 3])
def test_in_memory_map_and_the_fitted_detector_come_back(client, scene_path, strips):
    single = hadinfer.detect(scene_path, detector="grx", precision="float64", device="cpu", tile_size=TILE)
    result = detect_strips(scene_path, client=client, detector="grx", precision="float64", device="cpu",
                           tile_size=TILE, strips=strips)
    assert result.path is None and result.report["strips"] == strips
    assert result.scores.tobytes() == single.scores.tobytes()
    assert isinstance(result.detector, GlobalRX)
    np.testing.assert_allclose(result.detector.mean_, single.detector.mean_, rtol=1e-12)


def test_errors_are_one_line_hadinfer_errors(client, scene_path, tmp_path):
    with pytest.raises(InputNotFoundError):
        detect_strips(tmp_path / "missing.tif", client=client, detector="grx")
    (tmp_path / "taken.tif").write_bytes(b"")
    with pytest.raises(OutputExistsError):
        detect_strips(scene_path, tmp_path / "taken.tif", client=client, detector="grx")
    with pytest.raises(ParameterError, match="adapt"):
        detect_strips(scene_path, client=client, detector="adapt")
    with pytest.raises(ParameterError, match="instance"):
        detect_strips(scene_path, client=client, detector=GlobalRX())
    with pytest.raises(ParameterError, match="file path"):
        detect_strips(np.zeros((8, 8, 3)), client=client, detector="grx")
    with pytest.raises(ParameterError, match="^creation_options: ZLEVEL=99: expected an integer"):
        detect_strips(scene_path, tmp_path / "co.tif", client=client, detector="grx", creation_options={"zlevel": 99})
    assert not (tmp_path / "co.tif").exists()


def test_an_all_nodata_scene_fails_after_the_statistics_with_nothing_written(client, tmp_path):
    path = write_geotiff(tmp_path / "empty.tif", np.full((32, 32, 4), -9999, dtype=np.int16), nodata=-9999)
    with pytest.raises(AllNodataError):
        detect_strips(path, tmp_path / "map.tif", client=client, detector="grx", tile_size=TILE)
    assert list(tmp_path.iterdir()) == [path]
