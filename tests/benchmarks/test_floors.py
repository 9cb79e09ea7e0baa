"""The machine's floors that benchmarks/timing.py and grx_budget.py compare hadinfer with."""

import pytest

from .test_benchmarks import benchmark_module


@pytest.fixture(scope="module")
def floors():
    return benchmark_module("floors")


def test_blas_floor_covers_every_pixel_with_bounded_data(floors, monkeypatch):
    monkeypatch.setattr(floors, "FLOOR_DATA_BYTES", 2 * floors.TILE_PIXELS * 8 * 4)  # two tiles of float32
    floor = floors.blas_floor((300, 700, 8), "float32")
    assert floor["pixels"] == 210000 and floor["data_pixels"] == 2 * floors.TILE_PIXELS
    assert floor["seconds"] == pytest.approx(floor["covariance_seconds"] + floor["projection_seconds"])


def test_the_triangular_floor_covers_every_pixel_and_keeps_its_data_finite(floors, monkeypatch):
    pytest.importorskip("scipy", reason="the triangular product is SciPy's BLAS")
    import numpy as np

    monkeypatch.setattr(floors, "FLOOR_DATA_BYTES", floors.TILE_PIXELS * 8 * 4)  # one tile of float32
    energy = floors._triangular_energy_blocks(np.random.default_rng(0), floors.TILE_PIXELS, 8, np.float32)
    first = np.concatenate(energy((0, floors.TILE_PIXELS)))
    for _ in range(5):  # the product runs in place on the same chunks, pass after pass
        again = np.concatenate(energy((floors.TILE_PIXELS, 5000)))  # wraps to the start; 2 chunks
    assert first.shape == (floors.TILE_PIXELS,) and again.shape == (2 * 4096,)
    np.testing.assert_allclose(again, first[:2 * 4096], rtol=1e-4)  # orthogonal: the norms stay
    floor = floors.blas_floor((300, 700, 8), "float32", triangular=True)
    assert floor["pixels"] == 210000 and floor["projection_seconds"] > 0


def test_network_flops_are_counted_from_the_graph(floors, tmp_path):
    onnx = pytest.importorskip("onnx", reason="counting FLOPs reads the graph with onnx (extra 'export')")
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    weights = [numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w1"),  # 3 -> 8, 3x3, stride 2
               numpy_helper.from_array(np.zeros((8, 2, 1, 1), np.float32), "w2")]  # 8 -> 8, 1x1, 4 groups
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["h"], strides=[2, 2], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Conv", ["r", "w2"], ["y"], group=4)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 4, 4])], weights)
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph), path)
    assert floors.network_flops_per_pixel(str(path)) == 2 * 8 * 3 * 9 / 4 + 2 * 8 * 2
    from hadinfer.weights import shipped_model

    # general-v3: 1x1 21->32, three 3x3 32->32 blocks, 1x1 32->16, 1x1 16->1 (its network config)
    assert floors.network_flops_per_pixel(str(shipped_model())) == 2 * (21 * 32 + 3 * 32 * 32 * 9 + 32 * 16 + 16)
