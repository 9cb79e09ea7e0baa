"""hadinfer.dask.detect: lazy maps of dask arrays and DataArrays, equal to the single-process map."""

from __future__ import annotations

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import ParameterError
from hadinfer.io import ArrayScene

from .conftest import TILE, make_scene_cube, max_relative_difference

da = pytest.importorskip("dask.array", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")
hadinfer_dask = pytest.importorskip("hadinfer.dask")


@pytest.fixture(scope="module")
def cube():
    return make_scene_cube()


@pytest.mark.parametrize("detector, params", [("grx", {"precision": "float64"}), ("lrx", {"inner": 3, "outer": 9}),
                                              ("fusion", {"windows": ((3, 9),)})], ids=["grx", "lrx", "fusion"])
@pytest.mark.parametrize("chunks", [(64, 80, 12), (20, 30, 5), (9, 80, 12)], ids=["one-block", "ragged", "thin"])
def test_lazy_scores_equal_the_single_process_map(client, cube, detector, params, chunks):
    expected = hadinfer.detect(ArrayScene(cube, nodata=-9999), detector=detector, device="cpu", tile_size=TILE,
                               **params).scores
    scores = hadinfer_dask.detect(da.from_array(cube, chunks=chunks), detector=detector, nodata=-9999, device="cpu",
                                  **params)
    assert isinstance(scores, da.Array) and scores.shape == (64, 80) and scores.dtype == np.float32
    actual = scores.compute()  # on the cluster: the client is the default scheduler
    difference = max_relative_difference(actual.astype(np.float64), expected.astype(np.float64))
    print(f"dask array {detector} {chunks}: max relative difference {difference:.2e}")
    assert difference <= 1e-6
    assert np.isnan(actual).sum() == 12


@pytest.mark.parametrize("chunks", [(64, 80, 12), (20, 30, 5)], ids=["one-block", "ragged"])
def test_a_halo_as_wide_as_the_image_is_scored_in_one_block(client, cube, chunks):
    """fusion-peaks' halo (83 px) exceeds this 64 x 80 cube: dask refused the overlap with a raw ValueError."""
    pytest.importorskip("skimage", reason="fusion-peaks needs the area extra")
    expected = hadinfer.detect(ArrayScene(cube, nodata=-9999), detector="fusion-peaks", device="cpu").scores
    scores = hadinfer_dask.detect(da.from_array(cube, chunks=chunks), detector="fusion-peaks", nodata=-9999,
                                  device="cpu")
    actual = scores.compute()
    assert max_relative_difference(actual.astype(np.float64), expected.astype(np.float64)) <= 1e-6
    assert np.isnan(actual).sum() == 12


def test_statistics_are_a_reduction_equal_to_np_cov(client, cube):
    stats = hadinfer_dask.background_stats(da.from_array(cube, chunks=(10, 25, 12)), nodata=-9999, split_every=2)
    merged = stats.compute()
    pixels = cube.reshape(-1, 12)[~(cube == -9999).all(axis=2).ravel()].astype(np.float64)
    assert merged.count_ == len(pixels)
    np.testing.assert_allclose(merged.covariance(), np.cov(pixels, rowvar=False), rtol=1e-10)


def test_given_statistics_skip_the_statistics_pass(client, cube):
    array = da.from_array(cube, chunks=(32, 40, 12))
    stats = hadinfer_dask.background_stats(array, nodata=-9999).compute()
    lazy = hadinfer_dask.detect(array, detector="grx", precision="float64", nodata=-9999, device="cpu")
    given = hadinfer_dask.detect(array, detector="grx", precision="float64", nodata=-9999, device="cpu", stats=stats)
    assert len(given.__dask_graph__()) < len(lazy.__dask_graph__())
    np.testing.assert_array_equal(given.compute(), lazy.compute())


def test_a_dataarray_keeps_its_coordinates_and_crs(client, cube, tmp_path):
    rioxarray = pytest.importorskip("rioxarray", reason="DataArray georeferencing needs rioxarray (extra 'xarray')")
    from ..conftest import write_geotiff

    path = write_geotiff(tmp_path / "scene.tif", cube, nodata=-9999)
    array = rioxarray.open_rasterio(path, chunks={"x": 40, "y": 32, "band": -1})  # (band, y, x), dask-backed
    scores = hadinfer_dask.detect(array, detector="grx", precision="float64", device="cpu")
    assert scores.dims == ("y", "x") and scores.chunks is not None  # still lazy
    expected = hadinfer.detect(path, detector="grx", precision="float64", device="cpu").scores
    assert max_relative_difference(scores.values.astype(np.float64), expected.astype(np.float64)) <= 1e-6
    np.testing.assert_array_equal(scores["x"].values, array["x"].values)
    np.testing.assert_array_equal(scores["y"].values, array["y"].values)
    assert scores.rio.crs == array.rio.crs


@pytest.mark.parametrize("bad, match", [(np.zeros((8, 8)), "dimensions"), (np.zeros((5, 40, 40)), "bands-first"),
                                        (np.full((4, 4, 2), "a"), "real numbers")])
def test_bad_arrays_are_parameter_errors(bad, match):
    with pytest.raises(ParameterError, match=match):
        hadinfer_dask.detect(bad, detector="grx")


def test_a_detector_with_a_second_statistics_pass_is_refused_on_lazy_arrays(client, cube):
    with pytest.raises(ParameterError, match="second statistics pass.*pass the scene's path"):
        hadinfer_dask.detect(da.from_array(cube, chunks=(20, 20, cube.shape[2])), detector="learned", nodata=-9999)
