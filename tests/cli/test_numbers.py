"""Numbers (issue 20, cause 5): extreme scales, NaN in float options, JSON without NaN."""

import json
import os

import click
import numpy as np
import pytest
import rasterio

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.cli.options import write_json
from hadinfer.detectors import FusionRX, GlobalRX, LocalRX
from hadinfer.errors import ParameterError
from hadinfer.estimator import RXOutlierDetector

from ..conftest import write_geotiff

from .cli_helpers import error_line, run


def _strict_json(text):
    """Parse as RFC 8259 readers do: NaN and Infinity are errors."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


# ------------------------------------------------------------------ extreme scales

@pytest.mark.parametrize("factor", [1e30, 1e-30], ids=["1e30", "1e-30"])
@pytest.mark.parametrize("detector", ["grx", "fusion"])
def test_a_scene_of_extreme_scale_gives_a_valid_map(tmp_path, small_cube, factor, detector):
    # 1e30 once ended in an unexplained LinAlgError, 1e-30 in an all-NaN map with exit 0.
    scene = write_geotiff(tmp_path / "s.tif", (small_cube.astype(np.float64) * factor).astype(np.float32))
    result = run("detect", scene, "-o", tmp_path / "m.tif", "--detector", detector)
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "m.tif") as ds:
        scores = ds.read(1)
    assert np.isfinite(scores).all()
    assert np.unravel_index(np.argmax(scores), scores.shape) == (10, 20)  # the planted anomaly


@pytest.mark.parametrize("factor, fragment", [(1e200, "too large"), (1e-200, "vary by as little as")])
def test_float64_beyond_the_statistics_is_one_line_and_no_map(tmp_path, small_cube, factor, fragment):
    scene = write_geotiff(tmp_path / "s.tif", small_cube.astype(np.float64) * factor)
    out = tmp_path / "out"
    out.mkdir()
    result = run("detect", scene, "-o", out / "m.tif", "--detector", "grx", "--report", out / "r.json")
    assert result.exit_code == 1
    line = error_line(result)
    assert fragment in line and "rescale the scene" in line
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # no NumPy warning either
    assert os.listdir(out) == []


# ------------------------------------------------------------------ NaN in float options

@pytest.mark.parametrize("args", [
    ("detect", "--detector", "lrx", "--regularization", "nan"),
    ("detect", "--detector", "fusion", "--regularization", "inf"),
    ("detect", "--detector", "grx", "--shrinkage", "nan"),
    ("train", "--entropy-ratio", "nan"),
], ids=["regularization-nan", "regularization-inf", "shrinkage-nan", "entropy-ratio-nan"])
def test_nan_in_a_float_option_is_a_usage_error(small_tif, tmp_path, args):
    # --regularization nan once gave an all-NaN map with exit 0; --shrinkage nan failed after the work.
    command, *options = args
    out = tmp_path / "out"
    out.mkdir()
    target = out / ("m.pt" if command == "train" else "m.tif")
    result = run(command, small_tif, "-o", target, *options)
    assert result.exit_code == 2
    assert "expected a finite number" in error_line(result)
    assert os.listdir(out) == []


# Float options checked in the command body instead, each tested with NaN elsewhere
# (tests/cli/test_scene_files.py: test_detection_options_are_checked_before_any_map).
_CHECKED_IN_THE_COMMAND = {("detect", "pfa"), ("detect", "threshold")}


def _float_options():
    for name, command in sorted(cli.commands.items()):
        for param in command.params:
            if isinstance(param.type, click.types.FloatParamType) and (name, param.name) not in _CHECKED_IN_THE_COMMAND:
                yield pytest.param(command, param, id=f"{name}-{param.name}")


@pytest.mark.parametrize("command, param", list(_float_options()))
@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf"])
def test_every_float_option_of_every_command_refuses_nan_and_infinity(command, param, text):
    ctx = click.Context(command)
    with pytest.raises(click.BadParameter):
        param.type.convert(text, param, ctx)


@pytest.mark.parametrize("make", [
    lambda: LocalRX(regularization=float("nan")),
    lambda: FusionRX(regularization=float("nan")),
    lambda: GlobalRX(shrinkage=float("nan")),
    lambda: GlobalRX(rcond=float("nan")),
    lambda: RXOutlierDetector(shrinkage=float("nan")).fit(np.random.default_rng(0).normal(size=(50, 3))),
], ids=["lrx-regularization", "fusion-regularization", "grx-shrinkage", "grx-rcond", "estimator-shrinkage"])
def test_nan_parameters_are_refused_by_the_api_before_any_work(make):
    with pytest.raises(ParameterError, match="nan"):
        make()


def test_nan_parameter_through_detect_is_refused(small_cube):
    with pytest.raises(ParameterError, match="regularization"):
        hadinfer.detect(small_cube, detector="lrx", layout="bands-last", regularization=float("nan"))


# ------------------------------------------------------------------ JSON never holds NaN

def test_written_json_has_null_for_nan_and_infinity(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"auc": float("nan"), "threshold": float("inf"), "low": -np.inf,
                      "scores": np.array([1.5, np.nan], dtype=np.float32), "single": np.float32(0.5),
                      "nested": [{"x": np.float64("nan")}]}, overwrite=False)
    assert _strict_json(path.read_text()) == {"auc": None, "threshold": None, "low": None, "scores": [1.5, None],
                                               "single": 0.5, "nested": [{"x": None}]}


def test_info_json_of_a_nan_nodata_scene_is_strict_json(tmp_path, small_cube):
    scene = write_geotiff(tmp_path / "s.tif", small_cube, nodata=float("nan"))
    result = run("info", scene, "--json")
    assert result.exit_code == 0, result.output
    assert _strict_json(result.stdout)["nodata"] is None
