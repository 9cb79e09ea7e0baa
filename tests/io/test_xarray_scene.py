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


@pytest.mark.parametrize("shape", [(12, 32, 32), (12, 40, 32), (205, 100, 100)])
def test_ambiguous_plain_array_needs_a_layout(shape):
    cube = np.random.default_rng(0).normal(size=shape)
    with pytest.raises(ParameterError, match="layout='bands-first'"):
        hadinfer.detect(cube, device="cpu")
    first = hadinfer.detect(cube, detector="grx", device="cpu", layout="bands-first").scores
    moved = hadinfer.detect(np.moveaxis(cube, 0, -1), detector="grx", device="cpu", layout="bands-last").scores
    np.testing.assert_array_equal(first, moved)
    assert first.shape == shape[1:]
    scores = hadinfer.detect(hadinfer.ArrayScene(cube), detector="grx", device="cpu").scores  # insisting works
    assert scores.shape == shape[:2]
    with pytest.raises(ParameterError, match="layout"):
        hadinfer.detect(cube, device="cpu", layout="columns-first")


def test_dataarray_result_has_provenance_and_nodata(band_first):
    array, _ = band_first
    result = hadinfer.detect(array, detector="grx", device="cpu", pfa=0.01)
    scores = result.scores
    assert scores.attrs["hadinfer_detector"] == "grx" and scores.attrs["long_name"] == "anomaly score"
    assert scores.attrs["hadinfer_bands"] and "hadinfer_threshold" in scores.attrs
    assert np.isnan(scores.rio.nodata) and np.isnan(scores.encoding["_FillValue"])
    assert scores.rio.crs == array.rio.crs


def test_a_dataset_is_refused_in_one_line_naming_its_variables():
    import xarray as xr

    ds = xr.Dataset({"radiance": (("y", "x", "band"), np.random.default_rng(0).random((20, 20, 5)))})
    with pytest.raises(ParameterError, match=r"Dataset holds 1 variable\(s\) \(radiance\).*ds\['radiance'\]"):
        hadinfer.detect(ds, detector="grx")


def test_a_wavelength_coordinate_gives_the_band_centres_learned_places_bands_by(band_first):
    from hadinfer.io.xarray_scene import dataarray_scene

    array, _ = band_first
    microns = 0.4 + 0.05 * np.arange(12) ** 1.2  # uneven, in micrometres
    tagged = array.assign_coords(wavelength=("band", microns, {"units": "micrometers"}))
    scene, _ = dataarray_scene(tagged.transpose("y", "band", "x"))
    assert scene.info.wavelengths == pytest.approx(tuple(1000 * microns))
    assert dataarray_scene(array)[0].info.wavelengths is None  # no coordinate, no centres
    run = hadinfer.detect(tagged, detector="learned", device="cpu", bands="2-6")
    assert run.report["params"]["band_centres"] == pytest.approx(tuple(1000 * microns[1:6]))
    by_dimension = tagged.swap_dims(band="wavelength")  # the band dimension itself named wavelength
    again = hadinfer.detect(by_dimension, detector="learned", device="cpu", bands="2-6")
    assert again.scores.values.tobytes() == run.scores.values.tobytes()
