"""Tile-parallel scoring on the CPU: one BLAS thread per worker, the same statistics for any number of workers."""

import numpy as np
import pytest

from hadinfer import cpu_threads
from hadinfer.cpu_threads import blas_threads, tile_workers
from hadinfer.detectors import make_detector
from hadinfer.io import open_scene
from hadinfer.kernels.triangular_energy import triangular_blas
from hadinfer.pipeline import accumulate_stats, run_detector
from hadinfer.prefetch import ordered_map
from hadinfer.synthetic import make_cube

from .conftest import write_geotiff

threadpoolctl = pytest.importorskip("threadpoolctl", reason="the BLAS limit needs threadpoolctl (the fast extra)")


def blas_counts() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]


def test_blas_limit_holds_inside_and_is_lifted_after():
    triangular_blas()  # SciPy's BLAS, which the limit loads first, is then counted before too
    before = blas_counts()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS in this NumPy")
    with blas_threads(1) as limited:
        assert limited and blas_counts() == [1] * len(before)
    assert blas_counts() == before
    with blas_threads(None) as limited:
        assert not limited and blas_counts() == before


def test_a_run_with_the_triangular_product_holds_scipys_blas_to_one_thread_too(tmp_path, monkeypatch):
    pytest.importorskip("scipy")
    from hadinfer.kernels import triangular_energy, whitened_energy

    monkeypatch.setattr(triangular_energy, "TRIANGULAR_MIN_VALUES", 0)  # this small scene takes it too
    seen = []

    def recording(block, factor):
        seen.append([pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"])
        return triangular_energy.triangular_energy(block, factor)

    monkeypatch.setattr(whitened_energy, "triangular_energy", recording)
    cube, _ = make_cube(96, 80, 12, seed=3)
    with open_scene(write_geotiff(tmp_path / "s.tif", (cube * 1000).astype(np.int16))) as scene:
        report = run_detector(scene, make_detector("grx"), sink=lambda tile, scores: None, tile_size=32, workers=2)
    assert report["energy_product"] == "triangular" and report["blas_threads_limited"] and seen
    assert any("scipy" in pool["filepath"] for pool in seen[0])  # pip wheels: SciPy's own OpenBLAS
    assert all(pool["num_threads"] == 1 for libraries in seen for pool in libraries)


def test_workers_need_a_cpu_a_tile_parallel_detector_and_a_blas_limit(monkeypatch):
    monkeypatch.setattr(cpu_threads, "cpu_cores", lambda: 8)
    assert tile_workers("cpu", True) == 8
    assert tile_workers("cpu", False) == 1
    assert tile_workers("cuda:0", True) == 1
    monkeypatch.setattr(cpu_threads, "can_limit_blas", lambda: False)  # oversubscribed BLAS: one worker was faster
    assert tile_workers("cpu", True) == 1


@pytest.fixture
def scene(tmp_path):
    cube, _ = make_cube(96, 80, 12, seed=3)
    return write_geotiff(tmp_path / "s.tif", (cube * 1000).astype(np.int16), tiled=True, block=16)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_statistics_are_the_same_bits_for_any_number_of_workers(scene, precision):
    one = accumulate_stats(open_scene(scene), precision=precision)
    for workers in (2, 3):
        many = accumulate_stats(open_scene(scene), precision=precision, workers=workers)
        assert many.count_ == one.count_
        assert np.array_equal(many.mean_, one.mean_) and np.array_equal(many.scatter_, one.scatter_)


def test_run_reports_its_workers_and_the_blas_limit(scene, monkeypatch):
    monkeypatch.setattr(cpu_threads, "cpu_cores", lambda: 2)
    report = run_detector(open_scene(scene), make_detector("grx"), sink=lambda tile, scores: None, tile_size=16,
                          device="cpu")
    assert report["workers"] == 2 and report["blas_threads_limited"] is True
    report = run_detector(open_scene(scene), make_detector("grx"), sink=lambda tile, scores: None, tile_size=16,
                          device="cpu", workers=1)
    assert report["workers"] == 1 and report["blas_threads_limited"] is False


def test_ordered_map_keeps_order_and_bounds_what_is_in_flight():
    started = []

    def items():
        for i in range(20):
            started.append(i)
            yield i

    out = []
    for value in ordered_map(lambda i: i * i, items(), workers=3, name="test"):
        out.append(value)
        assert len(started) - len(out) <= 3  # never more than `workers` submitted and not yet yielded
    assert out == [i * i for i in range(20)]


def test_derived_scene_statistics_and_kept_values_are_the_same_for_any_number_of_workers(scene):
    from hadinfer.io.derived_scene import DerivedScene

    def features(cube, valid):
        return np.tanh(cube[:, :, :4].astype(np.float64) / 1000.0) * valid[:, :, None]

    runs = []
    for workers in (1, 2):
        derived = DerivedScene(open_scene(scene), features, 4, keep=True)
        runs.append((accumulate_stats(derived, workers=workers), derived.kept))
    (one, kept_one), (two, kept_two) = runs
    assert np.array_equal(one.scatter_, two.scatter_) and np.array_equal(one.mean_, two.mean_)
    assert np.array_equal(kept_one, kept_two)


def test_onnx_networks_score_a_tile_per_core_and_torch_ones_alone_with_inputs_prepared_per_core(scene, monkeypatch):
    pytest.importorskip("onnxruntime", reason="general runs on ONNX Runtime (the onnx extra)")
    monkeypatch.setattr(cpu_threads, "cpu_cores", lambda: 2)
    report = run_detector(open_scene(scene), make_detector("general"), sink=lambda tile, scores: None, device="cpu")
    assert (report["workers"], report["preparers"], report["blas_threads_limited"]) == (2, 2, True)
    pytest.importorskip("torch", reason="the PyTorch runtime needs the torch extra")
    report = run_detector(open_scene(scene), make_detector("general", runtime="torch"),
                          sink=lambda tile, scores: None, device="cpu")
    assert (report["workers"], report["preparers"], report["blas_threads_limited"]) == (1, 2, True)


def test_onnx_runtime_uses_one_thread_per_call_only_where_calls_run_a_tile_per_core(monkeypatch):
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra")
    from hadinfer.runtimes.onnx_runtime import session_options

    monkeypatch.setattr(cpu_threads, "cpu_cores", lambda: 2)
    assert session_options(ort, "cpu").intra_op_num_threads == 1
    monkeypatch.setattr(cpu_threads, "can_limit_blas", lambda: False)  # one call at a time: every core
    assert session_options(ort, "cpu").intra_op_num_threads >= 1
    assert session_options(ort, "cpu").intra_op_num_threads == session_options(ort, "cuda:0").intra_op_num_threads


def test_overlapping_runs_share_one_limit_and_the_last_restores_it():
    before = blas_counts()
    if not before:
        pytest.skip("threadpoolctl finds no BLAS in this NumPy")
    first, second = blas_threads(1), blas_threads(1)
    first.__enter__()
    second.__enter__()  # a second run starts while the first holds the limit
    first.__exit__(None, None, None)  # the first ends: the second still runs limited
    assert blas_counts() == [1] * len(before)
    second.__exit__(None, None, None)
    assert blas_counts() == before  # not left at 1
