"""The ring-RX kernels against their definitions, and their exactness."""

import numpy as np
import pytest

from hadinfer.arrays import NumpyArrays
from hadinfer.kernels.ring_sums import _RingSums, ring_rx


def reference_ring_rx(z, valid, inner, outer, delta):
    """Slow, obviously-correct dual-window RX of components ``z``: a loop over pixels and ring pixels."""
    height, width, k = z.shape
    ro, ri = outer // 2, inner // 2
    out = np.full((height, width), np.nan)
    for y in range(height):
        for x in range(width):
            if not valid[y, x]:
                continue
            ring = [z[v, u] for v in range(max(0, y - ro), min(height, y + ro + 1))
                    for u in range(max(0, x - ro), min(width, x + ro + 1))
                    if valid[v, u] and (abs(v - y) > ri or abs(u - x) > ri)]
            if len(ring) < 2:
                continue
            ring = np.array(ring)
            cov = np.cov(ring, rowvar=False, ddof=1).reshape(k, k) + delta * np.eye(k)
            d = z[y, x] - ring.mean(axis=0)
            out[y, x] = d @ np.linalg.solve(cov, d)
    return out


@pytest.mark.parametrize("k", [1, 3])
def test_ring_rx_equals_its_definition(k, kernel_path):
    rng = np.random.default_rng(12)
    z = rng.normal(size=(17, 13, k))
    valid = rng.random((17, 13)) > 0.15
    z[~valid] = 0.0
    mask = valid.astype(np.float64)
    windows = ((1, 5), (3, 7))
    got = ring_rx(NumpyArrays(), z, mask, valid, windows, 1e-3)
    for scores, (inner, outer) in zip(got, windows):
        expected = reference_ring_rx(z, valid, inner, outer, 1e-3)
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


@pytest.mark.parametrize("k", [1, 4, 10])
def test_the_numpy_kernel_gives_the_same_bits_whatever_its_blocks(k):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(90, 83, k)) * np.logspace(-2, 2, k)
    valid = rng.random((90, 83)) > 0.1
    valid[20:30, 10:25] = False
    z[~valid] = 0.0
    windows, core = ((5, 15), (11, 41), (3, 9)), (slice(20, 70), slice(20, 63))
    maps = [ring_rx(NumpyArrays(), z, valid.astype(np.float64), valid, windows, 1e-3, core, memory_budget=budget,
                    compiled=False) for budget in (2**30, 2**20, 2**16)]  # one block, several, one row each
    assert np.isfinite(maps[0][0]).sum() > 0.8 * maps[0][0].size
    for other in maps[1:]:
        assert all(a.tobytes() == b.tobytes() for a, b in zip(maps[0], other))


def test_the_numpy_kernel_caps_its_blocks_and_the_compiled_one_does_not(monkeypatch):
    from hadinfer.kernels import ring_sums

    blocks = []
    monkeypatch.setattr(ring_sums, "NUMPY_BLOCK_BUDGET", 2**20)
    real_numpy, real_compiled = ring_sums._ring_block, ring_sums._ring_block_compiled
    monkeypatch.setattr(ring_sums, "_ring_block", lambda xp, z, mask, block, *rest: (
        blocks.append(("numpy", block)), real_numpy(xp, z, mask, block, *rest))[1])
    monkeypatch.setattr(ring_sums, "_ring_block_compiled", lambda z, mask, block, *rest: (
        blocks.append(("compiled", block)), real_compiled(z, mask, block, *rest))[1])
    z = np.random.default_rng(0).normal(size=(60, 60, 4))
    valid = np.ones((60, 60), dtype=bool)
    for compiled in (False, True):
        ring_rx(NumpyArrays(), z, valid.astype(np.float64), valid, ((3, 9),), 1e-3, memory_budget=2**30,
                compiled=compiled)
    numpy_blocks = [block for kind, block in blocks if kind == "numpy"]
    per_pixel = 8 * ((10 + 4 + 2) + 2 * 10 + 4 * 4 + 8)  # ring_rx's scratch estimate for k = 4, one pair
    edge = int(np.sqrt(2**20 / per_pixel))
    assert len(numpy_blocks) == int(np.ceil(60 / edge)) ** 2 > 1
    if ring_sums.compiled_kernels():  # with Numba: the caller's budget, one block for the whole window
        assert [block for kind, block in blocks if kind == "compiled"] == [(slice(0, 60), slice(0, 60))]
