"""Global RX's streamed energy, alone and with the leading components, against their definitions."""

import numpy as np
import pytest

from hadinfer.kernels.triangular_energy import energy_factor
from hadinfer.kernels.whitened_energy import energy_and_components, whitened_energy

#: The energy's two products: dense (small scenes, or no SciPy) and triangular (large scenes).
PRODUCTS = ["dense", "triangular"]


def factor_for(product, projection):
    return energy_factor(projection) if product == "triangular" else None


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


def _window(rng, layout="band-major", dtype=np.int16, shape=(41, 23, 9)):
    cube = (rng.normal(size=shape) * 50 + 400).astype(dtype)
    if layout == "band-major":
        cube = np.ascontiguousarray(np.moveaxis(cube, -1, 0)).transpose(1, 2, 0)
    return cube, cube.reshape(-1, shape[2]).astype(np.float64).mean(axis=0)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("layout", ["pixel-major", "band-major"])
@pytest.mark.parametrize("dtype", [np.int16, np.float64])
def test_energy_and_components_equal_their_definitions_on_the_core_and_the_window(layout, dtype, product):
    rng = np.random.default_rng(5)
    cube, mean = _window(rng, layout, dtype)
    projection = rng.normal(size=(9, 7)) / 50
    whitened = (cube.astype(np.float64) - mean) @ projection
    core = (slice(6, 30), slice(4, 19))
    energy, components = energy_and_components(cube, mean, projection.astype(np.float32), 3, core,
                                               factor=factor_for(product, projection.astype(np.float32)))
    assert energy.dtype == np.float32 and energy.shape == (24, 15)
    assert components.dtype == np.float64 and components.shape == (41, 23, 3)
    expected = (whitened[core] ** 2).sum(axis=2)
    np.testing.assert_allclose(energy, expected, rtol=1e-5, atol=1e-6 * expected.max())
    np.testing.assert_allclose(components, whitened[:, :, :3], rtol=1e-5, atol=1e-6 * np.abs(whitened).max())


@pytest.mark.parametrize("product", PRODUCTS)
def test_a_pixels_energy_and_components_do_not_depend_on_where_the_core_lies(product):
    rng = np.random.default_rng(6)
    cube, mean = _window(rng)
    projection = (rng.normal(size=(9, 9)) / 50).astype(np.float32)
    factor = factor_for(product, projection)
    whole_energy, whole = energy_and_components(cube, mean, projection, 4, factor=factor)
    for core in ((slice(0, 41), slice(3, 20)), (slice(17, 18), slice(0, 23)), (slice(5, 40), slice(22, 23))):
        energy, components = energy_and_components(cube, mean, projection, 4, core, factor=factor)
        assert energy.tobytes() == whole_energy[core].tobytes()
        assert components.tobytes() == whole.tobytes()


def test_a_scene_without_components_has_zero_energy():
    cube, mean = _window(np.random.default_rng(7))
    energy, components = energy_and_components(cube, mean, np.zeros((9, 0), np.float32), 0)
    assert components.shape == (41, 23, 0) and not energy.any()
