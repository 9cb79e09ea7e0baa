"""Scenes of any scale float32 holds score as ordinary ones; float64 beyond it is refused in one line (issue 20)."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors import BackgroundStats, GlobalRX
from hadinfer.errors import ValueRangeError
from hadinfer.kernels.centring import float32_scale


def _scores(cube, detector, **params):
    return hadinfer.detect(cube, detector=detector, layout="bands-last", **params).scores


def _scaled(cube, factors):
    return (cube.astype(np.float64) * factors).astype(np.float32)


@pytest.mark.parametrize("factors", [1e30, 1e-30, 1e-36], ids=["1e30", "1e-30", "1e-36"])
@pytest.mark.parametrize("detector, params", [("grx", {}), ("grx", {"precision": "float64"}), ("fusion", {}),
                                              ("lrx", {})], ids=["grx", "grx-float64", "fusion", "lrx"])
def test_extreme_scales_give_the_ordinary_map(small_cube, factors, detector, params):
    # A scene times 1e30 gave an unexplained error and times 1e-30 an all-NaN map with exit 0:
    # float32 statistics overflowed or underflowed.  Scores are scale-free, so the map must match.
    expected = _scores(small_cube, detector, **params)
    scores = _scores(_scaled(small_cube, factors), detector, **params)
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, expected, rtol=2e-3, atol=1e-3 * np.nanmax(expected))
    assert np.argmax(scores) == np.argmax(expected)


@pytest.mark.parametrize("factors", [1e30, 1e-30])
def test_float32_statistics_of_an_extreme_scene_match_float64(small_cube, factors):
    cube = _scaled(small_cube, factors).reshape(-1, small_cube.shape[2])
    single = BackgroundStats(cube.shape[1]).update(cube, precision="float32")
    double = BackgroundStats(cube.shape[1]).update(cube, precision="float64")
    scale = np.sqrt(np.outer(np.diag(double.scatter_), np.diag(double.scatter_)))
    assert np.all(np.abs(single.scatter_ - double.scatter_) <= 1e-5 * scale)


def test_ordinary_scenes_are_not_rescaled(small_cube):
    # Ordinary scenes keep their bits: no band is scaled, so nothing changes for them.
    stats = BackgroundStats(small_cube.shape[2]).update(small_cube.reshape(-1, small_cube.shape[2]))
    assert GlobalRX().fit(stats).scale_ is None
    assert float32_scale(np.array([2.0 ** -30, 2.0 ** 29, 0.0, 1.0])) is None
    scale = float32_scale(np.array([2.0 ** 31, 1.0, 2.0 ** -32]))
    assert list(scale) == [2.0 ** -32, 1.0, 2.0 ** 31]  # powers of two: exact


@pytest.mark.parametrize("factor, fragment", [(1e200, "too large"), (1e-200, "vary by as little as")],
                         ids=["1e200", "1e-200"])
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_float64_beyond_the_statistics_range_is_refused(small_cube, factor, fragment, precision):
    # 1e-200 once gave a map of zeros with exit 0 (squares underflowed float64).
    pixels = small_cube.astype(np.float64).reshape(-1, small_cube.shape[2]) * factor
    stats = BackgroundStats(pixels.shape[1])
    with pytest.raises(ValueRangeError, match=fragment) as caught:
        stats.update(pixels, precision=precision)
    assert "\n" not in str(caught.value) and "rescale the scene" in str(caught.value)
    assert stats.count_ == 0  # nothing half-added


def test_an_unsampled_huge_value_is_refused_not_summed_to_inf(small_cube):
    pixels = small_cube.astype(np.float64).reshape(-1, small_cube.shape[2])
    pixels[1] = 1e300  # row 1 is not in the window's sample (every other row is)
    with pytest.raises(ValueRangeError, match="too large"):
        BackgroundStats(pixels.shape[1]).update(pixels)
