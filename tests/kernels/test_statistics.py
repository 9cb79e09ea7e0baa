import numpy as np
import pytest

from hadinfer.detectors import BackgroundStats, GlobalRX
from hadinfer.errors import AllNodataError, ParameterError


def test_windowed_accumulation_equals_np_cov():
    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(1000, 6)) * [1, 10, 100, 1e3, 1e4, 1] + 5e4  # large offset: cancellation test
    stats = BackgroundStats(6)
    for chunk in np.array_split(pixels, [3, 10, 400, 401, 999]):
        stats.update(chunk)
    np.testing.assert_allclose(stats.mean_, pixels.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance(), np.cov(pixels, rowvar=False), rtol=1e-9, atol=1e-9)
    assert stats.count_ == 1000


def test_no_pixels_is_all_nodata():
    with pytest.raises(AllNodataError):
        BackgroundStats(3).covariance()


def test_grx_scores_finite_with_constant_band_and_few_pixels():
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(3, 3, 20))
    cube[:, :, 5] = 1.0
    scores = GlobalRX().fit_score(cube)
    assert np.isfinite(scores).all() and scores.max() > 0


def test_constant_image_scores_zero():
    assert (GlobalRX().fit_score(np.ones((4, 4, 3))) == 0).all()


def test_tree_merged_statistics_equal_np_cov_of_all_pixels():
    from functools import reduce

    rng = np.random.default_rng(4)
    pixels = rng.normal(size=(1000, 6)) * [1, 10, 100, 1e3, 1e4, 1e5] + 1e6  # badly scaled, far from 0
    parts = [BackgroundStats(6).update(chunk) for chunk in np.array_split(pixels, 16)]
    while len(parts) > 1:  # a binary tree, as a distributed reduction would do
        parts = [parts[i].merge(parts[i + 1]) if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
    expected = np.cov(pixels, rowvar=False)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))  # rounding relative to each pair's scale
    np.testing.assert_allclose(parts[0].covariance() / scale, expected / scale, atol=1e-11)
    np.testing.assert_allclose(parts[0].mean_, pixels.mean(axis=0), rtol=1e-12)
    assert parts[0].count_ == 1000
    sequential = reduce(lambda a, b: a.merge(b), [BackgroundStats(6).update(c) for c in np.array_split(pixels, 7)])
    np.testing.assert_allclose(sequential.covariance() / scale, expected / scale, atol=1e-11)
    assert BackgroundStats(6).merge(BackgroundStats(6)).count_ == 0
    with pytest.raises(ParameterError, match="bands"):
        BackgroundStats(6).merge(BackgroundStats(5))
