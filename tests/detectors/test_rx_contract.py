"""One contract over the RX detectors on every array library, plus exactness checks."""

import numpy as np
import pytest

import hadinfer
from hadinfer.arrays import array_library
from hadinfer.detectors import BackgroundStats, GlobalRX, LocalRX, make_detector
from hadinfer.errors import DeviceUnavailableError, ParameterError, WindowTooLargeError

from ..kernels.test_ring_sums import reference_ring_rx

try:
    import torch
except ImportError:
    torch = None

BACKENDS = [pytest.param("numpy", id="numpy"),
            pytest.param("torch", id="torch-cpu",
                         marks=pytest.mark.skipif(torch is None, reason="torch not installed (extra 'torch')"))]
DETECTORS = [pytest.param(("grx", {}), id="grx"),
             pytest.param(("lrx", {"inner": 3, "outer": 9}), id="lrx"),
             pytest.param(("lrx", {"inner": 1, "outer": 7, "n_components": 4}), id="lrx-pca4")]


@pytest.mark.parametrize("library", BACKENDS)
@pytest.mark.parametrize("spec", DETECTORS)
def test_detector_contract(spec, library, small_cube):
    name, params = spec
    detector = make_detector(name, **params)
    cube = small_cube.astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    valid[0, 0] = False
    cube[0, 0] = 0
    detector.fit(BackgroundStats(cube.shape[2]).update(cube[valid]))
    before_cube, before_params = cube.copy(), detector.params()
    arrays = array_library("cpu", library=library)
    scores = detector.score(cube, valid, arrays=arrays)
    assert scores.shape == cube.shape[:2] and scores.dtype == np.float32
    assert np.isnan(scores[0, 0]) and np.isfinite(scores[valid]).all()
    assert np.unravel_index(np.nanargmax(scores), scores.shape) == (10, 20)  # the planted anomaly
    np.testing.assert_array_equal(cube, before_cube)  # scoring mutates nothing
    assert detector.params() == before_params
    again = detector.score(cube, valid, arrays=arrays)
    np.testing.assert_array_equal(scores, again)
    core = (slice(5, 30), slice(3, 20))
    np.testing.assert_allclose(detector.score(cube, valid, core, arrays=arrays),
                               scores[core] if name == "grx" else detector.score(cube, valid, arrays=arrays)[core],
                               rtol=1e-5)


@pytest.mark.skipif(torch is None, reason="torch not installed (extra 'torch')")
@pytest.mark.parametrize("spec", DETECTORS)
def test_torch_equals_numpy(spec, small_cube):
    name, params = spec
    cube = small_cube.astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    detector = make_detector(name, **params).fit(BackgroundStats(cube.shape[2]).update(cube.reshape(-1, 12)))
    a = detector.score(cube, valid, arrays=array_library("cpu", library="numpy"))
    b = detector.score(cube, valid, arrays=array_library("cpu", library="torch"))
    np.testing.assert_allclose(a, b, rtol=1e-5)


def reference_lrx(cube, valid, inner, outer, projection, mean, delta):
    """Slow, obviously-correct dual-window RX on the whitened components of ``cube``."""
    return reference_ring_rx((cube - mean) @ projection, valid, inner, outer, delta)


@pytest.mark.parametrize("inner,outer,k", [(1, 5, None), (3, 9, 4), (5, 11, 3)])
def test_lrx_equals_reference_on_synthetic_crop_with_nodata(inner, outer, k, small_cube):
    cube = small_cube[:20, :18, :6].astype(np.float64)
    valid = np.ones(cube.shape[:2], bool)
    valid[4, 5] = valid[12, 0:6] = False
    cube[~valid] = 0
    lrx = LocalRX(inner, outer, n_components=k, regularization=1e-3)
    fast = lrx.fit_score(cube, valid)
    slow = reference_lrx(cube, valid, inner, outer, lrx.projection_, lrx.mean_, 1e-3)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    np.testing.assert_allclose(fast[valid], slow[valid], rtol=1e-5)


def test_lrx_equals_reference_on_real_crop(had_dir):
    with hadinfer.open_scene(had_dir / "san-diego.mat", bands="10-19") as scene:
        cube, valid = scene.read(30, 40, 24, 22)
    lrx = LocalRX(3, 9, n_components=6)
    fast = lrx.fit_score(cube, valid)
    slow = reference_lrx(cube, valid, 3, 9, lrx.projection_, lrx.mean_, lrx.regularization)
    np.testing.assert_allclose(fast, slow, rtol=1e-5)


def test_lrx_small_memory_budget_gives_same_scores(small_cube):
    cube = small_cube.astype(np.float64)
    big = LocalRX(3, 9).fit_score(cube)
    small = LocalRX(3, 9, memory_budget=1).fit_score(cube)  # one row per chunk, one pair per group
    np.testing.assert_allclose(big, small, rtol=1e-9)


def test_grx_equals_direct_formula(small_cube):
    pixels = small_cube.reshape(-1, 12).astype(np.float64)
    d = pixels - pixels.mean(axis=0)
    expected = np.einsum("ij,jk,ik->i", d, np.linalg.pinv(np.cov(pixels, rowvar=False)), d)
    np.testing.assert_allclose(GlobalRX().fit_score(small_cube).ravel(), expected, rtol=1e-5)


@pytest.mark.parametrize("kwargs,match", [({"inner": 4}, "odd"), ({"outer": 0}, "odd"),
                                          ({"inner": 9, "outer": 9}, "smaller"),
                                          ({"n_components": 0}, "n_components"),
                                          ({"regularization": -1}, "regularization")])
def test_lrx_parameters_validated(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        LocalRX(**kwargs)


def test_window_larger_than_image():
    with pytest.raises(WindowTooLargeError, match="larger than"):
        hadinfer.detect(np.random.default_rng(0).normal(size=(10, 30, 4)), detector="lrx", inner=3, outer=11,
                        device="cpu")


def test_unknown_detector():
    with pytest.raises(ParameterError, match="unknown"):
        make_detector("nope")


@pytest.mark.skipif(torch is not None and torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_an_error_not_a_fallback():
    with pytest.raises(DeviceUnavailableError if torch is not None else hadinfer.errors.MissingDependencyError):
        array_library("cuda")


@pytest.mark.parametrize("name", ["grx", "fusion", "learned"])
def test_fit_score_refuses_what_is_not_a_cube(name, small_cube):
    """A (pixels, bands) matrix raised NumPy's AxisError from deep inside."""
    with pytest.raises(ParameterError, match=r"cube: expected a \(rows, cols, bands\) array, got shape \(1440, 12\)"):
        make_detector(name).fit_score(small_cube.reshape(-1, small_cube.shape[2]))
    with pytest.raises(ParameterError, match="valid: expected a"):
        make_detector(name).fit_score(small_cube, valid=np.ones(10, dtype=bool))
