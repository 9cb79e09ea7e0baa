"""Overlapping tile windows read with shared reads: the same windows as separate reads, read fewer times."""

import numpy as np
import pytest

from hadinfer.errors import RasterReadError
from hadinfer.io import halo_reads, open_scene
from hadinfer.io.halo_reads import shared_halo_reads
from hadinfer.tiling import tile_windows

from ..conftest import write_geotiff

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis (extra 'test')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY = settings(max_examples=150, deadline=None)  # deadline=None: a busy shared machine


class CountingReads:
    """``read_into`` over an in-memory (bands, rows, cols) image, counting how often each pixel is read."""

    def __init__(self, image):
        self.image = image
        self.reads = np.zeros(image.shape[1:], dtype=int)

    def __call__(self, window, out):
        rows, cols = window.toslices()
        out[...] = self.image[:, rows, cols]
        self.reads[rows, cols] += 1


def separate(image, tiles):
    return [np.moveaxis(image[(slice(None),) + tile.read.toslices()], 0, -1) for tile in tiles]


@PROPERTY
@given(height=st.integers(1, 40), width=st.integers(1, 40), tile=st.integers(1, 17), halo=st.integers(0, 20),
       min_read=st.integers(1, 30), first_row=st.integers(0, 5), rows=st.integers(1, 6), pixel_major=st.booleans())
def test_windows_equal_separate_reads(height, width, tile, halo, min_read, first_row, rows, pixel_major):
    """Any grid (halos wider than a tile, edge tiles grown to a minimum read, whole rows of tiles from
    the middle of the image as a cluster strip reads them), in either layout: every window is what
    one read of it gives."""
    image = np.arange(3 * height * width, dtype=np.int32).reshape(3, height, width)
    tiles = tile_windows((height, width), tile, halo=halo, min_read=min_read)
    starts = sorted({t.core.row_off for t in tiles})[first_row:first_row + rows]
    tiles = [t for t in tiles if t.core.row_off in starts]
    got = list(shared_halo_reads(CountingReads(image), tiles, 3, np.int32, pixel_major=pixel_major))
    assert len(got) == len(tiles)
    for window, expected in zip(got, separate(image, tiles)):
        np.testing.assert_array_equal(window, expected)
        if pixel_major:  # as a pixel-interleaved file holds it
            assert window.flags["C_CONTIGUOUS"]
        else:  # band-major, as rasterio reads
            assert np.moveaxis(window, -1, 0).flags["C_CONTIGUOUS"]


