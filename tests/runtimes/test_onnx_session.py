"""ONNX Runtime session options (:func:`hadinfer.runtimes.onnx_runtime.session_options`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hadinfer

ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")

SHIPPED = Path(hadinfer.__file__).parent / "weights" / "general-v3.onnx"


def test_cpu_sessions_plan_no_memory_patterns_and_gpu_sessions_keep_them():
    from hadinfer.runtimes.onnx_runtime import session_options

    assert session_options(ort, "cpu").enable_mem_pattern is False
    assert session_options(ort, "cuda:0").enable_mem_pattern is True


def test_memory_patterns_do_not_change_the_shipped_models_scores():
    from hadinfer.runtimes.onnx_runtime import session_options

    planned = session_options(ort, "cpu")
    planned.enable_mem_pattern = True
    sessions = [ort.InferenceSession(str(SHIPPED), options, providers=["CPUExecutionProvider"])
                for options in (session_options(ort, "cpu"), planned)]
    rng = np.random.default_rng(0)
    channels = sessions[0].get_inputs()[0].shape[1]
    for shape in ((40, 40), (34, 40), (40, 40)):  # a second shape, then the first again, as edge tiles come
        batch = rng.normal(size=(1, channels) + shape).astype(np.float32)
        batch[:, -5:] = np.abs(batch[:, -5:]) + 0.1  # the evidence channels are positive ratios
        unplanned, with_plan = (session.run(None, {"input": batch})[0] for session in sessions)
        assert np.array_equal(unplanned, with_plan)
