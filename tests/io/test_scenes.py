"""Readers: GeoTIFF layouts, ENVI with bad bands, MATLAB v5 and v7.3, masking."""

import numpy as np
import pytest
import rasterio
import scipy.io
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.errors import BandSelectionError, MatKeyError
from hadinfer.io.bands import parse_band_spec, select_bands

from ..conftest import write_geotiff


def test_band_spec_parsing():
    assert parse_band_spec("1-3,5, 7-7", 10) == [1, 2, 3, 5, 7]
    for bad, match in [("0-3", "outside"), ("3-1", "reversed"), ("1-11", "outside"), ("a", "cannot parse")]:
        with pytest.raises(BandSelectionError, match=match):
            parse_band_spec(bad, 10)
    assert select_bands(4, None, [True, False, True, True]) == [1, 3, 4]
    with pytest.raises(BandSelectionError, match="bad-band list"):
        select_bands(4, None, [True])


@pytest.mark.parametrize("interleave,tiled", [("band", False), ("pixel", False), ("band", True), ("pixel", True)])
def test_geotiff_layouts_give_identical_maps(tmp_path, small_cube, interleave, tiled):
    reference = hadinfer.detect(small_cube, detector="lrx", inner=3, outer=7, device="cpu").scores
    path = write_geotiff(tmp_path / "s.tif", small_cube, interleave=interleave, tiled=tiled)
    with hadinfer.open_scene(path) as scene:
        assert scene.info.interleave == interleave
    scores = hadinfer.detect(path, detector="lrx", inner=3, outer=7, device="cpu", tile_size=16).scores
    np.testing.assert_allclose(scores, reference, rtol=1e-5)


def test_envi_bad_bands_are_honoured(tmp_path, small_cube):
    path = tmp_path / "scene.img"
    with rasterio.open(path, "w", driver="ENVI", width=36, height=40, count=12, dtype="float32") as ds:
        ds.write(np.moveaxis(small_cube, -1, 0))
    header = tmp_path / "scene.hdr"
    bbl = [1] * 12
    bbl[2] = bbl[7] = 0
    header.write_text(header.read_text() + "bbl = {" + ", ".join(map(str, bbl)) + "}\n")
    for opened in (path, header):
        with hadinfer.open_scene(opened) as scene:
            assert scene.info.bad_bands == (3, 8) and 3 not in scene.info.bands and len(scene.info.bands) == 10
    expected = hadinfer.detect(np.delete(small_cube, [2, 7], axis=2), device="cpu").scores
    np.testing.assert_allclose(hadinfer.detect(header, device="cpu").scores, expected, rtol=1e-5)
    info = CliRunner().invoke(cli, ["info", str(header)])
    assert info.exit_code == 0 and "3,8" in info.stdout and "ENVI" in info.stdout


def test_band_selection_matches_slicing(small_tif, small_cube):
    expected = hadinfer.detect(small_cube.astype(np.int16)[:, :, [0, 1, 2, 5, 6]], device="cpu").scores
    np.testing.assert_allclose(hadinfer.detect(small_tif, bands="1-3,6-7", device="cpu").scores, expected, rtol=1e-5)


def test_mat_v5_and_v73_read_the_same(tmp_path, small_cube):
    h5py = pytest.importorskip("h5py", reason="h5py (extra 'mat') needed for MATLAB v7.3")
    v5 = tmp_path / "v5.mat"
    scipy.io.savemat(v5, {"cube": small_cube, "gt": np.zeros((40, 36), np.uint8)})
    v73 = tmp_path / "v73.mat"
    with h5py.File(v73, "w", userblock_size=512) as fh:  # MATLAB v7.3 = HDF5 with a 512-byte header
        fh["cube"] = small_cube.T  # MATLAB stores column-major: h5py sees it transposed
        fh["gt"] = np.eye(40, 36, dtype=np.uint8).T
    with open(v73, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(128, b" "))
    with hadinfer.open_scene(v5) as a, hadinfer.open_scene(v73) as b:
        assert a.info.shape == b.info.shape == (40, 36, 12) and b.info.driver == "MAT-v7.3"
        np.testing.assert_array_equal(a.read(3, 4, 10, 9)[0], b.read(3, 4, 10, 9)[0])
    mask, _ = hadinfer.read_mask(v73)
    np.testing.assert_array_equal(mask, np.eye(40, 36) != 0)
    with pytest.raises(MatKeyError, match="no variable 'data'"):
        hadinfer.open_scene(v73, key="data")


def test_mat_key_auto_detection_picks_the_cube(tmp_path, small_cube):
    path = tmp_path / "s.mat"
    scipy.io.savemat(path, {"small": np.ones((2, 2, 2)), "data": small_cube, "map": np.zeros((40, 36))})
    with hadinfer.open_scene(path) as scene:
        assert scene.key == "data"
    with pytest.raises(MatKeyError, match="3 dimensions"):
        hadinfer.open_scene(path, key="map")