def blocks_touched(window, block):
    """Indices of the ``block``-pixel file blocks a window touches (GDAL reads each of them whole)."""
    rows, cols = window.toslices()
    return [(r, c) for r in range((rows.start // block), (rows.stop - 1) // block + 1)
            for c in range((cols.start // block), (cols.stop - 1) // block + 1)]


def test_each_file_block_read_four_times_instead_of_nine():
    """``fusion``'s geometry (20-pixel halo, tiles on the file's blocks): separate reads read every
    interior block nine times, shared reads four (as a core, as a right halo, in two strips)."""
    image = np.random.default_rng(0).integers(0, 1000, size=(2, 256, 256)).astype(np.int16)
    tiles = tile_windows((256, 256), 64, halo=20)
    calls = []

    def read_into(window, out):
        calls.append(window)
        rows, cols = window.toslices()
        out[...] = image[:, rows, cols]

    for window, expected in zip(shared_halo_reads(read_into, tiles, 2, np.int16), separate(image, tiles)):
        np.testing.assert_array_equal(window, expected)
    shared, separately = np.zeros((4, 4), dtype=int), np.zeros((4, 4), dtype=int)
    for window in calls:
        for block in blocks_touched(window, 64):
            shared[block] += 1
    for tile in tiles:
        for block in blocks_touched(tile.read, 64):
            separately[block] += 1
    assert separately[1:3, 1:3].min() == 9
    assert shared.max() <= 4
    assert shared.sum() < 0.6 * separately.sum()


def test_strips_over_the_limit_read_whole_windows(monkeypatch):
    monkeypatch.setattr(halo_reads, "STRIP_LIMIT_BYTES", 64)
    image = np.arange(2 * 30 * 30, dtype=np.int16).reshape(2, 30, 30)
    tiles = tile_windows((30, 30), 10, halo=3)
    counting = CountingReads(image)
    for window, expected in zip(shared_halo_reads(counting, tiles, 2, np.int16), separate(image, tiles)):
        np.testing.assert_array_equal(window, expected)
    separately = np.zeros((30, 30), dtype=int)
    for tile in tiles:
        separately[tile.read.toslices()] += 1
    np.testing.assert_array_equal(counting.reads, separately)


@pytest.mark.parametrize("tiled, interleave", [(True, "band"), (True, "pixel"), (False, "band")])
def test_a_geotiff_scene_reads_the_same_windows_and_masks(tmp_path, tiled, interleave):
    """Through rasterio's ``read(out=...)`` into views: the same cubes, validity and layout as read_window."""
    rng = np.random.default_rng(1)
    cube = rng.integers(-500, 500, size=(70, 53, 5)).astype(np.int16)
    cube[3:9, 40:47] = -9999  # nodata pixels across a tile boundary
    path = write_geotiff(tmp_path / "s.tif", cube, nodata=-9999, tiled=tiled, block=16, interleave=interleave)
    with open_scene(path) as scene:
        tiles = tile_windows((70, 53), 16, halo=5)
        for tile, (got, valid) in zip(tiles, scene.read_tiles(tiles)):
            expected, expected_valid = scene.read_window(tile.read)
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(valid, expected_valid)
            assert got.strides == expected.strides
        assert not all(valid.all() for _, valid in scene.read_tiles(tiles))


def test_a_read_error_names_the_file(tmp_path):
    cube = np.ones((20, 20, 2), dtype=np.int16)
    path = write_geotiff(tmp_path / "s.tif", cube, tiled=True, block=16)
    with open_scene(path) as scene:
        tiles = tile_windows((20, 20), 16, halo=2)
        scene._ds.close()  # a closed dataset cannot be read
        with pytest.raises(RasterReadError, match="s.tif: cannot read pixels"):
            next(iter(scene.read_tiles(tiles)))


def scene_copy(folder, shape, nodata_patch, driver, options, name, seed):
    """An int16 cube with a nodata patch, written as a tiled GeoTIFF and copied to ``driver`` with
    ``options``: ``(cube, path of the copy)``."""
    import rasterio
    from rasterio.shutil import copy as copy_dataset

    cube = np.random.default_rng(seed).integers(-500, 500, size=shape).astype(np.int16)
    cube[nodata_patch] = -9999
    source = write_geotiff(folder / "s.tif", cube, nodata=-9999, tiled=True, block=16)
    with rasterio.open(source) as ds:
        copy_dataset(ds, folder / name, driver=driver, **options)
    return cube, folder / name


@pytest.mark.parametrize("driver, options", [("ENVI", {"interleave": "bsq"}), ("ENVI", {"interleave": "bil"}),
                                             ("ENVI", {"interleave": "bip"}), ("VRT", {})])
def test_other_drivers_read_the_same_windows(tmp_path, driver, options):
    """Shared reads through drivers other than GeoTIFF: ENVI in its three interleaves (no
    blocks: GDAL reads it by lines), and a VRT over a tiled GeoTIFF."""
    cube, path = scene_copy(tmp_path, (61, 47, 4), (slice(10, 14), slice(20, 30)), driver, options,
                            "s.img" if driver == "ENVI" else "s.vrt", seed=2)
    with open_scene(path) as scene:
        assert scene.info.shape == (61, 47, 4) and scene.info.driver == driver
        tiles = tile_windows((61, 47), 16, halo=5)
        for tile, (got, valid) in zip(tiles, scene.read_tiles(tiles)):
            expected, expected_valid = scene.read_window(tile.read)
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(valid, expected_valid)
            truth = cube[tile.read.toslices()]  # the file's pixels, where they are valid
            np.testing.assert_array_equal(valid, (truth != -9999).all(axis=2))
            np.testing.assert_array_equal(got[valid], truth[valid])
        assert not all(valid.all() for _, valid in scene.read_tiles(tiles))


def pixel_major(window) -> bool:
    """Whether a (rows, cols, bands) window lies pixel by pixel (each pixel's bands adjacent)."""
    return window.flags["C_CONTIGUOUS"] and window.shape[2] > 1


@pytest.mark.parametrize("driver, options, direct_io, expected", [
    ("GTiff", {"interleave": "pixel", "tiled": True, "blockxsize": 16, "blockysize": 16}, True, True),
    ("GTiff", {"interleave": "pixel"}, True, True),
    ("GTiff", {"interleave": "pixel", "tiled": True, "blockxsize": 16, "blockysize": 16}, False, False),
    ("GTiff", {"interleave": "pixel", "tiled": True, "blockxsize": 16, "blockysize": 16, "compress": "deflate"},
     True, False),
    ("GTiff", {"interleave": "pixel", "compress": "lzw"}, True, False),
    ("GTiff", {"interleave": "band", "tiled": True, "blockxsize": 16, "blockysize": 16}, True, False),
    ("ENVI", {"interleave": "bip"}, False, True),
    ("ENVI", {"interleave": "bil"}, False, False),
    ("ENVI", {"interleave": "bsq"}, False, False)])
def test_pixel_interleaved_files_are_read_pixel_major(tmp_path, driver, options, direct_io, expected):
    """Windows lie as the file holds them (pixel-major for ENVI BIP, and for uncompressed
    pixel-interleaved GeoTIFFs while GTIFF_DIRECT_IO is on), band-major otherwise; the pixels are
    the file's either way, through shared halo reads, whole reads and band selections."""
    import rasterio

    cube, path = scene_copy(tmp_path, (45, 38, 5), (slice(7, 12), slice(30, 36)), driver, options,
                            "c.img" if driver == "ENVI" else "c.tif", seed=3)
    with rasterio.Env(GTIFF_DIRECT_IO=direct_io):
        for bands, selected in ((None, slice(None)), ("2,4-5", [1, 3, 4])):
            with open_scene(path, bands=bands) as scene:
                tiles = tile_windows((45, 38), 16, halo=4)
                for tile, (got, valid) in zip(tiles, scene.read_tiles(tiles)):
                    truth = cube[tile.read.toslices()][:, :, selected]
                    assert pixel_major(got) == expected
                    np.testing.assert_array_equal(valid, (cube[tile.read.toslices()] != -9999).all(axis=2))
                    np.testing.assert_array_equal(got[valid], truth[valid])
                whole, valid = scene.read_window(tile_windows((45, 38), 64)[0].read)
                assert pixel_major(whole) == expected
                np.testing.assert_array_equal(valid, (cube != -9999).all(axis=2))
                np.testing.assert_array_equal(whole[valid], cube[..., selected][valid])
