"""Tests of the synthetic scene generator (hadinfer.synthetic)."""

import doctest

import numpy as np
import pytest
import rasterio
from scipy.stats import rankdata

import hadinfer.synthetic as synthetic
from hadinfer.synthetic import geotiff, scene_model, validation
from hadinfer.errors import HadinferError, OutputExistsError, OutputPathError, ParameterError
from hadinfer.synthetic import (
    REFLECTANCE_SCALE,
    SYNTHETIC_CRS,
    SYNTHETIC_TRANSFORM,
    default_block_rows,
    make_cube,
    synthetic_window,
    write_synthetic_scene,
)

# 300 columns: windows can cross the 256-column boundary between noise streams.
SHAPE, BANDS, SEED = (48, 300), 8, 5


@pytest.fixture(scope="module")
def full_scene():
    return make_cube(*SHAPE, BANDS, seed=SEED)


def _encoded(cube, dtype):
    """What write_synthetic_scene stores, as (bands, rows, cols)."""
    bands_first = cube.transpose(2, 0, 1)
    if np.dtype(dtype).kind == "f":
        return bands_first.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(bands_first * np.float32(REFLECTANCE_SCALE)), info.min, info.max).astype(dtype)


def _global_rx(cube):
    pixels = cube.reshape(-1, cube.shape[-1]).astype(np.float64)
    centered = pixels - pixels.mean(axis=0)
    inverse = np.linalg.pinv(np.cov(pixels, rowvar=False))
    return np.einsum("ij,jk,ik->i", centered, inverse, centered)


def _roc_auc(scores, labels):
    """Mann-Whitney AUC: the chance a positive outscores a negative (ties count half)."""
    ranks = rankdata(scores)
    positives = int(labels.sum())
    negatives = labels.size - positives
    return (ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives)


# --------------------------------------------------------------------------- generation


def test_make_cube_shapes_and_dtypes(full_scene):
    cube, truth = full_scene
    assert cube.shape == (*SHAPE, BANDS) and cube.dtype == np.float32
    assert truth.shape == SHAPE and truth.dtype == np.uint8
    assert set(np.unique(truth)) <= {0, 1}
    assert np.isfinite(cube).all()
    assert 0.0 < cube.min() and cube.max() < 1.5


@pytest.mark.parametrize(
    "window",
    [
        (0, 0, 48, 300),  # the whole scene
        (0, 0, 1, 1),
        (47, 299, 1, 1),  # last pixel
        (3, 250, 10, 20),  # across the noise-stream boundary at column 256
        (17, 0, 1, 300),  # one full row
        (5, 31, 29, 1),  # one partial column
        (20, 100, 28, 200),
    ],
)
def test_window_equals_slice_of_full_scene_exactly(full_scene, window):
    row, col, height, width = window
    cube, truth = full_scene
    part, part_truth = synthetic_window(row, col, height, width, scene_shape=SHAPE, bands=BANDS, seed=SEED)
    assert part.shape == (height, width, BANDS)
    np.testing.assert_array_equal(part, cube[row : row + height, col : col + width])
    np.testing.assert_array_equal(part_truth, truth[row : row + height, col : col + width])


def test_blocks_cover_scene_exactly(full_scene):
    cube, truth = full_scene
    blocks = [synthetic_window(r, 0, min(7, SHAPE[0] - r), SHAPE[1], scene_shape=SHAPE, bands=BANDS, seed=SEED)
              for r in range(0, SHAPE[0], 7)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), cube)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), truth)


def test_seed_decides_the_scene(full_scene):
    cube, _ = full_scene
    again, _ = make_cube(*SHAPE, BANDS, seed=SEED)
    other, _ = make_cube(*SHAPE, BANDS, seed=SEED + 1)
    np.testing.assert_array_equal(again, cube)
    assert not np.array_equal(other, cube)


def test_anomalies_are_planted():
    cube, truth = make_cube(200, 200, 20, seed=0)
    count = int(truth.sum())
    # 10 targets (one per 4000 px) of 1 to 9 pixels each; some may overlap.
    assert 4 <= count <= 90
    # Target pixels differ from their surroundings more than background pixels do.
    padded = np.pad(cube, ((1, 1), (1, 1), (0, 0)), mode="edge")
    neighbours = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]) / 4
    contrast = np.linalg.norm(cube - neighbours, axis=-1)
    assert np.median(contrast[truth == 1]) > np.percentile(contrast[truth == 0], 90)


