"""What runs when no detector is named, and ``adapt`` starting from the shipped model."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.detectors import DEFAULT_DETECTOR

#: The name a run report gives each possible default (the shipped model runs on ONNX Runtime).
REPORTED = {"fusion": "fusion", "grx": "grx", "general": "onnx"}


def test_detect_with_no_detector_named_runs_the_default(small_tif, tmp_path):
    if DEFAULT_DETECTOR == "general":
        pytest.importorskip("onnxruntime", reason="the default shipped model runs on onnxruntime (extra 'onnx')")
    report = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "map.tif"), "-q",
                                      "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["detector"] == REPORTED[DEFAULT_DETECTOR]
    assert hadinfer.detect(small_tif, device="cpu").report["detector"] == REPORTED[DEFAULT_DETECTOR]


def test_grx_stays_one_flag_away(small_tif, tmp_path):
    report = tmp_path / "run.json"
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "map.tif"), "-q",
                                      "--detector", "grx", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["detector"] == "grx"


def test_adapt_starts_from_the_shipped_weights(small_cube):
    pytest.importorskip("torch", reason="adapt needs torch (extra 'train')")
    # With a zero learning rate the fine-tuned network is the shipped one, weight for weight.
    adapted = hadinfer.detect(small_cube, detector="adapt", steps=1, lr=0.0, device="cpu")
    shipped = hadinfer.detect(small_cube, detector="general", runtime="torch", device="cpu")
    np.testing.assert_allclose(adapted.scores, shipped.scores, rtol=1e-5, atol=1e-6)
    assert "fine_tuned_from" not in adapted.report["params"]  # provenance lives in the train report
    assert adapted.report["train"]["started_from"]
    moved = hadinfer.detect(small_cube, detector="adapt", steps=3, device="cpu")
    assert not np.allclose(moved.scores, shipped.scores, rtol=1e-3)


def test_the_default_is_what_the_model_card_and_readme_say():
    import re
    from pathlib import Path

    from hadinfer.weights import shipped_model

    card = (shipped_model("general").parent / "MODEL_CARD.md").read_text()
    stated = re.search(r"\*\*The default detector is `(\w+)`\*\*", card)
    assert stated and stated.group(1) == DEFAULT_DETECTOR
    readme = Path(__file__).resolve().parents[2] / "README.md"
    if readme.is_file():  # a source checkout
        assert f"`--detector {DEFAULT_DETECTOR}` (default)" in readme.read_text()
