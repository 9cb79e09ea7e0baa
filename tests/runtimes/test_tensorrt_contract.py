"""TensorRT, on a CPU: the engine builder and runtime against a fake ``tensorrt`` written to its documented API.

None of this has run on a GPU.  The fake (``fake_tensorrt.py``) enforces the profile,
returns bools where TensorRT does, needs tensor addresses and reads them, and comes in a
TensorRT 10 and an 11 (no ``BuilderFlag.FP16``) variant.
"""

import sys

import numpy as np
import pytest

pytest.importorskip("onnx", reason="building engines needs onnx (extra 'export')")
pytest.importorskip("onnxruntime", reason="the fake engine computes with onnxruntime (extra 'onnx')")

import hadinfer  # noqa: E402
from hadinfer.detectors.network import NetworkDetector  # noqa: E402
from hadinfer.errors import ModelFileError, WindowTooLargeError  # noqa: E402
from hadinfer.runtimes import open_runtime, sniff_runtime  # noqa: E402
from hadinfer.runtimes.engine_file import MAGIC, read_engine_file  # noqa: E402
from hadinfer.runtimes.tensorrt_runtime import TensorRTRuntime  # noqa: E402
from hadinfer.weights import shipped_model  # noqa: E402

from .fake_tensorrt import HostMemory, make_fake_tensorrt  # noqa: E402


@pytest.fixture(params=[10, 11], ids=["trt10", "trt11"])
def trt(request, monkeypatch):
    fake = make_fake_tensorrt(request.param)
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    return fake


def build(trt, tmp_path, **profile):
    from hadinfer.export.tensorrt_engine import build_engine

    return build_engine(shipped_model("general"), tmp_path / "general.engine", **profile)


def engine_detector(path, gpus=1):
    memory = HostMemory(gpus)
    return NetworkDetector(TensorRTRuntime.open(path, memory=memory), name="model"), memory


def test_engine_file_carries_its_metadata_and_is_sniffed_by_content(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128, max_batch=2)
    assert engine.read_bytes().startswith(MAGIC) and not (tmp_path / "general.engine.json").exists()
    meta, blob = read_engine_file(str(engine))
    assert meta["hadinfer_format"] == "hadinfer-onnx" and meta["max_tile"] == "128" and meta["min_tile"] == "16"
    assert blob and sniff_runtime(str(engine)) == "tensorrt"
    (tmp_path / "m.onnx").write_bytes(shipped_model("general").read_bytes())
    (tmp_path / "m.onnx.json").write_text("{}")  # a stray sidecar no longer decides anything
    assert sniff_runtime(str(tmp_path / "m.onnx")) == "onnxruntime"


def test_networks_are_strongly_typed_and_never_use_the_removed_fp16_flag(trt, tmp_path):
    build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128)
    (flags,) = [detail for what, detail in trt.calls if what == "create_network"]
    assert flags == 1 << trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED
    (built,) = [detail for what, detail in trt.calls if what == "build"]
    assert trt.BuilderFlag.TF32 not in built["flags"]  # float32 parity with the CPU
    assert hasattr(trt.BuilderFlag, "FP16") == (trt.__version__.startswith("10"))


