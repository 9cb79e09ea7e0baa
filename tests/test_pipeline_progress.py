"""The progress argument of a run: a callable, or None/False for none; anything else refused before work."""

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import ParameterError
from hadinfer.io import open_scene
from hadinfer.pipeline import _no_progress, accumulate_stats, progress_callback


def test_a_callable_is_kept_and_none_or_false_mean_no_progress():
    def report(stage, done, total):
        pass

    assert progress_callback(report) is report
    assert progress_callback(None) is _no_progress
    assert progress_callback(False) is _no_progress


@pytest.mark.parametrize("wrong", [True, 1, "bar"])
def test_anything_else_is_one_parameter_error(wrong):
    with pytest.raises(ParameterError, match="progress: expected a callable"):
        progress_callback(wrong)


def test_detect_reports_each_pass_to_a_callable(small_tif):
    seen = []
    hadinfer.detect(small_tif, detector="grx", progress=lambda *call: seen.append(call))
    stages = {stage for stage, _, _ in seen}
    assert stages == {"statistics", "scoring"}
    for stage in stages:
        done = [d for s, d, _ in seen if s == stage]
        total = {t for s, _, t in seen if s == stage}
        assert len(total) == 1 and max(done) == total.pop()


@pytest.mark.parametrize("quiet", [None, False])
def test_detect_without_progress_gives_the_same_map(small_tif, quiet):
    plain = hadinfer.detect(small_tif, detector="grx").scores
    silent = hadinfer.detect(small_tif, detector="grx", progress=quiet).scores
    np.testing.assert_array_equal(plain, silent)


def test_detect_refuses_a_wrong_progress_before_writing_anything(small_tif, tmp_path):
    out = tmp_path / "map.tif"
    with pytest.raises(ParameterError, match="progress"):
        hadinfer.detect(small_tif, out, detector="grx", progress=True)
    assert not out.exists()


def test_accumulate_stats_takes_none(small_tif):
    with open_scene(small_tif) as scene:
        assert accumulate_stats(scene, progress=None).count_ > 0
