"""Issue 20, causes 6 and 7: faults and library errors end in one line, never a hang or a traceback.

A FIFO or device as input, a long but legal output name, a raw file shorter than its
header, a missing VRT source, a name that is not UTF-8, a closed stdout, and errors
of GDAL (``CPLE_*``, rasterio), the ONNX exporter or the OS that escape a command:
each is one line, through the CLI's one mapping (``hadinfer.cli.main._Group``,
``hadinfer.errors.wrap_library_error``).  SIGHUP is in ``test_data_loss.py`` with the
other signals.
"""

import os
import subprocess
import sys

import pytest
import rasterio
from click.testing import CliRunner

from hadinfer.cli.main import cli
from hadinfer.errors import FileAccessError, LibraryError, wrap_library_error

from ..conftest import write_geotiff
from ..io.test_inputs import write_envi, write_vrt
from .test_data_loss import assert_one_line_error, checksums

HADINFER = [sys.executable, "-c", "from hadinfer.cli.main import main; main()"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def folder(tmp_path, small_cube, monkeypatch):
    write_geotiff(tmp_path / "s.tif", small_cube)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- cause 6: faults


@pytest.mark.parametrize("command", [["detect", "f.tif", "-o", "m.tif"], ["info", "f.tif"],
                                     ["evaluate", "s.tif", "--truth", "f.tif"]], ids=["detect", "info", "truth"])
def test_fifo_input_is_one_line_not_a_hang(folder, command):
    os.mkfifo(folder / "f.tif")
    done = subprocess.run(HADINFER + command, capture_output=True, text=True, timeout=120, cwd=folder)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == ("Error: f.tif: is a named pipe (FIFO), not a regular file; hadinfer reads files "
                                   "(save the stream to a file first)")
    assert sorted(os.listdir(folder)) == ["f.tif", "s.tif"]


@pytest.mark.parametrize("extra", [[], ["--cog"]], ids=["gtiff", "cog"])
def test_long_legal_map_name_is_written(folder, extra):
    name = "a" * 251 + ".tif"  # 255 bytes: the longest legal name
    result = run("detect", "s.tif", "-o", name, "--report", "b" * 250 + ".json", "--detector", "grx", "-q", *extra)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(folder)) == sorted([name, "b" * 250 + ".json", "s.tif"])


def test_name_too_long_is_one_line_before_any_map(folder):
    before = checksums(folder)
    result = run("detect", "s.tif", "-o", "m.tif", "--report", "b" * 260 + ".json", "--detector", "grx")
    assert_one_line_error(result, "the file name is 265 bytes long; this file system allows 255")
    assert checksums(folder) == before


def test_truncated_envi_is_refused_not_zero_filled(folder, small_cube):
    scene = write_envi(folder / "t.img", small_cube)
    scene.write_bytes(scene.read_bytes()[:-100])  # GDAL itself refuses only files far too small
    before = checksums(folder)
    for command in (["detect", "t.img", "-o", "m.tif"], ["info", "t.hdr"]):
        assert_one_line_error(run(*command), "t.img: the data file t.img holds 69020 bytes, but its header describes "
                                             "69120 (40x36x12 float32); the file is truncated")
    assert checksums(folder) == before


# --------------------------------------------------------------------------- cause 7: messages


def test_missing_vrt_source_is_named(folder):
    write_vrt(folder / "m.vrt", "gone.tif")
    assert_one_line_error(run("detect", "m.vrt", "-o", "m.tif"), "m.vrt: its file gone.tif does not exist")
    assert not (folder / "m.tif").exists()


def test_non_utf8_names_are_one_line(folder):
    raw = os.fsdecode(b"s\xff.tif")
    os.link(folder / "s.tif", folder / raw)
    assert_one_line_error(run("detect", raw, "-o", "m.tif"), "the file name is not valid UTF-8")
    assert_one_line_error(run("detect", "s.tif", "-o", os.fsdecode(b"m\xff.tif")), "not valid UTF-8")
    assert sorted(os.listdir(folder)) == sorted(["s.tif", raw])


def test_closed_stdout_ends_quietly(folder):
    """``hadinfer info s.tif | head -0``: no 'unexpected BrokenPipeError', no traceback."""
    process = subprocess.Popen(HADINFER + ["info", "s.tif"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=folder)
    process.stdout.close()  # the reader is gone before the first line
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert process.returncode == 141 and stderr == "", stderr


class _OnnxscriptError(Exception):
    pass


_OnnxscriptError.__module__ = "onnxscript._internal.converter"


def _gdal_error():
    from rasterio._err import CPLE_AppDefinedError

    return CPLE_AppDefinedError(1, 1, "TIFFWriteDirectory: Error writing\nsecond line")


def _rasterio_error_with_cause():
    error = rasterio.errors.RasterioIOError("Read failed. See previous exception for details.")
    error.__cause__ = rasterio.errors.RasterioIOError("src.tif: No such file or directory")
    return error


LIBRARY_ERRORS = {
    "gdal-cple": (_gdal_error, LibraryError, "GDAL: TIFFWriteDirectory: Error writing second line"),
    "rasterio-with-cause": (_rasterio_error_with_cause, LibraryError, "GDAL: src.tif: No such file or directory"),
    "onnxscript": (lambda: _OnnxscriptError("unsupported op\n  at line 3"), LibraryError,
                   "ONNX export: unsupported op at line 3"),
    "oserror-naming-a-file": (lambda: PermissionError(13, "Permission denied", "r.json"), FileAccessError,
                              "r.json: Permission denied"),
    "surrogates": (lambda: "s\udcff".encode("utf-8"), None, "not valid UTF-8"),
}


def _raise(make):
    value = make()
    raise value if isinstance(value, BaseException) else AssertionError("no error")


@pytest.mark.parametrize("make, kind, message", LIBRARY_ERRORS.values(), ids=LIBRARY_ERRORS.keys())
def test_library_errors_become_one_line_hadinfer_errors(folder, monkeypatch, make, kind, message):
    import hadinfer.cli.info as info

    def failing(*args, **kwargs):
        return _raise(make)

    monkeypatch.setattr(info, "open_scene", failing)
    result = run("info", "s.tif")
    assert_one_line_error(result, message)
    assert "unexpected" not in result.stderr
    try:
        failing()
    except Exception as exc:  # noqa: BLE001 -- the mapping itself, outside the CLI
        wrapped = wrap_library_error(exc)
        assert wrapped is not None and message in str(wrapped) and "\n" not in str(wrapped)
        if kind is not None:
            assert isinstance(wrapped, kind)


def test_a_bug_is_still_called_unexpected(folder, monkeypatch):
    import hadinfer.cli.info as info

    monkeypatch.setattr(info, "open_scene", lambda *a, **k: {}["missing"])
    result = run("info", "s.tif")
    assert result.exit_code == 1 and "unexpected KeyError" in result.stderr
    assert wrap_library_error(KeyError("x")) is None


def test_batch_rows_wrap_library_errors_too():
    from hadinfer.cli.batch import failed_row

    assert failed_row(_gdal_error()) == {"status": "failed",
                                         "error": "GDAL: TIFFWriteDirectory: Error writing second line"}
