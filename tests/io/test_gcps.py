"""Rasters georeferenced by ground control points (issue 20, cause 4): maps keep the GCPs, detections are refused."""

import os

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.errors import ParameterError

# A slightly rotated grid, as a scanner's GCPs would give: no geotransform in the file.
GCPS = [GroundControlPoint(row, col, 500000 + 2.0 * col + 0.3 * row, 4600000 - 2.0 * row + 0.2 * col, id=f"p{i}")
        for i, (row, col) in enumerate([(0, 0), (0, 36), (40, 0), (40, 36), (20, 18)])]


def write_gcp_scene(path, cube):
    height, width, bands = cube.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=bands, dtype=cube.dtype,
                       gcps=GCPS, crs=CRS.from_epsg(32633)) as ds:
        ds.write(np.moveaxis(cube, -1, 0))
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_the_map_keeps_the_scenes_gcps(tmp_path, small_cube, cog):
    # The map was written with no georeferencing at all: QGIS put it at (0, 0), far from its scene.
    scene = write_gcp_scene(tmp_path / "g.tif", small_cube.astype(np.int16))
    result = run("detect", scene, "-o", tmp_path / "m.tif", *(["--cog"] if cog else []))
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "m.tif") as ds:
        gcps, crs = ds.gcps
        assert ds.transform.is_identity and ds.crs is None
    assert crs == CRS.from_epsg(32633)
    assert [(g.row, g.col, g.x, g.y) for g in gcps] == [(g.row, g.col, g.x, g.y) for g in GCPS]


def test_scene_info_holds_the_gcps(tmp_path, small_cube):
    with hadinfer.open_scene(write_gcp_scene(tmp_path / "g.tif", small_cube)) as scene:
        assert len(scene.info.gcps) == len(GCPS) and scene.info.gcp_crs == CRS.from_epsg(32633)
    with hadinfer.open_scene(tmp_path / "g.tif", bands="1-3") as scene:  # any band selection
        assert len(scene.info.gcps) == len(GCPS)


@pytest.mark.parametrize("name", ["d.gpkg", "d.geojson"])
def test_detections_of_a_gcp_scene_are_refused_in_one_line(tmp_path, small_cube, name):
    if name.endswith(".gpkg"):
        pytest.importorskip("geopandas")
    scene = write_gcp_scene(tmp_path / "g.tif", small_cube.astype(np.int16))
    out = tmp_path / "out"
    out.mkdir()
    result = run("detect", scene, "-o", out / "m.tif", "--detections", out / name, "--pfa", "0.01")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ground control points" in lines[0] and "gdalwarp" in lines[0], result.stderr
    assert os.listdir(out) == []  # no map, no detections, no hidden file


def test_api_refuses_thresholding_a_gcp_scene_before_the_work(tmp_path, small_cube, monkeypatch):
    scene = write_gcp_scene(tmp_path / "g.tif", small_cube)

    def never(*args, **kwargs):
        raise AssertionError("the scene was scored")

    monkeypatch.setattr("hadinfer.api.run_detector", never)
    with pytest.raises(ParameterError, match="ground control points"):
        hadinfer.detect(scene, pfa=0.01)
