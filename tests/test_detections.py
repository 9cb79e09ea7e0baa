"""Vector detections: thresholds, polygons in the scene's CRS, GeoJSON and GeoPackage."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from hadinfer.cli.main import cli
from hadinfer.detections import chi2_isf, detection_threshold, find_detections
from hadinfer.errors import ParameterError

from .conftest import write_geotiff


def test_thresholds_chi2_quantile_and_absolute():
    scores = np.arange(1000, dtype=float).reshape(20, 50)
    assert detection_threshold(scores, threshold=5.0) == 5.0
    assert detection_threshold(scores, pfa=0.01) == pytest.approx(np.quantile(scores, 0.99))
    assert chi2_isf(0.05, 10) == pytest.approx(18.307, rel=1e-3)
    assert detection_threshold(scores, pfa=0.05, chi2_dof=10) == pytest.approx(18.307, rel=1e-3)
    with pytest.raises(ParameterError, match="exactly one"):
        detection_threshold(scores)
    with pytest.raises(ParameterError, match="pfa"):
        detection_threshold(scores, pfa=1.5)


def test_regions_become_polygons_with_their_statistics():
    scores = np.zeros((10, 12))
    scores[2:4, 3:5] = [[5, 6], [7, 8]]  # a 2x2 region
    scores[7, 9] = 9  # a single pixel, diagonal to nothing
    scores[0, 0] = np.nan
    transform = from_origin(1000, 2000, 10, 10)
    found = find_detections(scores, transform, threshold=1.0)
    assert [d.pixels for d in found] == [1, 4] and found[0].max_score == 9
    square = found[1]
    assert square.mean_score == pytest.approx(6.5) and square.area == pytest.approx(400)
    assert (square.centroid_x, square.centroid_y) == pytest.approx((1040, 1970))
    xs = [x for ring in square.geometry["coordinates"] for x, _ in ring]
    assert min(xs) == 1030 and max(xs) == 1050


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_cli_detections_lie_inside_the_scene_and_open_in_geopandas(tmp_path, small_cube, suffix):
    if suffix == ".gpkg":
        pytest.importorskip("geopandas", reason="GeoPackage needs geopandas (extra 'vector')")
    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    out = tmp_path / f"det{suffix}"
    result = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(tmp_path / "map.tif"), "--detector", "grx",
                                      "--detections", str(out), "--pfa", "1e-3", "-q",
                                      "--report", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run.json").read_text())["detections"]
    assert report["rule"] == "chi2" and report["count"] >= 1
    import rasterio

    with rasterio.open(scene) as ds:
        left, bottom, right, top = ds.bounds
    if suffix == ".geojson":
        collection = json.loads(out.read_text())
        assert collection["crs"]["properties"]["name"].endswith("EPSG::32633")
        coords = [c for f in collection["features"] for ring in f["geometry"]["coordinates"] for c in ring]
    try:
        import geopandas
    except ImportError:
        geopandas = None
    if geopandas is not None:  # what a user of the vector stack opens it with
        frame = geopandas.read_file(out)
        assert frame.crs.to_epsg() == 32633 and len(frame) == report["count"]
        coords = [c for geom in frame.geometry for c in geom.exterior.coords]
    assert all(left <= x <= right and bottom <= y <= top for x, y in coords)


def test_cli_detections_need_exactly_one_rule(tmp_path, small_tif):
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "m.tif"),
                                      "--detections", str(tmp_path / "d.geojson"), "-q"])
    assert result.exit_code == 2 and "exactly one" in result.output
    assert not (tmp_path / "m.tif").exists()


def test_cli_detection_mask_raster(tmp_path, small_cube):
    import rasterio

    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    result = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(tmp_path / "map.tif"), "--detector", "grx",
                                      "--detections", str(tmp_path / "d.geojson"), "--threshold", "100",
                                      "--detections-mask", str(tmp_path / "mask.tif"), "-q"])
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "mask.tif") as ds, rasterio.open(tmp_path / "map.tif") as m:
        mask, scores = ds.read(1), m.read(1)
        assert (ds.crs, ds.transform) == (m.crs, m.transform) and ds.nodata == 255
    np.testing.assert_array_equal(mask == 1, scores > 100)
    alone = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(tmp_path / "m2.tif"),
                                     "--detections-mask", str(tmp_path / "mask2.tif")])
    assert alone.exit_code == 2 and "needs --detections" in alone.output
