"""Numbers on the real dev scenes in ../shared/data/had (masks used only to score)."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli

from .conftest import had_scenes, needs_had, write_geotiff

SCENES = [pytest.param(row, id=row["file"].removesuffix(".mat")) for row in had_scenes()] or [
    pytest.param(None, marks=pytest.mark.skip(reason="dev scenes not found at ../shared/data/had"))]

# Pant et al., arXiv:2507.05730, Table 5 (global RX); the other two scenes are checked against MANIFEST.tsv.
PUBLISHED_GRX = {"abu-airport-1": 0.8221, "abu-airport-4": 0.9526, "abu-beach-1": 0.9807, "abu-beach-3": 0.9999,
                 "abu-urban-1": 0.9907, "abu-urban-3": 0.9513, "hydice-urban": 0.9857, "san-diego": 0.9403}


def cli_auc(scene, output, truth, *extra):
    runner = CliRunner()
    detected = runner.invoke(cli, ["detect", str(scene), "-o", str(output), "-q", "--detector", "grx", *extra])
    assert detected.exit_code == 0, detected.output
    evaluated = runner.invoke(cli, ["evaluate", str(output), "--truth", str(truth), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    return json.loads(evaluated.stdout)["auc_df"]


def expected_values(row):
    name = row["file"].removesuffix(".mat")
    return [float(row["global_rx_auc_selfcheck"])] + ([PUBLISHED_GRX[name]] if name in PUBLISHED_GRX else [])


@needs_had
@pytest.mark.parametrize("row", SCENES)
def test_grx_reproduces_published_auc_from_mat(row, had_dir, tmp_path):
    auc = cli_auc(had_dir / row["file"], tmp_path / "map.tif", had_dir / row["file"])
    for expected in expected_values(row):
        assert abs(auc - expected) <= 5e-4, (auc, expected)


@needs_had
@pytest.mark.parametrize("row", SCENES)
def test_grx_reproduces_published_auc_from_geotiff(row, had_dir, tmp_path):
    with hadinfer.open_scene(had_dir / row["file"]) as scene:
        raw = scene._read_raw(Window(0, 0, scene.info.width, scene.info.height))
    tif = write_geotiff(tmp_path / "scene.tif", np.ascontiguousarray(raw), tiled=True, block=32,
                        interleave="pixel" if raw.dtype == np.float64 else "band")
    assert str(raw.dtype) == row["dtype"]
    auc = cli_auc(tif, tmp_path / "map.tif", had_dir / row["file"], "--tile-size", "32")
    for expected in expected_values(row):
        assert abs(auc - expected) <= 5e-4, (auc, expected)


@needs_had
@pytest.mark.parametrize("detector,params,rtol", [
    ("grx", {"precision": "float64"}, 1e-5),
    # float32 statistics: per-window float32 scatters, rounding amplified by condition numbers up to 8e8
    ("grx", {}, 2e-4),
    ("lrx", {"n_components": 20}, 1e-5),
    ("lrx", {"inner": 3, "outer": 11, "n_components": None}, 1e-5)])
def test_map_does_not_depend_on_tile_size(detector, params, rtol, had_dir):
    bands = "1-40" if detector == "lrx" and params["n_components"] is None else None  # full-band LRX is slow
    maps = [hadinfer.detect(had_dir / "san-diego.mat", detector=detector, bands=bands, tile_size=size,
                            device="cpu", **params).scores for size in (32, 4096)]
    np.testing.assert_array_equal(np.isnan(maps[0]), np.isnan(maps[1]))
    np.testing.assert_allclose(maps[0], maps[1], rtol=rtol)


@needs_had
def test_geotiff_and_mat_give_the_same_map(had_dir, tmp_path):
    source = had_dir / "abu-urban-3.mat"
    with hadinfer.open_scene(source) as scene:
        raw = scene._read_raw(Window(0, 0, scene.info.width, scene.info.height))
    tif = write_geotiff(tmp_path / "scene.tif", np.ascontiguousarray(raw))
    a = hadinfer.detect(source, detector="lrx", n_components=10, device="cpu").scores
    b = hadinfer.detect(tif, detector="lrx", n_components=10, device="cpu", tile_size=16).scores
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_georeferencing_and_nodata_preserved(tmp_path, small_cube):
    cube = small_cube.astype(np.int16)
    cube[3:6, 2:4] = -9999  # nodata pixels
    transform = rasterio.transform.from_origin(612345.0, 5123456.0, 30.0, 30.0)
    scene = write_geotiff(tmp_path / "scene.tif", cube, nodata=-9999, crs="EPSG:32617", transform=transform)
    for detector in ("grx", "lrx"):
        out = tmp_path / f"{detector}.tif"
        window = ["--window", "3,9"] if detector == "lrx" else []
        result = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(out), "--detector", detector, *window,
                                          "-q", "--tile-size", "16"])
        assert result.exit_code == 0, result.output
        with rasterio.open(scene) as src, rasterio.open(out) as dst:
            assert dst.crs == src.crs and dst.transform == src.transform
            assert (dst.width, dst.height) == (src.width, src.height)
            assert dst.nodata == src.nodata and dst.dtypes == ("float32",) and dst.count == 1
            assert dst.profile["tiled"] and dst.compression is not None
            values = dst.read(1)
            assert (values[3:6, 2:4] == -9999).all()
            assert np.isfinite(values).all() and (values[10:, 10:] != -9999).all()


def test_cog_output(tmp_path):
    rng = np.random.default_rng(3)
    cube = (rng.normal(size=(600, 520, 4)) * 100 + 1000).astype(np.int16)
    scene = write_geotiff(tmp_path / "scene.tif", cube)
    out = tmp_path / "map.tif"
    result = CliRunner().invoke(cli, ["detect", str(scene), "-o", str(out), "--cog", "-q"])
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as ds:
        assert ds.overviews(1) and ds.profile["tiled"] and ds.crs is not None
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif", "scene.tif"]
