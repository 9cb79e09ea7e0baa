"""Network detectors stack tiles of one input shape into one runtime call on a GPU: the same map,
to float rounding, as one call per tile (which the CPU keeps, to the bit)."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors.network import NetworkArrays

pytest.importorskip("onnxruntime", reason="the shipped model runs on ONNX Runtime (extra 'onnx')")


class CountingRuntime:
    """A bound runtime that records each call's batch size."""

    def __init__(self, runtime):
        self.runtime, self.calls = runtime, []
        self.profile, self.device, self.name = runtime.profile, runtime.device, runtime.name

    def run(self, batch):
        self.calls.append(batch.shape[0])
        return self.runtime.run(batch)


@pytest.fixture(scope="module")
def scene_cube():
    rng = np.random.default_rng(15)
    cube = rng.normal(size=(300, 800, 3)) @ rng.normal(size=(3, 12)) * 30 + rng.normal(size=(300, 800, 12)) * 3 + 500
    cube[150, 400] += 40
    return cube


def run(cube, device_label):
    """The general map, with the runtime's calls counted and the arrays labelled ``device_label``
    (a GPU label makes the detector batch; the runtime itself stays ONNX Runtime on the CPU)."""
    detector = hadinfer.detectors.build("general")
    runtimes = []

    def arrays_for(device="auto"):
        arrays = NetworkArrays(CountingRuntime(detector.runtime.bind("cpu")))
        arrays.device = device_label
        runtimes.append(arrays.runtime)
        return arrays

    detector.arrays_for = arrays_for
    scores = hadinfer.detect(cube, detector=detector, device="cpu", layout="bands-last").scores
    return scores, runtimes[0].calls


def test_on_the_cpu_every_tile_is_its_own_call(scene_cube):
    _, calls = run(scene_cube, "cpu")
    assert calls == [1] * 8  # 2 rows x 4 columns of native 256-pixel tiles


def test_batched_calls_give_the_tile_by_tile_map_to_float_rounding(scene_cube):
    single, _ = run(scene_cube, "cpu")
    batched, calls = run(scene_cube, "cuda:0")
    assert sum(calls) == 8 and max(calls) == 2 and len(calls) == 6  # per row: 1, 2 (same shape), 1
    assert np.isfinite(batched).all()
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6 * np.abs(single).max())


def test_batches_never_cross_a_row_of_tiles():
    from hadinfer.pipeline import tile_batches
    from hadinfer.tiling import tile_windows

    tiles = tile_windows((50, 70), 10)  # 5 rows of 7
    batches = list(tile_batches(((t, i) for i, t in enumerate(tiles)), 4))
    assert [len(b) for b in batches] == [4, 3] * 5
    assert all(len({t.core.row_off for t, _ in b}) == 1 for b in batches)
    assert [i for b in batches for _, i in b] == list(range(35))
