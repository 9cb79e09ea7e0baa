"""GDAL dataset masks (internal mask, alpha band) hide pixels from the statistics and the map."""

import numpy as np
import rasterio
from rasterio.enums import ColorInterp

import hadinfer

from ..conftest import write_geotiff


def _hidden(shape):
    hidden = np.zeros(shape, bool)
    hidden[:16, :20] = True  # 320 pixels
    return hidden


def test_internal_mask_is_honoured_for_statistics_and_output(tmp_path, small_cube):
    cube = small_cube.copy()
    hidden = _hidden(cube.shape[:2])
    cube[hidden] += 500.0  # wild pixels that would move the statistics if they were read
    path = write_geotiff(tmp_path / "masked.tif", cube)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as ds:
        ds.write_mask(np.where(hidden, 0, 255).astype(np.uint8))
    scores = hadinfer.detect(path, detector="grx", device="cpu").scores
    expected = hadinfer.detect(np.where(hidden[..., None], np.nan, cube), detector="grx", device="cpu").scores
    assert np.isnan(scores[hidden]).all()
    np.testing.assert_allclose(scores[~hidden], expected[~hidden], rtol=1e-5)
    out = tmp_path / "map.tif"
    hadinfer.detect(path, out, detector="grx", device="cpu")
    with rasterio.open(out) as ds:
        assert (ds.read(1, masked=True).mask == hidden).all()


def test_alpha_band_is_a_mask_not_a_band(tmp_path, small_cube):
    hidden = _hidden(small_cube.shape[:2])
    alpha = np.where(hidden, 0, 255).astype(small_cube.dtype)[..., None]
    path = write_geotiff(tmp_path / "alpha.tif", np.concatenate([small_cube, alpha], axis=2))
    with rasterio.open(path, "r+") as ds:
        ds.colorinterp = [ColorInterp.gray] + [ColorInterp.undefined] * 11 + [ColorInterp.alpha]
    with hadinfer.open_scene(path) as scene:
        assert scene.info.bands == tuple(range(1, 13))
        _, valid = scene.read_all()
    assert (valid == ~hidden).all()
