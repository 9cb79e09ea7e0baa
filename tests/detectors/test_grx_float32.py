"""Float32 GRX (the default): statistics and projection in single precision, AUC as float64."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors import BackgroundStats, GlobalRX
from hadinfer.errors import ParameterError
from hadinfer.io import read_mask
from hadinfer.metrics import roc_auc
from hadinfer.pipeline import accumulate_stats

from ..conftest import had_scenes

SCENES = [pytest.param(row["file"], id=row["file"].removesuffix(".mat")) for row in had_scenes()] or [
    pytest.param(None, marks=pytest.mark.skip(reason="dev scenes not found at ../shared/data/had"))]


def _auc(scene, truth, precision, tile):
    stats = accumulate_stats(scene, (tile, tile), precision=precision)
    cube, valid = scene.read_all()
    scores = GlobalRX(precision=precision).fit(stats).score(cube, valid)
    return roc_auc(scores[valid], truth[valid])


@pytest.mark.parametrize("tile", [256, 32], ids=["one-window", "many-windows"])
@pytest.mark.parametrize("name", SCENES)
def test_float32_auc_within_1e4_of_float64_on_dev_scenes(name, tile, had_dir):
    truth, _ = read_mask(had_dir / name)
    with hadinfer.open_scene(had_dir / name) as scene:
        exact = _auc(scene, truth, "float64", tile)
        single = _auc(scene, truth, "float32", tile)
    print(f"{name} tile {tile}: AUC float64 {exact:.6f} float32 {single:.6f} difference {single - exact:+.1e}")
    assert abs(single - exact) <= 1e-4


@pytest.mark.parametrize("name", SCENES)
def test_storage_dtype_windows_give_the_same_auc(name, had_dir):
    # Windows in the file's own dtype (int16/uint16: centred in float32, never widened).
    truth, _ = read_mask(had_dir / name)
    with hadinfer.open_scene(had_dir / name) as scene:
        cube, valid = scene.read_all()
        raw = cube.astype(scene.info.dtype)
    assert np.array_equal(raw, cube)
    stats = BackgroundStats(cube.shape[2])
    for top in range(0, cube.shape[0], 32):
        for left in range(0, cube.shape[1], 32):
            window = raw[top:top + 32, left:left + 32]
            stats.update(window.reshape(-1, cube.shape[2]), valid[top:top + 32, left:left + 32].ravel(),
                         precision="float32")
    exact = GlobalRX(precision="float64").fit(accumulate_stats(scene, (256, 256)))
    single = GlobalRX().fit(stats)
    auc = [roc_auc(d.score(c, valid)[valid], truth[valid]) for d, c in ((exact, cube), (single, raw))]
    print(f"{name} {scene.info.dtype} windows: AUC float64 {auc[0]:.6f} float32 {auc[1]:.6f} "
          f"difference {auc[1] - auc[0]:+.1e}")
    assert abs(auc[1] - auc[0]) <= 1e-4


def test_int16_windows_score_like_float64_windows(small_cube):
    cube = np.round(small_cube).astype(np.int16)
    valid = np.ones(cube.shape[:2], bool)
    detector = GlobalRX().fit(BackgroundStats(12).update(cube.reshape(-1, 12), precision="float32"))
    np.testing.assert_allclose(detector.score(cube, valid), detector.score(cube.astype(np.float64), valid), rtol=1e-5)


def _scene_like(n=20000, bands=60, seed=0):
    """Spectra like the dev scenes': 8 dominant directions, condition number 1e9, far from zero."""
    rng = np.random.default_rng(seed)
    variances = np.concatenate([np.logspace(9, 5, 8), np.logspace(4, 0, bands - 8)])
    rotation, _ = np.linalg.qr(rng.normal(size=(bands, bands)))
    return (rng.normal(size=(n, bands)) * np.sqrt(variances)) @ rotation.T + 3000


def test_float32_windows_keep_the_smallest_eigenvalues():
    # A plain float32 scatter gets the smallest eigenvalues wrong by 230 % here.
    pixels = _scene_like()
    exact = np.linalg.eigvalsh(np.cov(pixels, rowvar=False))
    stats = BackgroundStats(pixels.shape[1])
    for chunk in np.array_split(pixels, 7):
        stats.update(chunk, precision="float32")
    assert exact[-1] / exact[0] > 1e8
    np.testing.assert_allclose(np.linalg.eigvalsh(stats.covariance()), exact, rtol=1e-3)
    np.testing.assert_allclose(stats.mean_, pixels.mean(axis=0), rtol=1e-7)


def test_valid_mask_equals_the_valid_rows_alone():
    pixels = _scene_like(5000, 20)
    valid = np.random.default_rng(1).random(len(pixels)) > 0.3
    expected = np.cov(pixels[valid], rowvar=False)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))  # rounding relative to each pair's scale
    for precision, tolerance in (("float64", 1e-12), ("float32", 1e-6)):
        masked = BackgroundStats(20).update(pixels, valid, precision=precision)
        assert masked.count_ == valid.sum()
        np.testing.assert_allclose(masked.covariance() / scale, expected / scale, atol=tolerance)
        np.testing.assert_allclose(masked.mean_, pixels[valid].mean(axis=0), rtol=1e-7)
    assert BackgroundStats(20).update(pixels, np.zeros(len(pixels), bool), precision="float32").count_ == 0


def test_int16_windows_are_accepted_and_exact_in_float64():
    pixels = np.random.default_rng(2).integers(-300, 3000, size=(3000, 8)).astype(np.int16)
    stats = BackgroundStats(8).update(pixels)
    np.testing.assert_allclose(stats.covariance(), np.cov(pixels.astype(np.float64), rowvar=False), rtol=1e-12)
    single = BackgroundStats(8).update(pixels, precision="float32")
    np.testing.assert_allclose(single.covariance() / single.covariance().max(),
                               stats.covariance() / stats.covariance().max(), atol=1e-6)


def test_float32_is_the_default_and_float64_stays_available(small_cube):
    assert GlobalRX().precision == "float32" and GlobalRX().stats_precision == "float32"
    assert GlobalRX(precision="float64").stats_precision == "float64"
    cube = small_cube.astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    stats = BackgroundStats(12).update(cube.reshape(-1, 12))
    single = GlobalRX().fit(stats).score(cube, valid)
    exact = GlobalRX(precision="float64").fit(stats).score(cube, valid)
    assert single.dtype == exact.dtype == np.float32
    np.testing.assert_allclose(single, exact, rtol=1e-5)
    with pytest.raises(ParameterError, match="precision"):
        GlobalRX(precision="float16")


@pytest.mark.parametrize("kwargs, match", [({"precision": "half"}, "precision"),
                                           ({"valid": np.ones(3, bool)}, "valid")])
def test_update_validates_its_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        BackgroundStats(4).update(np.zeros((5, 4)), **kwargs)
    with pytest.raises(ParameterError, match="pixels"):
        BackgroundStats(4).update(np.zeros((5, 3)))
