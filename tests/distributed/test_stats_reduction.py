"""Global statistics as a tree reduction: exact merge, on one process and across the cluster."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hadinfer.detectors import BackgroundStats
from hadinfer.distributed.specs import SceneSource
from hadinfer.distributed.stats_reduction import merge_stats, strip_stats, tree_reduce
from hadinfer.distributed.strips import strip_plan
from hadinfer.errors import ParameterError
from hadinfer.io import open_scene
from hadinfer.tiling import tile_windows

from .conftest import TILE


def _flatten(item):
    return [item] if not isinstance(item, tuple) else [x for part in item for x in _flatten(part)]


def _depth(item):
    return 0 if not isinstance(item, tuple) else 1 + max(_depth(part) for part in item)


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 9, 16, 17])
@pytest.mark.parametrize("split_every", [2, 3, 8])
def test_tree_reduce_keeps_every_item_once_in_order_at_logarithmic_depth(count, split_every):
    tree = tree_reduce(list(range(count)), lambda *group: tuple(group), split_every=split_every)
    assert _flatten(tree) == list(range(count))
    assert _depth(tree) == (math.ceil(math.log(count, split_every) - 1e-12) if count > 1 else 0)


@pytest.mark.parametrize("items, split_every", [([], 8), ([1, 2], 1), ([1, 2], 2.5)])
def test_tree_reduce_refuses_nothing_and_fan_in_below_two(items, split_every):
    with pytest.raises(ParameterError):
        tree_reduce(items, lambda *g: g, split_every=split_every)


def test_merge_stats_leaves_its_inputs_unchanged():
    rng = np.random.default_rng(0)
    a, b = BackgroundStats(4).update(rng.normal(size=(30, 4))), BackgroundStats(4).update(rng.normal(size=(20, 4)))
    before = [(s.count_, s.mean_.copy(), s.scatter_.copy()) for s in (a, b)]
    merged = merge_stats(a, b)
    assert merged.count_ == 50
    for s, (count, mean, scatter) in zip((a, b), before):
        assert s.count_ == count and np.array_equal(s.mean_, mean) and np.array_equal(s.scatter_, scatter)
    with pytest.raises(ParameterError):
        merge_stats()


def _all_valid_pixels(path):
    with open_scene(path) as scene:
        cube, valid = scene.read_all()
    return cube[valid]


def test_tree_merged_strip_statistics_on_the_cluster_equal_np_cov_of_all_pixels(client, scene_path):
    source = SceneSource.from_path(scene_path)
    with source.open() as scene:
        info = scene.info
    plan = strip_plan(tile_windows((info.height, info.width), TILE), strips=4)
    leaves = [client.submit(strip_stats, source, tiles, pure=False) for tiles in plan]
    merged = tree_reduce(leaves, lambda *parts: client.submit(merge_stats, *parts, pure=False), split_every=2)
    stats = merged.result()
    pixels = _all_valid_pixels(scene_path)
    expected = np.cov(pixels, rowvar=False)
    difference = np.max(np.abs(stats.covariance() - expected)) / np.max(np.abs(expected))
    print(f"tree-merged covariance vs np.cov: max relative difference {difference:.2e}")
    assert stats.count_ == len(pixels) == info.height * info.width - 12  # the 3 x 4 nodata block is left out
    np.testing.assert_allclose(stats.mean_, pixels.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance(), expected, rtol=1e-10, atol=1e-10 * np.max(np.abs(expected)))


def test_workers_read_scenes_past_the_block_cache_and_pixel_major(tmp_path, monkeypatch):
    """A worker task reads as one process does (hadinfer.io.read_options): GTIFF_DIRECT_IO and
    GDAL_ONE_BIG_READ on while it reads, a pixel-interleaved GeoTIFF's windows pixel-major,
    the same statistics as band-major reads of a band-interleaved copy."""
    from rasterio._env import get_gdal_config

    from ..conftest import write_geotiff

    for name in ("GTIFF_DIRECT_IO", "GDAL_ONE_BIG_READ"):
        monkeypatch.delenv(name, raising=False)
    cube = np.random.default_rng(4).integers(0, 900, size=(40, 30, 6)).astype(np.int16)
    pixel = SceneSource.from_path(write_geotiff(tmp_path / "p.tif", cube, interleave="pixel"))
    band = SceneSource.from_path(write_geotiff(tmp_path / "b.tif", cube, interleave="band"))
    with pixel.reading() as scene:
        assert get_gdal_config("GTIFF_DIRECT_IO") == "YES" and get_gdal_config("GDAL_ONE_BIG_READ") == "YES"
        window, _ = scene.read_window(tile_windows((40, 30), 16)[0].read)
        assert window.flags["C_CONTIGUOUS"]
    assert get_gdal_config("GTIFF_DIRECT_IO") is None
    tiles = tile_windows((40, 30), 16)
    from_pixel, from_band = strip_stats(pixel, tiles), strip_stats(band, tiles)
    assert from_pixel.count_ == from_band.count_ == 40 * 30
    np.testing.assert_array_equal(from_pixel.covariance(), from_band.covariance())