def test_small_scene_still_has_targets():
    _, truth = make_cube(5, 3, 4, seed=1)
    assert truth.any()


def test_global_rx_detects_anomalies_but_scene_is_not_trivial():
    cube, truth = make_cube(128, 128, 50, seed=0)
    labels = truth.ravel().astype(bool)
    assert _roc_auc(_global_rx(cube), labels) > 0.9
    # Noise level from differences of horizontal neighbours (robust: MAD), per band;
    # an overestimate, since texture adds to it.
    differences = np.diff(cube, axis=1).reshape(-1, cube.shape[-1])
    noise = 1.4826 * np.median(np.abs(differences - np.median(differences, axis=0)), axis=0) / np.sqrt(2)
    spread = cube.reshape(-1, cube.shape[-1]).std(axis=0)
    # Even the absorption bands (low signal, low SNR) vary well above the noise.
    assert (spread > 5 * noise).all() and np.median(spread / noise) > 15
    # Several materials, not one spectrum plus noise: many principal components matter.
    eigenvalues = np.linalg.eigvalsh(np.cov(cube.reshape(-1, cube.shape[-1]), rowvar=False))[::-1]
    assert (eigenvalues > 100 * np.median(noise) ** 2).sum() >= 5


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("dtype", "interleave", "tiled", "block_rows"),
    [
        ("int16", "band", True, None),
        ("uint16", "pixel", False, 7),
        ("float32", "pixel", True, 16),
        ("float64", "band", False, None),
    ],
)
def test_written_scene_matches_make_cube(tmp_path, full_scene, dtype, interleave, tiled, block_rows):
    cube, truth = full_scene
    scene_path, truth_path = tmp_path / "scene.tif", tmp_path / "truth.tif"
    info = write_synthetic_scene(
        scene_path, truth_path, height=SHAPE[0], width=SHAPE[1], bands=BANDS, dtype=dtype, seed=SEED,
        interleave=interleave, tiled=tiled, block_rows=block_rows,
    )
    with rasterio.open(scene_path) as scene, rasterio.open(truth_path) as truth_ds:
        assert scene.count == BANDS and (scene.height, scene.width) == SHAPE
        assert set(scene.dtypes) == {dtype}
        assert scene.crs == rasterio.crs.CRS.from_string(SYNTHETIC_CRS)
        assert scene.transform == SYNTHETIC_TRANSFORM
        assert scene.interleaving.value.lower() == interleave
        assert scene.profile["tiled"] == tiled
        if tiled:
            assert scene.block_shapes[0] == (256, 256)
        assert truth_ds.count == 1 and truth_ds.dtypes[0] == "uint8"
        assert (truth_ds.crs, truth_ds.transform, truth_ds.shape) == (scene.crs, scene.transform, scene.shape)
        np.testing.assert_array_equal(scene.read(), _encoded(cube, dtype))
        np.testing.assert_array_equal(truth_ds.read(1), truth)
    assert info["anomaly_pixels"] == int(truth.sum()) > 0
    assert info["targets"] >= 4
    assert (info["height"], info["width"], info["bands"], info["dtype"]) == (*SHAPE, BANDS, dtype)
    assert info["scene_path"] == str(scene_path) and info["truth_path"] == str(truth_path)


def test_integer_scaling(tmp_path, full_scene):
    cube, _ = full_scene
    path = tmp_path / "scene.tif"
    write_synthetic_scene(path, height=SHAPE[0], width=SHAPE[1], bands=BANDS, seed=SEED)
    with rasterio.open(path) as scene:
        stored = scene.read()
        assert scene.tags()["REFLECTANCE_SCALE"] == str(REFLECTANCE_SCALE)
    assert stored.dtype == np.int16 and stored.min() > 0
    reflectance = stored.transpose(1, 2, 0) / REFLECTANCE_SCALE
    assert np.abs(reflectance - cube).max() <= 0.5 / REFLECTANCE_SCALE + 1e-6


def test_scene_without_truth(tmp_path):
    info = write_synthetic_scene(tmp_path / "scene.tif", height=20, width=30, bands=3)
    assert info["truth_path"] is None and info["anomaly_pixels"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["scene.tif"]


def test_existing_output_needs_overwrite(tmp_path):
    path = tmp_path / "scene.tif"
    path.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="scene_path"):
        write_synthetic_scene(path, height=8, width=8, bands=2)
    assert path.read_bytes() == b"keep me"
    write_synthetic_scene(path, height=8, width=8, bands=2, overwrite=True)
    with rasterio.open(path) as scene:
        assert scene.count == 2


