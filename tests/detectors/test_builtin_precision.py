"""The built-in detectors' statistics in float32 (``BUILTIN_PRECISION``): their maps are float64's to float32 rounding."""

import numpy as np
import pytest

import hadinfer
from hadinfer.detectors.base import Detector
from hadinfer.detectors.registry import build
from hadinfer.kernels.statistics import BUILTIN_PRECISION
from hadinfer.synthetic import write_synthetic_scene

BUILTIN = ["lrx", "fusion", "learned", "general"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    path = tmp_path_factory.mktemp("precision") / "scene.tif"
    write_synthetic_scene(path, height=72, width=64, bands=40, dtype="int16", seed=3)
    return path


def test_builtin_detectors_take_float32_statistics_and_plugins_keep_float64():
    assert BUILTIN_PRECISION == "float32" and Detector.stats_precision == "float64"
    for name in BUILTIN:
        if name == "general":
            pytest.importorskip("onnxruntime")
        assert build(name).stats_precision == BUILTIN_PRECISION, name


@pytest.mark.parametrize("name", BUILTIN)
def test_float32_statistics_move_the_map_by_float32_rounding_only(scene, name):
    if name == "general":
        pytest.importorskip("onnxruntime")
    maps = {}
    for precision in ("float64", "float32"):
        detector = build(name)
        detector.stats_precision = precision
        maps[precision] = hadinfer.detect(scene, detector=detector, device="cpu").scores
    single, double = maps["float32"], maps["float64"]
    assert np.array_equal(np.isnan(single), np.isnan(double))
    usable = np.isfinite(double)
    assert not np.array_equal(single, double)  # the two arithmetics did differ...
    np.testing.assert_allclose(single[usable], double[usable], rtol=0,
                               atol=1e-4 * np.abs(double[usable]).max())  # ...by rounding only
