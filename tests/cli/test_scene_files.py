"""Issue 20, causes 1 and 2: every file of a scene is an input, and everything is checked before the work.

Each refusal exits with one line and leaves every file byte-identical, with no stray
(temporary or partial) file.
"""

import json
import os

import pytest
from click.testing import CliRunner

from hadinfer.cli.main import cli

from ..conftest import write_geotiff
from ..io.test_inputs import write_envi, write_vrt
from .test_data_loss import assert_one_line_error, checksums


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def folder(tmp_path, small_cube, monkeypatch):
    """e.img + e.hdr (ENVI), src.tif and v.vrt over it, s.tif with a world file and an .aux.xml."""
    write_envi(tmp_path / "e.img", small_cube)
    write_geotiff(tmp_path / "src.tif", small_cube)
    write_vrt(tmp_path / "v.vrt", "src.tif")
    write_geotiff(tmp_path / "s.tif", small_cube)
    (tmp_path / "s.tfw").write_text("1\n0\n0\n-1\n500000\n4000000\n")
    (tmp_path / "s.tif.aux.xml").write_text('<PAMDataset><Metadata><MDI key="a">b</MDI></Metadata></PAMDataset>')
    monkeypatch.chdir(tmp_path)  # names as a user types them
    return tmp_path


SCENE_FILES = {  # command, the file of the scene it once replaced
    "report-onto-the-envi-header": (["detect", "e.img", "-o", "m.tif", "--report", "e.hdr"], "e.hdr"),
    "report-onto-the-header-named-as-scene": (["detect", "e.hdr", "-o", "m.tif", "--report", "e.hdr"], "e.hdr"),
    "map-onto-the-vrt-source": (["detect", "v.vrt", "-o", "src.tif"], "src.tif"),
    "report-onto-the-world-file": (["detect", "s.tif", "-o", "m.tif", "--report", "s.tfw"], "s.tfw"),
    "report-onto-the-aux-xml": (["detect", "s.tif", "-o", "m.tif", "--report", "s.tif.aux.xml"], "s.tif.aux.xml"),
    "report-onto-an-aux-xml-not-there-yet": (["detect", "src.tif", "-o", "m.tif", "--report", "src.tif.aux.xml"],
                                             "src.tif.aux.xml"),
    "map-onto-a-mask-not-there-yet": (["detect", "src.tif", "-o", "src.tif.msk"], "src.tif.msk"),
    "quicklook-onto-the-envi-header": (["quicklook", "e.img", "-o", "e.hdr"], "e.hdr"),
}


@pytest.mark.parametrize("args, victim", SCENE_FILES.values(), ids=SCENE_FILES.keys())
def test_no_output_replaces_a_file_of_the_scene(folder, args, victim):
    before = checksums(folder)
    result = run(*args, "--overwrite", "--detector", "grx") if args[0] == "detect" else run(*args, "--overwrite")
    assert_one_line_error(result, "its own input")
    assert victim in result.stderr
    assert checksums(folder) == before


def test_batch_output_onto_a_source_of_another_scene_is_refused_before_any_work(folder, small_cube):
    """out/src.tif, the map of scene src.img, is the source of scene out/v.vrt: nothing runs."""
    out = folder / "out"
    out.mkdir()
    write_geotiff(out / "src.tif", small_cube)
    write_vrt(out / "v.vrt", "src.tif")
    write_envi(folder / "src.img", small_cube)
    before, before_out = checksums(folder), checksums(out)
    result = run("detect", "out/v.vrt", "src.img", "--output-dir", out, "--overwrite", "--detector", "grx")
    assert_one_line_error(result, "its own input")
    assert checksums(folder) == before and checksums(out) == before_out


@pytest.mark.parametrize("name", ["summary.tif", "summary.img"])
def test_batch_scene_named_summary_is_refused(folder, small_cube, name):
    write_geotiff(folder / name, small_cube) if name.endswith(".tif") else write_envi(folder / name, small_cube)
    out = folder / "out"
    out.mkdir()
    result = run("detect", name, "s.tif", "--output-dir", out, "--detector", "grx")
    assert result.exit_code == 2 and "batch summary" in result.output, result.output
    assert os.listdir(out) == []


# --------------------------------------------------------------------------- cause 2: checks first


