"""The ring-RX kernels against their definitions, and their exactness."""

import numpy as np
import pytest

from hadinfer.arrays import NumpyArrays
from hadinfer.kernels.compiled import compiled_kernels
from hadinfer.kernels.ring_sums import _RingSums, ring_rx


def ring_rx_by_definition(z, valid, inner, outer, regularization):
    """Each pixel's ring (outer box minus inner box, valid pixels, clipped at the borders):
    mean, sample covariance plus the ridge, and the quadratic form, pixel by pixel."""
    height, width, k = z.shape
    out = np.full((height, width), np.nan)
    a, b = inner // 2, outer // 2
    for r in range(height):
        for c in range(width):
            if not valid[r, c]:
                continue
            ring = [z[i, j] for i in range(max(0, r - b), min(height, r + b + 1))
                    for j in range(max(0, c - b), min(width, c + b + 1))
                    if valid[i, j] and not (abs(i - r) <= a and abs(j - c) <= a)]
            if len(ring) < 2:
                continue
            ring = np.array(ring)
            diff = z[r, c] - ring.mean(axis=0)
            cov = np.cov(ring, rowvar=False).reshape(k, k) + regularization * np.eye(k)
            out[r, c] = diff @ np.linalg.solve(cov, diff)
    return out


@pytest.fixture(params=["numpy", "compiled"])
def ring_kernel(request, monkeypatch):
    """Run a test with the NumPy ring kernel, then with the compiled one (extra ``fast``)."""
    if request.param == "compiled":
        pytest.importorskip("numba", reason="the compiled kernel needs numba (extra 'fast')")
    monkeypatch.setenv("HADINFER_COMPILED", "1" if request.param == "compiled" else "0")
    assert compiled_kernels() == (request.param == "compiled")
    return request.param


@pytest.mark.parametrize("k", [1, 3])
def test_ring_rx_equals_its_definition(k, ring_kernel):
    rng = np.random.default_rng(12)
    z = rng.normal(size=(17, 13, k))
    valid = rng.random((17, 13)) > 0.15
    z[~valid] = 0.0
    mask = valid.astype(np.float64)
    windows = ((1, 5), (3, 7))
    got = ring_rx(NumpyArrays(), z, mask, valid, windows, 1e-3)
    for scores, (inner, outer) in zip(got, windows):
        expected = ring_rx_by_definition(z, valid, inner, outer, 1e-3)
        np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
        np.testing.assert_allclose(scores[valid], expected[valid], rtol=2e-5, equal_nan=True)


def test_ring_sums_are_exact_whatever_the_slab_origin():
    # The same pixels' ring sums from two slabs that start at different places: float64
    # summed-area tables would round them differently (values of 1e3 beside 1e-3).
    rng = np.random.default_rng(8)
    values = rng.normal(size=(60, 50, 3)) * np.array([1e3, 1.0, 1e-3])
    radius, xp = 4, NumpyArrays()

    def ring_sums(top, left):
        slab = values[top:, left:]
        height, width = slab.shape[:2]
        rows, cols = slice(20 - top, 40 - top), slice(15 - left, 35 - left)
        ring = _RingSums(xp, height, width, radius, rows, cols)
        return ring.ring(ring.integral(slab), radius, 1)

    whole, shifted = ring_sums(0, 0), ring_sums(9, 7)
    assert whole.tobytes() == shifted.tobytes()
    # and they are the sums of the fixed-point values, exactly
    fixed = np.rint(values * 2.0 ** 28)
    padded = np.pad(fixed, ((radius, radius), (radius, radius), (0, 0)))
    expected = np.empty_like(whole)
    for n, (r, c) in enumerate((r, c) for r in range(20, 40) for c in range(15, 35)):
        outer = padded[r:r + 2 * radius + 1, c:c + 2 * radius + 1].sum(axis=(0, 1))
        inner = padded[r + radius - 1:r + radius + 2, c + radius - 1:c + radius + 2].sum(axis=(0, 1))
        expected[:, n] = (outer - inner) / 2.0 ** 28
    np.testing.assert_array_equal(whole, expected)


@pytest.mark.parametrize("k", [1, 4, 10])
def test_the_compiled_kernel_gives_the_numpy_kernels_bits(k, monkeypatch):
    pytest.importorskip("numba", reason="the compiled kernel needs numba (extra 'fast')")
    rng = np.random.default_rng(14)
    z = rng.normal(size=(61, 47, k)) * np.logspace(-2, 2, k)
    valid = rng.random((61, 47)) > 0.1
    valid[20:30, 10:25] = False  # a hole wider than the inner window
    z[~valid] = 0.0
    windows, core = ((5, 15), (11, 41)), (slice(3, 58), slice(0, 40))
    maps = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("HADINFER_COMPILED", flag)
        maps[flag] = ring_rx(NumpyArrays(), z, valid.astype(np.float64), valid, windows, 1e-3, core,
                             memory_budget=2**20)  # several blocks
    for numpy_map, compiled_map in zip(maps["0"], maps["1"]):
        assert np.isfinite(numpy_map).sum() > 0.8 * numpy_map.size
        assert numpy_map.tobytes() == compiled_map.tobytes()
