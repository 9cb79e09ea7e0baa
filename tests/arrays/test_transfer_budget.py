"""Issue 10: bytes moved to the device per tile stay within a budget (a GPU's PCIe link is the bottleneck).

``TorchArrays`` counts what it copies from the host (on the CPU too, where it is what a
GPU would receive).  An int16 tile must travel as int16 (2 bytes a value), converted on
the device, not widened to float64 on the host first (8 bytes a value).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch array library needs torch (extra 'torch')")

from hadinfer.arrays.torch_arrays import TorchArrays  # noqa: E402
from hadinfer.detectors import BackgroundStats, GlobalRX  # noqa: E402


def test_a_tile_travels_in_its_own_dtype():
    arrays = TorchArrays("cpu")
    tile = np.arange(64 * 64 * 10, dtype=np.int16).reshape(64, 64, 10)
    out = arrays.asarray(tile)
    assert arrays.bytes_to_device == tile.nbytes and out.dtype == torch.float64
    assert arrays.asarray(tile, dtype=np.float32).dtype == torch.float32


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_grx_moves_at_most_the_raw_tile_and_its_parameters(precision):
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 4000, size=(128, 96, 40)).astype(np.int16)
    detector = GlobalRX(precision=precision).fit(BackgroundStats(40).update(tile.reshape(-1, 40)))
    arrays = TorchArrays("cpu")
    scores = detector.score(tile, np.ones(tile.shape[:2], bool), arrays=arrays)
    parameters = detector.mean_.nbytes + detector.projection_.nbytes
    assert arrays.bytes_to_device <= tile.nbytes + parameters, (arrays.bytes_to_device, tile.nbytes)
    assert arrays.bytes_to_device < 2 * tile.nbytes  # not the 4x of a float64 copy
    reference = detector.score(tile.astype(np.float64), np.ones(tile.shape[:2], bool))
    np.testing.assert_allclose(scores, reference, rtol=1e-3 if precision == "float32" else 1e-6)


def test_statistics_pass_runs_on_the_array_library(tmp_path):
    """With PyTorch arrays (a GPU run) each window's moments are computed there, from the int16 tile."""
    from hadinfer.io import ArrayScene
    from hadinfer.pipeline import accumulate_stats

    rng = np.random.default_rng(1)
    cube = rng.integers(0, 3000, size=(70, 50, 12)).astype(np.int16)
    arrays = TorchArrays("cpu")
    calls = []
    original = arrays.window_moments
    arrays.window_moments = lambda *a: (calls.append(a[0].dtype), original(*a))[1]
    on_library = accumulate_stats(ArrayScene(cube), (32, 32), arrays=arrays)
    assert calls and set(calls) == {np.dtype(np.int16)}  # tiles travel as int16
    assert arrays.bytes_to_device <= cube.nbytes + 4 * 70 * 50  # the tiles and their masks, nothing wider
    pixels = cube.reshape(-1, 12).astype(np.float64)
    np.testing.assert_allclose(on_library.covariance(), np.cov(pixels, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(on_library.mean_, pixels.mean(axis=0), rtol=1e-12)
    holes = cube.astype(np.float32)
    holes[3, 4, 5] = np.nan  # an invalid pixel: left out on the device too
    masked = accumulate_stats(ArrayScene(holes), (32, 32), arrays=TorchArrays("cpu"))
    kept = np.delete(pixels, 3 * 50 + 4, axis=0)
    assert masked.count_ == kept.shape[0]
    np.testing.assert_allclose(masked.covariance(), np.cov(kept, rowvar=False), rtol=1e-10)
