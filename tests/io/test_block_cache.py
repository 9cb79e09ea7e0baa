"""GDAL's block cache: about none, except three rows of blocks for a halo detector on a compressed file."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import hadinfer
from hadinfer.io import block_cache, open_scene
from hadinfer.io.block_cache import halo_cache_bytes
from hadinfer.synthetic import make_cube

from ..conftest import write_geotiff


def write_deflate(path, cube):
    height, width, bands = cube.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=bands, dtype=cube.dtype,
                       crs="EPSG:32633", transform=from_origin(500000, 4600000, 2, 2), tiled=True,
                       blockxsize=32, blockysize=32, compress="deflate") as ds:
        ds.write(np.moveaxis(cube, -1, 0))
    return path


@pytest.fixture
def cube():
    values, _ = make_cube(96, 80, 8, seed=2)
    return (values * 1000).astype(np.int16)


def test_only_a_halo_on_a_compressed_file_asks_for_a_cache(tmp_path, cube):
    compressed = open_scene(write_deflate(tmp_path / "c.tif", cube)).info
    plain = open_scene(write_geotiff(tmp_path / "p.tif", cube, tiled=True, block=32)).info
    assert compressed.compression == "deflate" and plain.compression is None
    # a 32 + 2 x 20 pixel read window spans up to 4 x 4 blocks of 32, but the image has only
    # 3 x 3 (96 x 80 px); 8 bands of int16, and a margin
    window = 3 * 3 * 32 * 32 * 8 * 2
    assert halo_cache_bytes(compressed, 20, tile=32) == window + window // 16 + 2**20
    assert halo_cache_bytes(compressed, 20, tile=8) == 3 * 3 * 32 * 32 * 8 * 2 * 17 // 16 + 2**20  # 8 + 40: 3 x 3
    assert halo_cache_bytes(compressed, 0) is None and halo_cache_bytes(plain, 20) is None


def test_a_cache_larger_than_its_limit_is_not_asked_for(tmp_path, cube, monkeypatch):
    info = open_scene(write_deflate(tmp_path / "c.tif", cube)).info
    monkeypatch.setattr(block_cache, "AUTO_LIMIT_BYTES", 2**20)
    assert halo_cache_bytes(info, 20, tile=32) is None
    monkeypatch.setattr(block_cache, "AUTO_LIMIT_BYTES", 2**30)
    monkeypatch.setattr(block_cache, "physical_memory", lambda: 16 * 2**20)  # a sixteenth: 1 MiB
    assert halo_cache_bytes(info, 20, tile=32) is None


def test_the_run_reports_its_cache_and_the_map_does_not_depend_on_it(tmp_path, cube, monkeypatch):
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    scene = write_deflate(tmp_path / "c.tif", cube)
    auto = hadinfer.detect(scene, detector="fusion", tile_size=32)
    assert auto.report["gdal_cache_mb"] == round(halo_cache_bytes(open_scene(scene).info, 20, 32) / 2**20, 3)
    small = hadinfer.detect(scene, detector="fusion", tile_size=32, gdal_cache_mb=1)
    assert small.report["gdal_cache_mb"] == 1.0
    assert np.array_equal(auto.scores, small.scores, equal_nan=True)
    assert hadinfer.detect(scene, detector="grx").report["gdal_cache_mb"] == 1.0  # no halo: nothing read twice


@pytest.mark.parametrize("bad", [None, "x", -5])
def test_a_bad_tile_size_is_still_a_one_line_error_on_a_compressed_file(tmp_path, cube, bad):
    scene = write_deflate(tmp_path / "c.tif", cube)
    with pytest.raises(hadinfer.HadinferError, match="^tile_size: "):
        hadinfer.detect(scene, detector="fusion", tile_size=bad)
