"""DataArrays in any dimension order, and plain arrays that only look like (H, W, B)."""

import itertools

import numpy as np
import pytest
import rasterio

import hadinfer
from hadinfer.errors import ParameterError

from ..conftest import write_geotiff

rioxarray = pytest.importorskip("rioxarray", reason="DataArray input needs rioxarray (extra 'xarray')")


@pytest.fixture
def band_first(tmp_path, small_cube):
    path = write_geotiff(tmp_path / "s.tif", small_cube)  # 40 x 36 x 12, EPSG:32633
    return rioxarray.open_rasterio(path), hadinfer.detect(path, detector="grx", device="cpu").scores


@pytest.mark.parametrize("order", list(itertools.permutations(("band", "y", "x"))), ids="-".join)
def test_dataarray_in_any_dimension_order_gives_the_file_map(band_first, order):
    array, expected = band_first
    result = hadinfer.detect(array.transpose(*order), detector="grx", device="cpu").scores
    assert result.dims == ("y", "x") and result.shape == (40, 36)
    np.testing.assert_allclose(result.values, expected, rtol=1e-5)
    np.testing.assert_array_equal(result["x"].values, array["x"].values)
    assert result.rio.crs == array.rio.crs


def test_transposed_dataarray_written_to_a_file_keeps_its_georeferencing(band_first, tmp_path):
    array, _ = band_first
    out = tmp_path / "map.tif"
    hadinfer.detect(array.transpose("x", "band", "y"), out, detector="grx", device="cpu")
    with rasterio.open(out) as ds:
        assert ds.crs == array.rio.crs and ds.transform == array.rio.transform() and ds.shape == (40, 36)


def test_dataarray_without_a_band_dimension_is_refused(band_first):
    array, _ = band_first
    with pytest.raises(ParameterError, match="band dimension"):
        hadinfer.detect(array.rename(band="layer"), device="cpu")


def test_band_first_plain_array_is_refused_with_the_fix():
    cube = np.random.default_rng(0).normal(size=(12, 32, 32))
    with pytest.raises(ParameterError, match="looks band-first.*moveaxis"):
        hadinfer.detect(cube, device="cpu")
    scores = hadinfer.detect(hadinfer.ArrayScene(cube), detector="grx", device="cpu").scores  # insisting works
    assert scores.shape == (12, 32)
