"""GELU, NumPy and compiled, against PyTorch's exact GELU; the compiled pass's position independence."""

import numpy as np
import pytest

from hadinfer.kernels.gelu import gelu, gelu_numpy

torch = pytest.importorskip("torch", reason="the reference GELU is PyTorch's (extra 'train')")


def exact_gelu(x):
    return torch.nn.functional.gelu(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def test_numpy_gelu_matches_pytorch_in_float64():
    x = np.linspace(-12, 12, 20001)
    assert np.abs(gelu_numpy(x) - exact_gelu(x)).max() < 2e-7 * np.abs(x).max()


def test_float32_gelu_is_within_float32_rounding_of_the_exact_one(kernel_path):
    x = np.concatenate([np.linspace(-40, 40, 400001), [0.0, -0.0, 1e-30, -1e-30, 3e38, -1e-3]]).astype(np.float32)
    got = gelu(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    error = np.abs(got.astype(np.float64) - exact_gelu(x))
    # a few float32 ulps of the value, or of 1 (Phi's own rounding near 0)
    assert (error <= 4 * np.spacing(np.maximum(np.abs(exact_gelu(x)), 1.0).astype(np.float32))).all(), error.max()


def test_compiled_gelu_agrees_with_numpy_and_keeps_shape_and_nan():
    pytest.importorskip("numba", reason="the compiled kernel needs numba (extra 'fast')")
    from hadinfer.kernels.gelu_compiled import gelu_float32

    x = np.random.default_rng(3).normal(scale=3.0, size=(300, 7)).astype(np.float32)
    x[5, 2] = np.nan
    compiled = gelu_float32(x.reshape(-1), np.empty(x.size, np.float32)).reshape(x.shape)
    reference = gelu_numpy(x)
    np.testing.assert_array_equal(np.isnan(compiled), np.isnan(x))
    np.testing.assert_allclose(compiled, reference, rtol=0, atol=6e-7 * np.nanmax(np.abs(x)), equal_nan=True)


def test_compiled_gelu_of_a_value_does_not_depend_on_where_it_sits():
    # The vectorised body and the scalar remainder must round alike, or the learned map
    # would depend on the tiling (a pixel's chunk offset changes with the tile).
    pytest.importorskip("numba", reason="the compiled kernel needs numba (extra 'fast')")
    from hadinfer.kernels.gelu_compiled import gelu_float32

    x = np.random.default_rng(4).normal(scale=4.0, size=1031).astype(np.float32)
    whole = gelu_float32(x, np.empty_like(x))
    for shift in range(1, 40):
        part = x[shift:].copy()
        np.testing.assert_array_equal(gelu_float32(part, np.empty_like(part)), whole[shift:])


def test_gelu_takes_strided_views(kernel_path):
    x = np.random.default_rng(5).normal(size=(64, 80)).astype(np.float32)
    view = x[:, :64]
    np.testing.assert_array_equal(gelu(view), gelu(np.ascontiguousarray(view)))
