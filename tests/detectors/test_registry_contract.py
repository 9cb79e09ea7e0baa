"""Issue 10: one contract over every registered detector, reached through the API and the CLI by the same code.

Each registered name (built-ins and plugins such as ``adapt``) and a model file are
resolved by :mod:`hadinfer.detectors.registry`; a detector whose extra is not installed
is skipped with the reason.
"""

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.detectors import registered
from hadinfer.detectors.registry import OPTIONS, resolve
from hadinfer.errors import ParameterError
from hadinfer.weights import shipped_model

#: Small, fast settings per registered name (API keyword -> CLI flags).
FAST = {"adapt": ({"steps": 1}, []), "lrx": ({"inner": 3, "outer": 9}, ["--window", "3,9"])}


def value_of(name):
    """The --detector value for a registry entry (the model entry is reached through a file)."""
    return str(shipped_model("general")) if name == "model" else name


def every_registered():
    return [pytest.param(name, id=name) for name in registered()]


def skip_unless_installed(name):
    missing = registered()[name].missing_modules()
    if missing:
        pytest.skip(f"{name} needs {', '.join(missing)} (extra '{registered()[name].extra}')")


@pytest.mark.parametrize("name", every_registered())
def test_detector_contract(name, small_cube):
    skip_unless_installed(name)
    cube = small_cube.astype(np.float64)
    cube[0, 0] = np.nan  # one invalid pixel
    before = cube.copy()
    params = FAST.get(name, ({}, []))[0]
    result = hadinfer.detect(cube, detector=value_of(name), device="cpu", tile_size=16, **params)
    scores = result.scores
    assert scores.shape == cube.shape[:2] and scores.dtype == np.float32
    assert np.isnan(scores[0, 0]) and np.isfinite(scores[1:]).all()
    assert (scores[np.isfinite(scores)] > scores[10, 20]).sum() <= 2  # the planted anomaly is near the top
    np.testing.assert_array_equal(np.isnan(cube), np.isnan(before))
    np.testing.assert_array_equal(np.nan_to_num(cube), np.nan_to_num(before))  # the input is not modified
    assert result.report["detector"] == name
    if name != "adapt":  # a second fit of the same detector gives the same map whatever the tiles
        again = hadinfer.detect(cube, detector=value_of(name), device="cpu", tile_size=24, **params).scores
        np.testing.assert_allclose(again, scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", every_registered())
def test_cli_and_api_resolve_the_same_detector(name, small_tif, tmp_path):
    if name == "adapt":  # the CLI has no --steps, and two full trainings take minutes
        pytest.skip("adapt trains for minutes at its CLI defaults; its CLI path is tested in tests/training/test_training.py")
    skip_unless_installed(name)
    params, flags = FAST.get(name, ({}, []))
    out = tmp_path / "map.tif"
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(out), "--detector", value_of(name), *flags,
                                      "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as ds:
        by_cli = ds.read(1, masked=True).filled(np.nan)
    by_api = hadinfer.detect(small_tif, detector=value_of(name), device="cpu", **params).scores
    np.testing.assert_allclose(by_cli, by_api, rtol=1e-6, atol=1e-7)


def test_options_the_detector_does_not_take_are_errors_in_both(small_tif, tmp_path):
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "m.tif"), "--detector", "grx",
                                      "--window", "3,9"])
    assert result.exit_code == 2 and "--window" in result.output and "applies to lrx, not to grx" in result.output
    with pytest.raises(ParameterError, match="grx does not take inner"):
        hadinfer.detect(small_tif, detector="grx", inner=3)


def test_every_cli_option_belongs_to_a_registered_detector():
    offered = {option for entry in registered().values() for option in entry.options}
    assert offered == set(OPTIONS)
    for entry in registered().values():
        assert set(entry.options) <= set(OPTIONS)


def test_unknown_names_list_every_registered_detector():
    with pytest.raises(ParameterError) as caught:
        hadinfer.make_detector("nope")
    for name in registered():
        assert name == "model" or name in str(caught.value)


def test_general_is_buildable_by_name_and_adapt_is_a_plugin():
    pytest.importorskip("onnxruntime", reason="general runs on onnxruntime (extra 'onnx')")
    assert hadinfer.make_detector("general").name == "general"
    assert registered()["adapt"].factory.__module__ == "hadinfer.training.detector_entry"
    assert resolve("adapt")[0].needs_scene


def test_the_runtime_does_not_import_training():
    import subprocess
    import sys

    code = ("import sys, hadinfer, hadinfer.api, hadinfer.cli.main; "
            "from hadinfer.detectors import registered; registered(); "
            "bad = [m for m in sys.modules if m.startswith('hadinfer.training.') and m != "
            "'hadinfer.training.detector_entry'] + [m for m in ('torch',) if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
