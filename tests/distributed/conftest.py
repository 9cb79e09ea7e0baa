"""A two-process LocalCluster shared by the tests here, and small tiled scenes to run on it."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from ..conftest import write_geotiff

#: 64 x 80 x 12, 16 x 16 blocks: tile_size 16 gives 4 tile rows (strips) of 5 tiles.
SHAPE = (64, 80, 12)
TILE = 16


def make_scene_cube(seed: int = 3) -> np.ndarray:
    """Correlated int16 background, one anomaly, and a few nodata pixels (all bands -9999)."""
    rng = np.random.default_rng(seed)
    height, width, bands = SHAPE
    base = rng.normal(size=(height, width, 3)) @ rng.normal(size=(3, bands)) * 50 + 1000
    cube = base + rng.normal(scale=5, size=base.shape)
    cube[20, 33] += np.linspace(-90, 90, bands)
    cube[40:43, 5:9] = -9999
    return cube.astype(np.int16)


@pytest.fixture(scope="session")
def cluster_client():
    """Two worker processes of one thread each, as CI has two cores.

    Session-wide: starting a cluster costs about a second, and every test here uses it.
    A test that kills a worker leaves it to the nanny to restart; :func:`client` waits.
    """
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed: "
                                                            "pip install 'hadinfer[dask]'")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def client(cluster_client):
    """The shared client, with both workers up (a previous test may have killed one)."""
    cluster_client.wait_for_workers(2, timeout=60)
    return cluster_client


@pytest.fixture(scope="session")
def scene_path(tmp_path_factory):
    """The test scene as a tiled int16 GeoTIFF with nodata."""
    return write_geotiff(tmp_path_factory.mktemp("scenes") / "scene.tif", make_scene_cube(), nodata=-9999,
                         tiled=True, block=TILE)


#: Taller than two of a network detector's native 256-pixel tiles: 3 tile rows, 3 strips.
TALL_SHAPE = (600, 40, 12)


@pytest.fixture(scope="session")
def tall_scene_path(tmp_path_factory):
    """A scene with several rows of a network detector's native tiles (which ignore ``tile_size``)."""
    rng = np.random.default_rng(4)
    height, width, bands = TALL_SHAPE
    cube = rng.normal(size=(height, width, 3)) @ rng.normal(size=(3, bands)) * 50 + 1000
    cube += rng.normal(scale=5, size=cube.shape)
    cube[300, 20] += np.linspace(-90, 90, bands)
    return write_geotiff(tmp_path_factory.mktemp("scenes") / "tall.tif", cube.astype(np.int16), tiled=True,
                         block=TILE)


def read_map(path) -> tuple[np.ndarray, dict]:
    """A written map (NaN for nodata) and the georeferencing to compare."""
    with rasterio.open(path) as ds:
        scores = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
        return scores, {"crs": ds.crs, "transform": ds.transform, "shape": ds.shape, "dtype": ds.dtypes[0],
                        "nodata": repr(ds.nodata)}  # repr: NaN equals NaN


def max_relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / |expected| over pixels scored in both (and the NaNs must agree)."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    both = ~np.isnan(expected)
    return float(np.max(np.abs(actual[both] - expected[both]) / np.maximum(np.abs(expected[both]), 1e-300)))
