"""A scene's file layout changes how it is read, never its map: every interleave gives the same bits."""

import numpy as np
import pytest
import rasterio
from rasterio._env import get_gdal_config
from rasterio.shutil import copy as copy_dataset

import hadinfer

from .conftest import write_geotiff

LAYOUTS = {
    "geotiff-band-tiled": ("GTiff", {"interleave": "band", "tiled": True, "blockxsize": 16, "blockysize": 16}),
    "geotiff-pixel-tiled": ("GTiff", {"interleave": "pixel", "tiled": True, "blockxsize": 16, "blockysize": 16}),
    "geotiff-pixel-striped": ("GTiff", {"interleave": "pixel"}),
    "geotiff-pixel-deflate": ("GTiff", {"interleave": "pixel", "tiled": True, "blockxsize": 16, "blockysize": 16,
                                        "compress": "deflate"}),
    "envi-bip": ("ENVI", {"interleave": "bip"}),
    "envi-bil": ("ENVI", {"interleave": "bil"}),
    "envi-bsq": ("ENVI", {"interleave": "bsq"}),
}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict:
    """The same 40 x 36 x 12 int16 scene (a planted anomaly, a nodata patch) in every layout."""
    folder = tmp_path_factory.mktemp("layouts")
    rng = np.random.default_rng(11)
    cube = (rng.normal(size=(40, 36, 3)) @ rng.normal(size=(3, 12)) * 50 + 1000
            + rng.normal(scale=5, size=(40, 36, 12)))
    cube[10, 20] += np.linspace(-80, 80, 12)
    cube = cube.astype(np.int16)
    cube[30:33, 2:6] = -9999
    source = write_geotiff(folder / "source.tif", cube, nodata=-9999, tiled=True, block=16)
    paths = {}
    with rasterio.open(source) as ds:
        for name, (driver, options) in LAYOUTS.items():
            paths[name] = folder / (name + (".img" if driver == "ENVI" else ".tif"))
            copy_dataset(ds, paths[name], driver=driver, **options)
    # ENVI BIP written big-endian ("byte order = 1"): GDAL swaps while it fills the pixel-major window
    paths["envi-bip-big-endian"] = big = folder / "envi-bip-big-endian.img"
    with rasterio.open(source) as ds:
        copy_dataset(ds, big, driver="ENVI", interleave="bip")
    np.fromfile(big, dtype="<i2").astype(">i2").tofile(big)
    header = big.with_suffix(".hdr")
    header.write_text(header.read_text().replace("byte order = 0", "byte order = 1"))
    for side in folder.glob("*.aux.xml"):  # statistics GDAL saved while copying: not the files' own
        side.unlink()
    return paths


@pytest.mark.parametrize("detector", ["grx", "fusion", "learned"])
def test_every_layout_gives_the_same_map_to_the_bit(layouts, detector):
    maps = {name: hadinfer.detect(path, detector=detector, tile_size=16).scores for name, path in layouts.items()}
    reference = maps.pop("geotiff-band-tiled")
    assert np.isnan(reference[31, 3]) and np.isfinite(reference[10, 20])
    for name, scores in maps.items():
        np.testing.assert_array_equal(scores, reference, err_msg=name)


def read_options_during_run(path) -> set:
    seen = set()
    hadinfer.detect(path, detector="grx", progress=lambda *a: seen.add(
        (get_gdal_config("GTIFF_DIRECT_IO"), get_gdal_config("GDAL_ONE_BIG_READ"))))
    return seen


def test_a_run_reads_past_the_block_cache_unless_told_otherwise(layouts, monkeypatch):
    """GTIFF_DIRECT_IO and GDAL_ONE_BIG_READ are on during a run (what lets pixel-interleaved
    GeoTIFFs be read pixel-major, and raw files by window), off again after it, and a user's own
    setting wins."""
    for name in ("GTIFF_DIRECT_IO", "GDAL_ONE_BIG_READ"):
        monkeypatch.delenv(name, raising=False)
    assert read_options_during_run(layouts["geotiff-pixel-tiled"]) == {("YES", "YES")}
    assert get_gdal_config("GTIFF_DIRECT_IO") is None and get_gdal_config("GDAL_ONE_BIG_READ") is None
    monkeypatch.setenv("GTIFF_DIRECT_IO", "NO")
    assert read_options_during_run(layouts["envi-bil"]) == {("NO", "YES")}
    monkeypatch.delenv("GTIFF_DIRECT_IO")
    with rasterio.Env(GDAL_ONE_BIG_READ="NO"):  # a caller's own rasterio.Env counts too
        assert read_options_during_run(layouts["envi-bil"]) == {("YES", "NO")}
