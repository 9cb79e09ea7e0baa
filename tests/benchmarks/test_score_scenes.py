"""``benchmarks/score_scenes.py``: every detector on a list of labelled scenes, and its refusals."""

import json

import numpy as np
import pytest

from hadinfer.synthetic import write_synthetic_scene

from .test_benchmarks import benchmark_module


@pytest.fixture(scope="module")
def score_scenes():
    return benchmark_module("score_scenes")


@pytest.fixture
def scene_list(tmp_path):
    """Two synthetic GeoTIFF scenes with their masks, listed with relative paths."""
    (tmp_path / "scenes").mkdir()
    for seed in (1, 2):
        write_synthetic_scene(tmp_path / "scenes" / f"s{seed}.tif", tmp_path / "scenes" / f"s{seed}-truth.tif",
                              height=48, width=40, bands=16, seed=seed)
    listing = tmp_path / "scenes.tsv"
    listing.write_text("scene\ttruth\n" + "".join(f"scenes/s{s}.tif\tscenes/s{s}-truth.tif\n" for s in (1, 2)))
    return listing


def test_every_scene_and_detector_is_scored_and_compared_with_fusion(score_scenes, scene_list, tmp_path, capsys):
    out = tmp_path / "out"
    assert score_scenes.main([str(scene_list), "--detectors", "fusion,grx,lrx", "--out", str(out)]) == 0
    payload = json.loads((out / "score_scenes.json").read_text())
    assert set(payload["rows"]) == {"s1", "s2"} and payload["detectors"] == ["fusion", "grx", "lrx"]
    for row in payload["rows"].values():
        assert set(row) == {"fusion", "grx", "lrx"} and all(0.5 < v <= 1 for v in row.values())
    assert [p["ours"] for p in payload["paired_against_fusion"]] == ["grx", "lrx"]
    table = (out / "score_scenes.md").read_text()
    mean_fusion = np.mean([r["fusion"] for r in payload["rows"].values()])
    assert f"| **mean** | **{mean_fusion:.4f}**" in table
    assert "`grx` against `fusion`" in table and "worst scene against the better of GRX and LRX: `fusion`" in table
    assert table in capsys.readouterr().out


def test_a_missing_mask_is_one_line_naming_it(score_scenes, scene_list):
    (scene_list.parent / "scenes" / "s2-truth.tif").unlink()
    with pytest.raises(SystemExit, match=r"^error: .*scenes.tsv, line 3: no truth file .*s2-truth.tif$"):
        score_scenes.main([str(scene_list), "--detectors", "grx"])


@pytest.mark.parametrize("text, message", [("scene\tmask\na.tif\tb.tif\n", "expected columns scene and truth"),
                                           ("scene\ttruth\n", "lists no scenes")])
def test_a_malformed_list_is_refused(score_scenes, tmp_path, text, message):
    listing = tmp_path / "scenes.tsv"
    listing.write_text(text)
    with pytest.raises(SystemExit, match=message):
        score_scenes.main([str(listing), "--detectors", "grx"])


def test_an_unknown_detector_is_refused_before_any_scene_is_read(score_scenes, tmp_path):
    with pytest.raises(SystemExit, match="unknown detector.*nope; registered: fusion"):
        score_scenes.main([str(tmp_path / "absent.tsv"), "--detectors", "fusion,nope"])