@pytest.mark.parametrize("size,tile", [((40, 37), 256), ((300, 180), 256), ((130, 257), 1024), ((90, 90), 8)])
def test_every_tile_fits_the_profile_and_the_map_equals_onnx(trt, tmp_path, size, tile):
    """Scenes smaller than a tile, truncated edge tiles, --tile-size 1024 and tiny tiles."""
    engine = build(trt, tmp_path, min_tile=32, opt_tile=64, max_tile=160, max_batch=1)
    cube = np.random.default_rng(1).normal(size=(*size, 12))
    cube[size[0] // 2, size[1] // 3] += 8
    detector, memory = engine_detector(engine)
    got = hadinfer.detect(cube, detector=detector, device="cuda", tile_size=tile)
    want = hadinfer.detect(cube, detector="general", device="cpu").scores
    assert not [call for call in trt.calls if call[0] == "rejected_shape"]
    np.testing.assert_allclose(got.scores, want, rtol=1e-5, atol=1e-5)
    runs = [detail for what, detail in trt.calls if what == "execute"]
    assert runs and all(r["stream"] != 0 for r in runs)  # its own stream, not CUDA's default one
    assert all(32 <= r["shape"][2] <= 160 and 32 <= r["shape"][3] <= 160 for r in runs)
    assert memory.allocations <= 2 * 3  # input and output buffers, grown at most a few times, not per tile
    assert got.report["device"] == "cuda:0" and got.report["runtime"] == "tensorrt"


def test_buffers_are_reused_across_tiles(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128)
    detector, memory = engine_detector(engine)
    result = hadinfer.detect(np.random.default_rng(2).normal(size=(200, 200, 10)), detector=detector, device="cuda",
                             tile_size=64)
    runs = [call for call in trt.calls if call[0] == "execute"]
    # the network's native 256-pixel tiles, capped by the profile's largest core (128 less its context)
    assert result.report["tile_size"] == [116, 116] and len(runs) == result.report["tiles"] == 4
    assert memory.allocations <= 4  # input and output buffers, grown once at most


def test_cuda_n_binds_the_engine_to_gpu_n(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128)
    detector, memory = engine_detector(engine, gpus=2)
    seen = []
    original = memory.new_stream
    memory.new_stream = lambda device: (seen.append((device, list(memory.current))), original(device))[1]
    result = hadinfer.detect(np.random.default_rng(3).normal(size=(40, 40, 10)), detector=detector, device="cuda:1")
    assert result.report["device"] == "cuda:1" and seen == [("cuda:1", ["cuda:1"])]
    with pytest.raises(hadinfer.errors.DeviceUnavailableError, match="cuda:2"):
        detector.arrays_for("cuda:2")
    with pytest.raises(hadinfer.errors.DeviceUnavailableError, match="CUDA GPU only"):
        detector.arrays_for("cpu")


def test_a_scene_below_the_profile_minimum_is_a_one_line_error(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=64, opt_tile=64, max_tile=128)
    detector, _ = engine_detector(engine)
    with pytest.raises(WindowTooLargeError, match="at least 64 px a side; the scene is 40x100"):
        hadinfer.detect(np.random.default_rng(4).normal(size=(40, 100, 10)), detector=detector, device="cuda")


def test_a_refused_input_shape_is_named_not_reported_as_an_execution_failure(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128)
    runtime = TensorRTRuntime.open(engine, memory=HostMemory()).bind("cuda:0")
    runtime._state.context.set_input_shape = lambda name, shape: False
    with pytest.raises(ModelFileError, match="refused input shape"):
        runtime.run(np.zeros((1, runtime.metadata["channels"], 32, 32), np.float32))


def test_engine_without_tensorrt_names_the_extra(tmp_path, monkeypatch):
    from hadinfer.runtimes.engine_file import pack_engine

    path = tmp_path / "m.engine"
    meta = {"hadinfer_format": "hadinfer-onnx", "format_version": "1", "channels": "21", "receptive_radius": "6"}
    path.write_bytes(pack_engine(meta, b"serialized"))
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import fails as if not installed
    with pytest.raises(hadinfer.errors.MissingDependencyError, match=r"hadinfer\[tensorrt\]"):
        open_runtime(path)


def test_truncated_engine_file_is_a_one_line_error(tmp_path):
    from hadinfer.runtimes.engine_file import pack_engine

    data = pack_engine({"hadinfer_format": "hadinfer-onnx"}, b"x" * 10)
    (tmp_path / "cut.engine").write_bytes(data[:len(MAGIC) + 12])
    with pytest.raises(ModelFileError, match="truncated"):
        read_engine_file(str(tmp_path / "cut.engine"))


def test_the_engine_is_bound_to_one_device_once_per_run_and_run_takes_no_device(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=16, opt_tile=64, max_tile=128)
    detector, memory = engine_detector(engine, gpus=2)
    bindings = []
    original = memory.new_stream
    memory.new_stream = lambda device: (bindings.append(device), original(device))[1]
    hadinfer.detect(np.random.default_rng(5).normal(size=(300, 90, 10)), detector=detector, device="cuda:1",
                    tile_size=32)
    assert len([call for call in trt.calls if call[0] == "execute"]) > 1
    assert bindings == ["cuda:1"]  # one binding (engine, context, stream) for all the tiles
    assert detector.runtime.device is None  # the detector keeps the runtime as opened
    bound = detector.runtime.bind("cuda")
    assert bound.device == "cuda:0" and bound.bind("cuda:0") is bound
    with pytest.raises(TypeError):
        bound.run(np.zeros((1, bound.metadata["channels"], 32, 32), np.float32), "cuda:0")
    with pytest.raises(hadinfer.errors.ParameterError, match="bound to no device"):
        detector.runtime.run(np.zeros((1, bound.metadata["channels"], 32, 32), np.float32))


def test_tiles_of_one_shape_share_a_batched_call_inside_the_profile(trt, tmp_path):
    engine = build(trt, tmp_path, min_tile=32, opt_tile=64, max_tile=160, max_batch=2)
    cube = np.random.default_rng(6).normal(size=(100, 500, 12))
    cube[50, 222] += 8
    detector, _ = engine_detector(engine)
    got = hadinfer.detect(cube, detector=detector, device="cuda")
    want = hadinfer.detect(cube, detector="general", device="cpu").scores  # one ORT call per tile
    shapes = [detail["shape"] for what, detail in trt.calls if what == "execute"]
    assert sorted(s[0] for s in shapes) == [1, 1, 2]  # the two interior tiles' inputs are (100, 160)
    assert all(s[0] <= 2 and s[3] <= 160 for s in shapes)
    np.testing.assert_allclose(got.scores, want, rtol=1e-5, atol=1e-5)
