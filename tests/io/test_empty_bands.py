"""A scene without a valid pixel because some bands hold no value: the error names them and a selection without them."""

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import AllNodataError
from hadinfer.io import open_scene
from hadinfer.io.empty_bands import empty_bands

from ..conftest import write_geotiff


def reflectance(height=60, width=50, bands=30, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(height, width, 4)) @ rng.normal(size=(4, bands)) * 0.05 + 0.3
    return (cube + rng.normal(scale=0.005, size=cube.shape)).astype(np.float32)


@pytest.mark.parametrize("nodata", [None, float("nan"), -9999.0])
def test_blanked_bands_are_named_with_a_selection_that_works(tmp_path, nodata):
    """Bands 6, 7 and 21 NaN everywhere (a reflectance product's water-vapour bands): no pixel is
    valid; the error names those bands and a --bands without them, and that selection scores."""
    cube = reflectance()
    cube[:, :, [5, 6, 20]] = np.nan
    path = write_geotiff(tmp_path / "r.tif", cube, nodata=nodata)
    with pytest.raises(AllNodataError, match=r"^.*r\.tif: no pixel has a value in every band: bands 6, 7 and 21 hold "
                                             r"none .* leave them out: --bands 1-5,8-20,22-30 \(bands= in the Python"):
        hadinfer.detect(path, detector="grx")
    result = hadinfer.detect(path, detector="grx", bands="1-5,8-20,22-30")
    assert np.isfinite(result.scores).all() and result.report["scene"]["valid_pixels"] == 60 * 50


def test_a_selection_is_kept_and_file_numbers_are_named(tmp_path):
    """With --bands already given, the advice keeps it and names the file's band numbers."""
    cube = reflectance()
    cube[:, :, 9] = np.nan
    path = write_geotiff(tmp_path / "r.tif", cube)
    with pytest.raises(AllNodataError, match=r"band 10 holds none .* --bands 3-9,11-20 "):
        hadinfer.detect(path, detector="grx", bands="3-20")


def test_a_band_blank_only_where_the_windows_look_is_not_named_empty(tmp_path):
    """Only bands without a value in every window looked at are named: a band with values in one
    sampled window is not."""
    cube = reflectance(height=300, width=300, bands=6)
    cube[:, :, 2] = np.nan
    cube[150:160, 150:160, 2] = 0.3  # the centre window holds values of band 3
    cube[:, :, 4] = np.nan
    path = write_geotiff(tmp_path / "r.tif", cube)
    with open_scene(path) as scene:
        assert empty_bands(scene) == ([5], 5 * 128 * 128)


@pytest.mark.parametrize("case", ["all-nan", "all-nodata-int"])
def test_an_empty_scene_keeps_the_plain_message(tmp_path, case):
    """Nothing to name when every band is empty (or pixels are nodata in every band at once)."""
    if case == "all-nan":
        path = write_geotiff(tmp_path / "e.tif", np.full((20, 20, 4), np.nan, np.float32))
    else:
        path = write_geotiff(tmp_path / "e.tif", np.full((20, 20, 4), -9999, np.int16), nodata=-9999)
    with pytest.raises(AllNodataError, match=r"e\.tif: every pixel is nodata or not finite; nothing to score$"):
        hadinfer.detect(path, detector="grx")


def test_the_report_counts_the_pixels_scored(tmp_path):
    cube = reflectance()
    cube[:40, :, 6] = np.nan  # band 7 blank in the top 40 rows only
    path = write_geotiff(tmp_path / "r.tif", cube)
    result = hadinfer.detect(path, detector="grx")
    assert result.report["scene"]["valid_pixels"] == 20 * 50
    assert np.isnan(result.scores[:40]).all() and np.isfinite(result.scores[40:]).all()
