import numpy as np
import pytest

from hadinfer.detectors import BackgroundStats, GlobalRX, whitening_basis
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


def test_pseudo_inverse_matches_numpy_pinv_on_rank_deficient_cov():
    rng = np.random.default_rng(1)
    pixels = rng.normal(size=(5, 8))  # fewer pixels than bands: rank 4
    pixels[:, 3] = 7.0  # a constant band
    cov = np.cov(pixels, rowvar=False)
    basis, values = whitening_basis(cov)
    projection = basis / np.sqrt(values)
    np.testing.assert_allclose(projection @ projection.T, np.linalg.pinv(cov, hermitian=True), atol=1e-8)


def test_grx_scores_finite_with_constant_band_and_few_pixels():
    rng = np.random.default_rng(2)
    cube = rng.normal(size=(3, 3, 20))
    cube[:, :, 5] = 1.0
    scores = GlobalRX().fit_score(cube)
    assert np.isfinite(scores).all() and scores.max() > 0


def test_constant_image_scores_zero():
    assert (GlobalRX().fit_score(np.ones((4, 4, 3))) == 0).all()


def test_shrinkage_range_checked():
    with pytest.raises(ParameterError, match="shrinkage"):
        whitening_basis(np.eye(3), shrinkage=2.0)


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


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64])
@pytest.mark.parametrize("band_major", [True, False])
def test_centred_blocks_are_the_centred_window_whatever_their_size(dtype, band_major):
    from hadinfer.kernels.statistics import centred_blocks

    rng = np.random.default_rng(3)
    planes = (rng.normal(size=(7, 13, 11)) * 300 + 1000).astype(dtype)  # (bands, rows, cols)
    cube = planes.transpose(1, 2, 0) if band_major else np.ascontiguousarray(planes.transpose(1, 2, 0))
    mean = cube.reshape(-1, 7).astype(np.float64).mean(axis=0)
    expected = (cube.astype(np.float64) - mean).reshape(-1, 7)
    for block_pixels in (1, 11, 40, 10_000):
        got = np.empty((13 * 11, 7))
        for top, rows, centred in centred_blocks(cube, mean, np.float64, block_pixels=block_pixels):
            assert rows == min(max(1, block_pixels // 11), 13 - top)
            got[top * 11:(top + rows) * 11] = centred
        np.testing.assert_array_equal(got, expected)