@pytest.mark.parametrize("args, fragment", [
    (["--pfa", "nan", "--detections", "d.geojson"], "between 0 and 1"),
    (["--pfa", "1.5", "--detections", "d.geojson"], "between 0 and 1"),
    (["--pfa", "0", "--detections", "d.geojson"], "between 0 and 1"),
    (["--threshold", "inf", "--detections", "d.geojson"], "finite"),
    (["--threshold", "nan", "--detections", "d.geojson"], "finite"),
    (["--pfa", "0.01"], "needs --detections"),
    (["--threshold", "3"], "needs --detections"),
    (["--pfa", "0.01", "--detections", "d.shp"], "expected a .geojson or .gpkg file"),
], ids=["pfa-nan", "pfa-above-1", "pfa-zero", "threshold-inf", "threshold-nan", "pfa-without-detections",
        "threshold-without-detections", "detections-shp"])
def test_detection_options_are_checked_before_any_map(folder, args, fragment):
    before = checksums(folder)
    result = run("detect", "src.tif", "-o", "m.tif", "--detector", "grx", *args)
    assert result.exit_code == 2 and fragment in result.output, result.output
    assert "Traceback" not in result.output and checksums(folder) == before


def test_geopackage_without_the_vector_extra_is_refused_before_any_map(folder, monkeypatch):
    from hadinfer import vectors

    monkeypatch.setattr(vectors, "_has_vector_extra", lambda: False)
    before = checksums(folder)
    result = run("detect", "src.tif", "-o", "m.tif", "--detector", "grx", "--pfa", "0.01", "--detections", "d.gpkg")
    assert_one_line_error(result, "pip install 'hadinfer[vector]'")
    assert checksums(folder) == before


def test_failing_detections_leave_no_map_and_the_batch_rerun_redoes_the_scene(folder, monkeypatch):
    import hadinfer.cli.detect as detect_command

    out = folder / "out"
    out.mkdir()
    write = detect_command.write_map_detections

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device", "d.geojson")

    monkeypatch.setattr(detect_command, "write_map_detections", failing)
    first = run("detect", "src.tif", "s.tif", "--output-dir", out, "--detector", "grx", "--pfa", "0.01", "-q")
    assert first.exit_code == 1 and "No space left on device" in first.output and "unexpected" not in first.output
    assert sorted(os.listdir(out)) == ["summary.json"]  # no map of a failed step: nothing to skip next time
    monkeypatch.setattr(detect_command, "write_map_detections", write)
    second = run("detect", "src.tif", "s.tif", "--output-dir", out, "--detector", "grx", "--pfa", "0.01", "-q")
    assert second.exit_code == 0, second.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["ok"], summary["skipped"], summary["failed"]) == (2, 0, 0)
    assert sorted(os.listdir(out)) == ["s.geojson", "s.json", "s.tif", "src.geojson", "src.json", "src.tif",
                                       "summary.json"]


def test_failing_report_leaves_no_map_for_one_scene(folder, monkeypatch):
    import hadinfer.cli.detect as detect_command

    def failing(*args, **kwargs):
        raise OSError(13, "Permission denied", "r.json")

    monkeypatch.setattr(detect_command, "write_json", failing)
    result = run("detect", "src.tif", "-o", "m.tif", "--report", "r.json", "--detector", "grx")
    assert_one_line_error(result, "Permission denied")
    assert not (folder / "m.tif").exists() and not [n for n in os.listdir(folder) if n.startswith(".")]


def test_report_names_the_map_not_its_staging_name(folder):
    result = run("detect", "src.tif", "-o", "m.tif", "--report", "r.json", "--detector", "grx", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "r.json").read_text())["output"] == "m.tif"
    assert not [n for n in os.listdir(folder) if n.startswith(".")]


def test_engine_without_tensorrt_is_refused_before_the_onnx_model_is_written(tmp_path):
    pytest.importorskip("torch")
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    (tmp_path / "c.pt").write_bytes(b"whatever: never read")
    result = run("export", tmp_path / "c.pt", "-o", tmp_path / "m.onnx", "--engine", tmp_path / "m.engine")
    assert_one_line_error(result, "pip install 'hadinfer[tensorrt]'")
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]
