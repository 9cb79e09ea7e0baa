import numpy as np
import pytest

from hadinfer.kernels.centring import centred_blocks


@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64])
@pytest.mark.parametrize("band_major", [True, False])
def test_centred_blocks_are_the_centred_window_whatever_their_size(dtype, band_major):
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
