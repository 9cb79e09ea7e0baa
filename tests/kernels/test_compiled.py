"""Which scenes run the compiled kernels: from a size up, the same map either way."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hadinfer
from hadinfer.kernels import compiled
from hadinfer.kernels.compiled import COMPILED_MIN_PIXEL_PAIRS, compiled_pays

from ..conftest import write_geotiff


def test_a_scene_runs_compiled_from_the_threshold_up_unless_the_environment_says_otherwise(monkeypatch):
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    monkeypatch.delenv("HADINFER_COMPILED", raising=False)
    monkeypatch.setattr(compiled, "numba_ready", lambda: False)  # a fresh process
    assert not compiled_pays(COMPILED_MIN_PIXEL_PAIRS - 1)
    assert not compiled_pays(COMPILED_MIN_PIXEL_PAIRS - 1, same_bits=True)
    assert compiled_pays(COMPILED_MIN_PIXEL_PAIRS)
    monkeypatch.setenv("HADINFER_COMPILED", "1")  # every scene
    assert compiled_pays(1)
    monkeypatch.setenv("HADINFER_COMPILED", "0")  # none
    assert not compiled_pays(COMPILED_MIN_PIXEL_PAIRS * 4)


def test_once_loaded_kernels_with_the_same_bits_run_compiled_for_any_scene(monkeypatch):
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    monkeypatch.delenv("HADINFER_COMPILED", raising=False)
    monkeypatch.setattr(compiled, "numba_ready", lambda: True)
    assert compiled_pays(1, same_bits=True)
    assert not compiled_pays(1)  # a GELU's bits must not depend on what the process ran before
    monkeypatch.setenv("HADINFER_COMPILED", "0")
    assert not compiled_pays(1, same_bits=True)


def test_without_numba_no_scene_runs_compiled(monkeypatch):
    monkeypatch.setattr(compiled.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("HADINFER_COMPILED", "1")
    assert not compiled_pays(COMPILED_MIN_PIXEL_PAIRS * 4)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    rng = np.random.default_rng(3)
    cube = rng.normal(size=(90, 80, 3)) @ rng.normal(size=(3, 16)) * 30 + rng.normal(size=(90, 80, 16)) * 3 + 700
    cube[40, 30] += np.linspace(-60, 60, 16)
    return write_geotiff(tmp_path_factory.mktemp("compiled") / "scene.tif", cube.astype(np.int16))


@pytest.mark.parametrize("detector", ["lrx", "fusion", "learned", "general"])
def test_the_scene_size_picks_the_kernel_and_the_map_barely_moves(scene, detector, monkeypatch):
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    if detector == "general":
        pytest.importorskip("onnxruntime", reason="general runs on ONNX Runtime (extra 'onnx')")
    monkeypatch.delenv("HADINFER_COMPILED", raising=False)
    monkeypatch.setattr(compiled, "numba_ready", lambda: False)  # as in a fresh process
    small = hadinfer.detect(scene, detector=detector, device="cpu")
    assert small.report["ring_kernel"] == "numpy"  # 90 x 80 pixels: below the threshold
    monkeypatch.setattr(compiled, "COMPILED_MIN_PIXEL_PAIRS", 90 * 80)  # as if the scene were large
    large = hadinfer.detect(scene, detector=detector, device="cpu")
    assert large.report["ring_kernel"] == "compiled"
    if detector == "learned":  # its GELU: NumPy's and the compiled one agree to float32 rounding
        np.testing.assert_allclose(large.scores, small.scores, rtol=2e-5)
        assert np.corrcoef(large.scores.ravel(), small.scores.ravel())[0, 1] > 0.99999
    else:  # the ring kernels give the same bits
        assert large.scores.tobytes() == small.scores.tobytes()


def test_a_global_detector_reports_no_ring_kernel(scene):
    assert hadinfer.detect(scene, detector="grx", device="cpu").report["ring_kernel"] is None


def test_a_small_scene_never_loads_numba_and_a_process_that_did_gets_the_same_maps(scene):
    """What the threshold is for: a small scene's run does not pay for loading Numba; once
    loaded, the ring kernels run compiled and every map keeps its bits."""
    pytest.importorskip("numba", reason="without numba nothing could load it")
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        import hadinfer
        from hadinfer.kernels.gelu import gelu
        cold = {{name: hadinfer.detect({str(scene)!r}, detector=name, device="cpu") for name in ("fusion", "learned")}}
        assert [r.report["ring_kernel"] for r in cold.values()] == ["numpy", "numpy"]
        assert "numba" not in sys.modules
        gelu(np.ones(8, dtype=np.float32), compiled=True)  # something else called a compiled kernel
        for name, before in cold.items():
            after = hadinfer.detect({str(scene)!r}, detector=name, device="cpu")
            assert after.report["ring_kernel"] == "compiled", name
            assert after.scores.tobytes() == before.scores.tobytes(), name
        print("ok")
    """)
    env = {key: value for key, value in os.environ.items() if key != "HADINFER_COMPILED"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_large_scene_that_is_mostly_nodata_still_runs_the_compiled_ring_kernel(tmp_path, monkeypatch):
    """Its tiles are scored whole: the ring kernel's work is the scene's pixels, not its valid ones."""
    pytest.importorskip("numba", reason="the compiled kernels need numba (extra 'fast')")
    monkeypatch.delenv("HADINFER_COMPILED", raising=False)
    monkeypatch.setattr(compiled, "numba_ready", lambda: False)
    rng = np.random.default_rng(5)
    cube = np.full((520, 520, 6), -9999, dtype=np.int16)
    cube[200:260, 300:360] = (rng.normal(size=(60, 60, 6)) * 20 + 500).astype(np.int16)
    scene = write_geotiff(tmp_path / "sparse.tif", cube, nodata=-9999)
    assert 520 * 520 * 2 >= COMPILED_MIN_PIXEL_PAIRS > 60 * 60 * 2
    compiled_run = hadinfer.detect(scene, detector="fusion", device="cpu")
    assert compiled_run.report["ring_kernel"] == "compiled"
    monkeypatch.setenv("HADINFER_COMPILED", "0")
    numpy_run = hadinfer.detect(scene, detector="fusion", device="cpu")
    assert numpy_run.report["ring_kernel"] == "numpy"
    assert compiled_run.scores.tobytes() == numpy_run.scores.tobytes()