def test_mat_v5_loads_only_the_variable_it_reads(tmp_path, small_cube, monkeypatch):
    """A scene's file often holds its ground-truth mask too: opening the cube never loads it."""
    path = tmp_path / "s.mat"
    scipy.io.savemat(path, {"data": small_cube, "map": np.eye(40, 36)})
    loaded = []
    original = scipy.io.loadmat

    def spy(*args, variable_names=None, **kwargs):
        loaded.append(variable_names)
        return original(*args, variable_names=variable_names, **kwargs)

    monkeypatch.setattr(scipy.io, "loadmat", spy)
    with hadinfer.open_scene(path) as scene:
        np.testing.assert_array_equal(scene.read_all()[0], small_cube)
    mask, _ = hadinfer.read_mask(path)
    np.testing.assert_array_equal(mask, np.eye(40, 36) != 0)
    assert loaded == [["data"], ["map"]]


def test_mat_windows_are_private_copies(tmp_path, small_cube):
    """Zeroing a window's invalid pixels never reaches the loaded cube, and a second read is the same."""
    cube = small_cube.astype(np.float64)
    cube[2, 3, 5] = np.nan  # an invalid pixel: zeroed in the window it is read in
    path = tmp_path / "s.mat"
    scipy.io.savemat(path, {"data": cube})
    with hadinfer.open_scene(path) as scene:
        first, valid = scene.read_all()
        assert first.dtype == np.float64 and not valid[2, 3] and (first[2, 3] == 0).all()
        assert not np.shares_memory(first, scene._array)
        assert np.isnan(scene._array[2, 3, 5])
        again, _ = scene.read_all()
    np.testing.assert_array_equal(first, again)


def test_nodata_and_nan_pixels_are_masked(tmp_path, small_cube):
    cube = small_cube.copy()
    cube[0, 0] = -1.0  # nodata in every band
    cube[1, 1, 4] = np.nan  # one non-finite band
    cube[2, 2, 0] = -1.0  # nodata in one band only: still a valid pixel (GDAL's rule)
    path = write_geotiff(tmp_path / "s.tif", cube, nodata=-1.0)
    with hadinfer.open_scene(path) as scene:
        values, valid = scene.read_all()
    assert not valid[0, 0] and not valid[1, 1] and valid[2, 2] and valid.sum() == 40 * 36 - 2
    assert np.isfinite(values).all()
    clean = small_cube.copy()
    clean[2, 2, 0] = -1.0
    keep = valid.ravel()
    stats = hadinfer.BackgroundStats(12).update(clean.reshape(-1, 12)[keep])
    expected = hadinfer.GlobalRX().fit(stats).score(clean.astype(np.float64), valid)
    np.testing.assert_allclose(hadinfer.detect(path, detector="grx", device="cpu").scores, expected, rtol=1e-5,
                               equal_nan=True)


def test_read_window_takes_a_rasterio_window_and_read_is_its_pixel_form(tmp_path, small_cube):
    from rasterio.windows import Window

    window = Window(col_off=4, row_off=3, width=9, height=10)  # rasterio's order: columns first
    path = write_geotiff(tmp_path / "s.tif", small_cube)
    for scene in (hadinfer.ArrayScene(small_cube), hadinfer.open_scene(path)):
        with scene:
            cube, valid = scene.read_window(window)
            assert cube.shape[:2] == valid.shape == (10, 9)
            np.testing.assert_array_equal(cube, small_cube[3:13, 4:13])
            for got, expected in zip(scene.read(3, 4, 10, 9), (cube, valid)):
                np.testing.assert_array_equal(got, expected)


def test_an_array_scene_keeps_the_selected_bands_wavelengths_and_refuses_a_wrong_count():
    from hadinfer.errors import ParameterError
    from hadinfer.io import ArrayScene

    cube = np.zeros((4, 5, 6), dtype=np.float32)
    assert ArrayScene(cube, wavelengths=range(400, 700, 50), bands="2,4-5").info.wavelengths == (450.0, 550.0, 600.0)
    assert ArrayScene(cube).info.wavelengths is None
    with pytest.raises(ParameterError, match="5 for a cube of 6 bands"):
        ArrayScene(cube, wavelengths=range(5))


@pytest.mark.parametrize("window", [(-5, 0, 10, 10), (35, 30, 10, 10), (0, 0, 41, 36), (50, 0, 5, 5)],
                         ids=["negative", "past-the-corner", "one-row-too-many", "wholly-outside"])
def test_a_window_outside_the_scene_is_refused_by_every_reader(tmp_path, small_cube, window):
    """Every backend clipped such a window silently (or read an empty array)."""
    from hadinfer.errors import ParameterError
    from hadinfer.io import ArrayScene

    path = write_geotiff(tmp_path / "s.tif", small_cube)
    scipy.io.savemat(tmp_path / "s.mat", {"data": small_cube})
    for scene in (hadinfer.open_scene(path), hadinfer.open_scene(tmp_path / "s.mat"), ArrayScene(small_cube)):
        with scene, pytest.raises(ParameterError, match="not inside the 40 x 36 scene"):
            scene.read(*window)
