"""ScoreMapWriter: blocks assembled from tiles in any order land exactly once, intact."""

import dataclasses

import numpy as np
import pytest
import rasterio

import hadinfer
from hadinfer.io.writer import ScoreMapWriter

from ..conftest import write_geotiff


@pytest.fixture
def big_info(tmp_path):
    """A 300 x 270 scene's info: blocks of 256 x 256, so the last row and column are short."""
    tif = write_geotiff(tmp_path / "in.tif", np.zeros((300, 270, 2), np.int16), nodata=-9999)
    with hadinfer.open_scene(tif) as scene:
        return scene.info


def tiles(height, width, size):
    return [(r, c, min(size, height - r), min(size, width - c))
            for r in range(0, height, size) for c in range(0, width, size)]


def read_map(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.nodata


def test_tiles_in_any_order_give_the_full_map(tmp_path, big_info):
    expected = np.random.default_rng(0).normal(size=(300, 270)).astype(np.float32)
    expected[5:9, 100:120] = np.nan
    order = tiles(300, 270, 37)
    np.random.default_rng(1).shuffle(order)
    with ScoreMapWriter(tmp_path / "map.tif", big_info) as writer:
        for r, c, h, w in order:
            writer.write(r, c, expected[r:r + h, c:c + w])
    written, nodata = read_map(tmp_path / "map.tif")
    assert nodata == -9999
    np.testing.assert_array_equal(written, np.where(np.isnan(expected), np.float32(-9999), expected))


def test_a_wide_map_holds_blocks_not_rows(tmp_path):
    """Tiles as the runtime writes them (row by row) leave a few blocks waiting, whatever the width."""
    import tracemalloc

    tif = write_geotiff(tmp_path / "in.tif", np.zeros((512, 8192, 1), np.int16))
    with hadinfer.open_scene(tif) as scene:
        info = scene.info
    tile = np.ones((256, 256), dtype=np.float32)
    tracemalloc.start()
    try:
        with ScoreMapWriter(tmp_path / "map.tif", info) as writer:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for r, c, _, _ in tiles(512, 8192, 256):
                writer.write(r, c, tile * (r + c))
            peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # two rows of the map would be 16 MiB
    written, _ = read_map(tmp_path / "map.tif")
    assert written[300, 5000] == 256 + 4864 and written[0, 0] == 0


def test_unwritten_pixels_are_nodata_and_rewrites_win(tmp_path, big_info):
    info = dataclasses.replace(big_info, nodata=None)
    values = np.arange(300 * 270, dtype=np.float32).reshape(300, 270)
    with ScoreMapWriter(tmp_path / "map.tif", info) as writer:
        for r, c, h, w in tiles(300, 270, 50):
            if (r, c) != (250, 250):  # leave one tile out
                writer.write(r, c, values[r:r + h, c:c + w])
        writer.write(10, 10, -values[10:20, 10:20])  # into block (0, 0), written or not
    written, nodata = read_map(tmp_path / "map.tif")
    assert np.isnan(nodata)
    assert np.isnan(written[250:, 250:]).all()
    np.testing.assert_array_equal(written[10:20, 10:20], -values[10:20, 10:20])
    keep = np.ones_like(values, dtype=bool)
    keep[250:, 250:] = keep[10:20, 10:20] = False
    np.testing.assert_array_equal(written[keep], values[keep])


def test_overviews_stay_in_range_and_keep_a_one_pixel_anomaly(tmp_path):
    from hadinfer.io.writer import OVERVIEW_RESAMPLING

    rng = np.random.default_rng(0)
    cube = (rng.normal(size=(600, 520, 3)) * 10 + 500).astype(np.float32)
    cube[301, 257] += 400  # one anomalous pixel
    scene = write_geotiff(tmp_path / "scene.tif", cube)
    for cog in (False, True):
        out = tmp_path / f"map-{cog}.tif"
        hadinfer.detect(scene, out, detector="grx", device="cpu", cog=cog)
        with rasterio.open(out) as ds:
            full = ds.read(1)
            assert ds.overviews(1)[0] == 2
            assert cog or ds.tags(ns="rio_overview")["resampling"] == OVERVIEW_RESAMPLING
            half = ds.read(1, out_shape=(300, 260))
        assert half.min() >= full.min() and half.max() <= full.max()
        assert half.max() > 50 * np.median(half), (half.max(), np.median(half))


def test_map_carries_provenance_statistics_and_a_band_description(tmp_path, small_cube):
    pytest.importorskip("onnxruntime", reason="the shipped model runs on onnxruntime")
    import hashlib
    import json

    from hadinfer.weights import shipped_model

    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    for detector, cog in (("grx", False), ("general", True)):
        out = tmp_path / f"{detector}.tif"
        result = hadinfer.detect(scene, out, detector=detector, device="cpu", cog=cog)
        with rasterio.open(out) as ds:
            tags, band = ds.tags(), ds.tags(1)
            assert ds.descriptions[0].startswith("anomaly score")
            values = ds.read(1, masked=True).compressed()
        assert tags["HADINFER_VERSION"] == hadinfer.__version__ and tags["HADINFER_DETECTOR"] == result.report["detector"]
        assert json.loads(tags["HADINFER_PARAMS"]) == json.loads(result.report["provenance"]["params"])
        assert float(band["STATISTICS_MAXIMUM"]) == pytest.approx(values.max(), rel=1e-6)
        assert float(band["STATISTICS_MEAN"]) == pytest.approx(values.mean(), rel=1e-5)
        assert result.report["input"]["bytes"] == scene.stat().st_size
    expected = hashlib.sha256(shipped_model("general").read_bytes()).hexdigest()
    assert tags["HADINFER_MODEL_SHA256"] == expected == result.report["provenance"]["model_sha256"]


def test_outputs_open_cleanly_in_rio_tools(tmp_path, small_cube):
    rio_cogeo = pytest.importorskip("rio_cogeo.cogeo", reason="rio-cogeo not installed (test extra)")
    from click.testing import CliRunner
    from rasterio.rio.main import main_group

    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    cog = tmp_path / "cog.tif"
    hadinfer.detect(scene, cog, detector="grx", device="cpu", cog=True)
    valid, errors, _ = rio_cogeo.cog_validate(str(cog))
    assert valid, errors
    info = CliRunner().invoke(main_group, ["info", str(cog)])
    assert info.exit_code == 0 and '"crs": "EPSG:32633"' in info.output


@pytest.mark.parametrize("nodata", [0, -9999, 5])
def test_a_score_equal_to_the_nodata_value_is_not_read_back_as_nodata(tmp_path, big_info, nodata):
    """Maps keep the input's nodata; a valid score that equals it (0 is common) stays valid, order kept."""
    info = dataclasses.replace(big_info, nodata=nodata)
    values = np.random.default_rng(2).normal(size=(300, 270)).astype(np.float32) + nodata
    values[3, 4:8] = nodata  # valid scores that equal the nodata value
    values[9, 9] = np.nan  # a pixel not scored
    with ScoreMapWriter(tmp_path / "map.tif", info) as writer:
        writer.write(0, 0, values)
    written, kept = read_map(tmp_path / "map.tif")
    assert kept == nodata
    assert (written == nodata).sum() == 1 and written[9, 9] == nodata
    np.testing.assert_array_equal(written[3, 4:8], np.nextafter(np.float32(nodata), np.float32(np.inf)))
    scored = ~np.isnan(values)
    order = np.argsort(values[scored], kind="stable")
    assert (np.diff(written[scored][order]) >= 0).all()  # no pair changes its order (ties may form)
