"""Vector detections: thresholds, polygons in the scene's CRS, GeoJSON and GeoPackage."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rasterio.transform import from_origin

from hadinfer.cli.main import cli
from hadinfer.vectors import chi2_isf, detection_threshold, find_detections
from hadinfer.errors import ParameterError

from .conftest import write_geotiff


def test_threshold_rules_quantile_chi2_and_absolute():
    scores = np.arange(1000, dtype=float).reshape(20, 50)
    assert detection_threshold(scores, threshold=5.0) == 5.0
    assert detection_threshold(scores, pfa=0.01, rule="quantile") == pytest.approx(np.quantile(scores, 0.99))
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
    import rasterio
    from rasterio.warp import transform_bounds

    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    out = tmp_path / f"det{suffix}"
    result = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(tmp_path / "map.tif"), "--detector", "grx",
                                      "--detections", str(out), "--pfa", "1e-3", "-q",
                                      "--report", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run.json").read_text())["detections"]
    assert report["rule"] == "tail" and report["count"] >= 1 and report["tail_model"]["scale"] == "log"
    with rasterio.open(scene) as ds:
        bounds, crs = ds.bounds, ds.crs
    if suffix == ".geojson":  # RFC 7946: WGS 84 longitude/latitude, no crs member
        collection = json.loads(out.read_text())
        assert "crs" not in collection
        bounds = transform_bounds(crs, "EPSG:4326", *bounds)
        coords = [c for f in collection["features"] for ring in f["geometry"]["coordinates"] for c in ring]
        spectrum = collection["features"][0]["properties"]["mean_spectrum"]  # a JSON array
        assert len(spectrum) == small_cube.shape[2]
    try:
        import geopandas
    except ImportError:
        geopandas = None
    if geopandas is not None:  # what a user of the vector stack opens it with
        frame = geopandas.read_file(out)
        assert frame.crs.to_epsg() == (4326 if suffix == ".geojson" else 32633) and len(frame) == report["count"]
        assert frame.geometry.is_valid.all()
        coords = [c for geom in frame.geometry for c in geom.exterior.coords]
    left, bottom, right, top = bounds
    eps = 1e-9
    assert all(left - eps <= x <= right + eps and bottom - eps <= y <= top + eps for x, y in coords)


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


def test_diagonal_regions_are_one_detection_with_valid_geometry():
    shapely = pytest.importorskip("shapely", reason="validity is checked with shapely (extra 'vector')")
    from shapely.geometry import shape

    rng = np.random.default_rng(3)
    scores = rng.random((30, 30))  # a random half of the pixels: 8-connected rings would self-touch
    found = find_detections(scores, from_origin(0, 30, 1, 1), threshold=0.5)
    assert all(shape(d.geometry).is_valid for d in found), shapely.__version__
    assert sum(d.pixels for d in found) == int((scores > 0.5).sum())
    pair = np.zeros((5, 5))
    pair[1, 1] = pair[2, 2] = 9  # touching only at a corner: one 8-connected region
    (one,) = find_detections(pair, from_origin(0, 5, 1, 1), threshold=1)
    assert one.pixels == 2 and one.geometry["type"] == "MultiPolygon" and shape(one.geometry).is_valid


def test_each_detection_carries_its_mean_spectrum():
    cube = np.zeros((6, 7, 3))
    cube[2:4, 3] = [[1, 2, 3], [3, 4, 5]]
    scores = np.zeros((6, 7))
    scores[2:4, 3] = 5
    (d,) = find_detections(scores, from_origin(0, 6, 1, 1), threshold=1, spectra=cube)
    np.testing.assert_allclose(d.spectrum, [2, 3, 4])
    assert (d.peak_row, d.peak_col) == (2, 3)
    assert json.loads(d.properties(1, 1.0)["mean_spectrum"]) == [2, 3, 4]


CUSTOM_CRS = ("+proj=lcc +lat_1=41 +lat_2=47 +lat_0=44 +lon_0=11.3 +x_0=600000 +y_0=0 +ellps=GRS80 +units=m "
              "+no_defs")


def _square_detection(transform):
    scores = np.zeros((8, 8))
    scores[3:5, 3:5] = 10
    return find_detections(scores, transform, threshold=1, spectra=np.ones((8, 8, 2)))


@pytest.mark.parametrize("vector_extra", [True, False])
def test_geojson_is_rfc7946_for_a_crs_without_epsg_code(tmp_path, monkeypatch, vector_extra):
    from rasterio.crs import CRS
    from rasterio.warp import transform as reproject_points

    import hadinfer.vectors as vectors

    if vector_extra:
        pytest.importorskip("geopandas", reason="the pyogrio writer needs the 'vector' extra")
    else:  # the small fallback writer of a core install
        monkeypatch.setattr(vectors, "_has_vector_extra", lambda: False)
    crs = CRS.from_proj4(CUSTOM_CRS)
    assert crs.to_epsg() is None
    transform = from_origin(600000, 100000, 10, 10)
    found = _square_detection(transform)
    path = tmp_path / "d.geojson"
    vectors.write_detections(path, found, crs, threshold=1.0)
    collection = json.loads(path.read_text())
    assert "crs" not in collection
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    xs, ys = reproject_points(crs, "EPSG:4326", [600030, 600050], [99970, 99950])
    assert min(x for x, _ in ring) == pytest.approx(min(xs), abs=1e-6)
    assert max(y for _, y in ring) == pytest.approx(max(ys), abs=1e-6)
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    assert area2 > 0  # exterior counter-clockwise (right-hand rule)
    props = collection["features"][0]["properties"]
    assert props["pixels"] == 4 and props["mean_spectrum"] == [1, 1]


def test_geopackage_keeps_a_crs_without_epsg_code(tmp_path):
    geopandas = pytest.importorskip("geopandas", reason="GeoPackage needs the 'vector' extra")
    from rasterio.crs import CRS

    from hadinfer.vectors import write_detections

    crs = CRS.from_proj4(CUSTOM_CRS)
    write_detections(tmp_path / "d.gpkg", _square_detection(from_origin(600000, 100000, 10, 10)), crs,
                     threshold=1.0)
    frame = geopandas.read_file(tmp_path / "d.gpkg")
    assert frame.crs is not None and CRS.from_wkt(frame.crs.to_wkt()) == crs
    assert frame.geometry.iloc[0].bounds == (600030, 99950, 600050, 99970)


def test_pixel_coordinates_are_never_written_as_geojson(tmp_path):
    from hadinfer.vectors import write_detections

    with pytest.raises(ParameterError, match="no CRS"):
        write_detections(tmp_path / "d.geojson", _square_detection(from_origin(0, 8, 1, 1)), None, threshold=1.0)
    assert not (tmp_path / "d.geojson").exists()


def test_geopackage_without_a_crs_has_none(tmp_path):
    geopandas = pytest.importorskip("geopandas", reason="GeoPackage needs the 'vector' extra")
    from hadinfer.vectors import write_detections

    write_detections(tmp_path / "d.gpkg", _square_detection(from_origin(0, 8, 1, 1)), None, threshold=1.0)
    assert geopandas.read_file(tmp_path / "d.gpkg").crs is None
