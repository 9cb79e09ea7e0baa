"""The training-free fusion baseline: its definition, streaming and registration."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors import DEFAULT_DETECTOR, FusionRX, GlobalRX, LocalRX, make_detector, registered
from hadinfer.errors import ParameterError


def _cube():
    rng = np.random.default_rng(3)
    cube = rng.normal(size=(30, 34, 3)) @ rng.normal(size=(3, 10)) * 20 + 300 + rng.normal(size=(30, 34, 10))
    cube[12, 15] += np.linspace(-30, 30, 10)
    return cube


def test_fusion_is_the_geometric_mean_of_rx_ratios_on_a_small_example():
    cube = _cube()
    windows = ((3, 7), (5, 13))
    fused = FusionRX(windows=windows, n_components=4).fit_score(cube)
    grx = GlobalRX().fit_score(cube).astype(np.float64) / 10  # rank 10: ten independent bands
    local = [LocalRX(i, o, n_components=4).fit_score(cube).astype(np.float64) / 4 for i, o in windows]
    expected = np.exp((np.log(grx) + np.log(local[0]) + np.log(local[1])) / 3)
    np.testing.assert_allclose(fused, expected, rtol=1e-5)
    assert np.unravel_index(np.nanargmax(fused), fused.shape) == (12, 15)


def test_fusion_map_does_not_depend_on_the_tile_size():
    cube = _cube()
    whole = hadinfer.detect(cube, detector="fusion", windows=((3, 7), (5, 13)), n_components=4, device="cpu",
                            tile_size=64).scores
    tiled = hadinfer.detect(cube, detector="fusion", windows=((3, 7), (5, 13)), n_components=4, device="cpu",
                            tile_size=8).scores
    np.testing.assert_allclose(tiled, whole, rtol=1e-5)


def test_fusion_leaves_invalid_pixels_out_and_scores_the_rest():
    cube = _cube()
    cube[0:3, 0:3] = np.nan
    scores = hadinfer.detect(cube, detector="fusion", device="cpu").scores
    assert np.isnan(scores[0:3, 0:3]).all()
    assert np.isfinite(scores[3:, 3:]).all()


def test_fusion_is_registered_and_validates_its_windows():
    assert registered()["fusion"].factory is FusionRX and isinstance(make_detector("fusion"), FusionRX)
    assert DEFAULT_DETECTOR in registered()
    assert FusionRX().halo == 20  # the widest default window, 41 px
    with pytest.raises(ParameterError, match="window"):
        FusionRX(windows=((5, 3),))
    with pytest.raises(ParameterError, match="windows"):
        FusionRX(windows=())
