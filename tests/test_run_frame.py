"""The run frame shared by local and cluster runs: provenance, tags, report keys, output spec."""

from __future__ import annotations

import pytest

from hadinfer.detectors import GlobalRX
from hadinfer.errors import OutputExistsError, ParameterError
from hadinfer.models.metadata import file_sha256
from hadinfer.run_frame import OutputSpec, PendingDigest, RunFrame, resolved


def test_a_local_frame_tags_the_map_and_frames_the_report(small_tif):
    frame = RunFrame.begin(GlobalRX(), small_tif, OutputSpec()).with_bands("1-3")
    assert isinstance(frame.provenance["source_sha256"], PendingDigest)  # hashed while the run works
    assert frame.provenance["bands"] == "1-3"
    assert frame.tags()["HADINFER_BANDS"] == "1-3" and frame.tags()["HADINFER_DETECTOR"] == "grx"
    assert str(frame.tags()["HADINFER_SOURCE_SHA256"]) == file_sha256(small_tif)  # as the writer writes it
    report = frame.finish(frame.start_report({"detector": "grx"}, written="m.tif"))
    assert list(report) == ["detector", "output", "provenance", "input"]
    assert report["provenance"]["source_sha256"] == file_sha256(small_tif)  # resolved: the report is JSON
    assert report["provenance"]["finished_utc"] and report["input"]["bytes"] == small_tif.stat().st_size


def test_an_unreadable_source_has_no_digest(tmp_path):
    missing = PendingDigest(tmp_path / "gone.tif")
    assert missing.value() is None and str(missing) == "None"
    assert resolved({"a": missing, "b": 1}) == {"a": None, "b": 1}


def test_a_cluster_frame_leaves_the_source_out_of_the_provenance(small_tif):
    frame = RunFrame.begin(GlobalRX(), small_tif, OutputSpec(), with_source=False)
    assert "source" not in frame.provenance and "HADINFER_SOURCE" not in frame.tags()
    report = frame.finish(frame.start_report({}))
    assert list(report) == ["provenance", "input"] and report["input"]["path"] == str(small_tif)


def test_an_array_run_records_no_input_file():
    report = RunFrame.begin(GlobalRX(), [[[1.0]]], OutputSpec()).finish({})
    assert report["provenance"]["source"] == "<array>" and "input" not in report


def test_the_output_spec_is_checked_before_any_work(small_tif, tmp_path):
    with pytest.raises(ParameterError, match="^creation_options: "):
        OutputSpec.checked(tmp_path / "m.tif", creation_options={"tiled": "YES"})
    with pytest.raises(OutputExistsError):
        OutputSpec.checked(small_tif)
    spec = OutputSpec.checked(tmp_path / "m.tif", cog=True, creation_options={"level": 3})
    assert spec.creation_options == {"level": "3"} and spec.cog
