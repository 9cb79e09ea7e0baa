"""The fused input preparation equals its definition: pointwise channels and one LocalRX per window."""

import numpy as np
import pytest

import hadinfer
from hadinfer.arrays import NumpyArrays
from hadinfer.detectors import BackgroundStats, LocalRX
from hadinfer.kernels.ring_sums import ring_rx, whitened_components
from hadinfer.models.input_policy import InputPolicy, network_input

POLICY = InputPolicy(4, ((3, 7), (5, 11), (1, 9)), 3)


def _scene(holes=True):
    rng = np.random.default_rng(5)
    cube = rng.normal(size=(46, 41, 3)) @ rng.normal(size=(3, 12)) * 40 + 900 + rng.normal(size=(46, 41, 12))
    cube[20, 17] += np.linspace(-50, 50, 12)
    valid = np.ones(cube.shape[:2], bool)
    if holes:
        valid[3:6, 30:35] = valid[40:, :4] = False
        cube[~valid] = 0.0
    return cube, valid


def _reference(policy, stats, cube, valid, region):
    """The definition, channel by channel: the pre-fusion implementation."""
    rows, cols = region
    mean, projection = hadinfer.kernels.whitening.pca_whitening(stats, None)
    channels = [network_input(cube[rows, cols], mean, projection, policy.components)]
    grx = channels[0][..., -1]
    for inner, outer in policy.lrx_windows:
        part = LocalRX(inner, outer, policy.lrx_components).fit(stats)
        score = part.score(cube, valid, region).astype(np.float64) / part.projection_.shape[1]
        channels.append(np.where(np.isfinite(score), score, grx)[..., None])
    return np.where(valid[rows, cols][..., None], np.concatenate(channels, axis=-1), 0.0)


@pytest.mark.parametrize("holes", [False, True], ids=["full", "nodata"])
@pytest.mark.parametrize("region", [None, (slice(6, 39), slice(5, 36))], ids=["whole", "region"])
def test_features_equal_their_definition_to_float32_rounding(holes, region):
    cube, valid = _scene(holes)
    stats = BackgroundStats(12).update(cube[valid])
    region = region or (slice(0, cube.shape[0]), slice(0, cube.shape[1]))
    fused = POLICY.fit(stats).features(cube, valid, region)
    expected = _reference(POLICY, stats, cube, valid, region)
    assert fused.dtype == np.float32 and fused.shape == expected.shape
    scale = np.abs(expected).reshape(-1, POLICY.channels).max(axis=0)
    np.testing.assert_allclose(fused / scale, expected / scale, atol=1e-6)
    local = slice(POLICY.components + 1, None)
    np.testing.assert_allclose(fused[..., local], expected[..., local], rtol=1e-6)


def test_features_of_a_region_do_not_depend_on_the_window_around_it():
    cube, valid = _scene()
    inputs = POLICY.fit(BackgroundStats(12).update(cube[valid]))
    whole = inputs.features(cube, valid)
    halo = POLICY.halo
    window = (slice(10 - halo, 30 + halo), slice(12 - halo, 33 + halo))
    part = inputs.features(cube[window], valid[window], (slice(halo, 20 + halo), slice(halo, 21 + halo)))
    np.testing.assert_allclose(part, whole[10:30, 12:33], rtol=1e-5, atol=1e-6)


def test_shared_ring_sums_equal_one_local_rx_per_window():
    cube, valid = _scene()
    stats = BackgroundStats(12).update(cube[valid])
    windows = ((3, 7), (5, 13), (1, 3))
    first = LocalRX(*windows[0], n_components=4).fit(stats)
    xp = NumpyArrays()
    z, mask = whitened_components(xp, cube, valid, first.mean_, first.projection_)
    core = (slice(4, 40), slice(2, 39))
    shared = ring_rx(xp, z, mask, valid, windows, 1e-3, core)
    small_budget = ring_rx(xp, z, mask, valid, windows, 1e-3, core, memory_budget=1)
    for (inner, outer), together, tiny in zip(windows, shared, small_budget):
        alone = LocalRX(inner, outer, n_components=4).fit(stats).score(cube, valid, core)
        np.testing.assert_array_equal(np.isnan(together), np.isnan(alone))
        np.testing.assert_allclose(together, alone, rtol=1e-6)
        np.testing.assert_allclose(tiny, together, rtol=1e-9)


def test_band_major_and_pixel_major_windows_give_the_same_channels():
    cube, valid = _scene()
    inputs = POLICY.fit(BackgroundStats(12).update(cube[valid]))
    band_major = np.moveaxis(np.ascontiguousarray(np.moveaxis(cube, -1, 0)), 0, -1)  # as rasterio reads
    assert band_major.strides[2] > band_major.strides[1]
    pixel_major = np.ascontiguousarray(cube)
    np.testing.assert_array_equal(inputs.features(band_major, valid), inputs.features(pixel_major, valid))


def test_int16_windows_give_the_channels_of_float64_windows():
    cube, valid = _scene()
    cube = np.round(cube)
    inputs = POLICY.fit(BackgroundStats(12).update(cube[valid]))
    single = inputs.features(cube.astype(np.int16), valid)
    exact = inputs.features(cube, valid)
    scale = np.abs(exact).reshape(-1, POLICY.channels).max(axis=0)
    np.testing.assert_allclose(single / scale, exact / scale, atol=1e-6)
