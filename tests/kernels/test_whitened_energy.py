"""Global RX's streamed energy against its definition."""

import numpy as np
import pytest

from hadinfer.kernels.whitened_energy import whitened_energy


@pytest.mark.parametrize("layout", ["pixel-major", "band-major"])
@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64])
def test_whitened_energy_equals_the_float64_definition_to_float32_rounding(layout, dtype):
    rng = np.random.default_rng(13)
    cube = (rng.normal(size=(37, 29, 9)) * 50 + 400).astype(dtype)
    if layout == "band-major":  # as rasterio reads: (B, h, w) memory seen as (h, w, B)
        cube = np.ascontiguousarray(np.moveaxis(cube, -1, 0)).transpose(1, 2, 0)
    mean = cube.reshape(-1, 9).astype(np.float64).mean(axis=0)
    projection = rng.normal(size=(9, 5)) / 50
    expected = (((cube.astype(np.float64) - mean) @ projection) ** 2).sum(axis=2)
    got = whitened_energy(cube, mean, projection.astype(np.float32))
    assert got.dtype == np.float32 and got.shape == (37, 29)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * expected.max())