def test_existing_truth_refused_before_anything_is_written(tmp_path):
    (tmp_path / "truth.tif").write_bytes(b"")
    with pytest.raises(OutputExistsError, match="truth_path"):
        write_synthetic_scene(tmp_path / "scene.tif", tmp_path / "truth.tif", height=8, width=8, bands=2)
    assert not (tmp_path / "scene.tif").exists()


@pytest.mark.parametrize(
    ("scene", "truth", "match"),
    [
        ("missing/scene.tif", None, "scene_path"),
        ("scene.tif", "missing/truth.tif", "truth_path"),
        ("scene.tif", "scene.tif", "truth_path"),
        (".", None, "scene_path"),  # a folder
    ],
)
def test_bad_output_paths(tmp_path, scene, truth, match):
    with pytest.raises(OutputPathError, match=match):
        write_synthetic_scene(tmp_path / scene, None if truth is None else tmp_path / truth, height=8, width=8, bands=2)


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"dtype": "int8"}, "dtype"),
        ({"dtype": "complex64"}, "dtype"),
        ({"dtype": "not a dtype"}, "dtype"),
        ({"height": -1}, "height"),
        ({"height": 0}, "height"),
        ({"width": 2.5}, "width"),
        ({"bands": 0}, "bands"),
        ({"bands": True}, "bands"),
        ({"seed": -1}, "seed"),
        ({"interleave": "line"}, "interleave"),
        ({"tiled": "yes"}, "tiled"),
        ({"block_rows": 0}, "block_rows"),
        ({"overwrite": 1}, "overwrite"),
    ],
)
def test_write_rejects_bad_parameters(tmp_path, kwargs, name):
    with pytest.raises(ParameterError, match=name):
        write_synthetic_scene(tmp_path / "scene.tif", **{"height": 8, "width": 8, "bands": 2, **kwargs})
    assert not (tmp_path / "scene.tif").exists()


@pytest.mark.parametrize(
    ("args", "name"),
    [((-1, 4, 3), "height"), ((4, 0, 3), "width"), ((4, 4, -2), "bands"), ((4, 4, 2.0), "bands")],
)
def test_make_cube_rejects_bad_sizes(args, name):
    with pytest.raises(ParameterError, match=name):
        make_cube(*args)


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((-1, 0, 2, 2), {}, "row_off"),
        ((0, -1, 2, 2), {}, "col_off"),
        ((0, 0, 0, 2), {}, "height"),
        ((0, 0, 2, -2), {}, "width"),
        ((9, 0, 2, 2), {}, "row_off"),  # past the last row
        ((0, 9, 2, 2), {}, "col_off"),
        ((0, 0, 2, 2), {"scene_shape": (10,)}, "scene_shape"),
        ((0, 0, 2, 2), {"scene_shape": 10}, "scene_shape"),
        ((0, 0, 2, 2), {"bands": 0}, "bands"),
        ((0, 0, 2, 2), {"seed": -3}, "seed"),
    ],
)
def test_window_rejects_bad_parameters(args, kwargs, name):
    with pytest.raises(ParameterError, match=name):
        synthetic_window(*args, **{"scene_shape": (10, 10), "bands": 3, **kwargs})


def test_parameter_errors_are_hadinfer_and_value_errors():
    with pytest.raises(HadinferError):
        make_cube(0, 1, 1)
    with pytest.raises(ValueError):
        make_cube(0, 1, 1)


def test_default_block_rows_fits_budget_and_tiles():
    for width, bands in [(2048, 200), (1024, 200), (256, 100), (100_000, 400), (7, 1)]:
        rows = default_block_rows(width, bands)
        assert rows >= 1
        assert rows == 1 or rows * width * bands * 4 <= 64 * 2**20
        assert 256 % rows == 0 or rows % 256 == 0


@pytest.mark.parametrize("module", [scene_model, geotiff, validation])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_package_keeps_the_old_module_names():
    assert sorted(synthetic.__all__) == ["REFLECTANCE_SCALE", "SCENE_DTYPES", "SYNTHETIC_CRS", "SYNTHETIC_TRANSFORM",
                                         "default_block_rows", "make_cube", "synthetic_window",
                                         "write_synthetic_scene"]
    assert all(hasattr(synthetic, name) for name in synthetic.__all__)
    assert synthetic._SceneModel is scene_model._SceneModel
