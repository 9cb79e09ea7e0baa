"""Every bad input through the CLI: one line, non-zero exit, no file left behind."""

import os

import numpy as np
import pytest
from click.testing import CliRunner

from hadinfer.cli.main import cli

from ..conftest import write_geotiff


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, code, fragment):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def files(folder):
    return sorted(os.listdir(folder))


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_missing_file(out_dir):
    result = run("detect", out_dir / "nope.tif", "-o", out_dir / "map.tif")
    assert_one_line_error(result, 1, "no such file")
    assert files(out_dir) == []


def test_not_a_raster(tmp_path, out_dir):
    bogus = tmp_path / "notes.tif"
    bogus.write_text("this is not a raster\n")
    assert_one_line_error(run("detect", bogus, "-o", out_dir / "map.tif"), 1, "not a raster")
    assert files(out_dir) == []


def test_a_container_of_subdatasets_names_them(tmp_path, out_dir):
    """An HDF5 (or netCDF) file opens with no band: it said "no band left after applying --bands"."""
    h5py = pytest.importorskip("h5py", reason="writing HDF5 needs h5py (extra 'mat')")
    path = tmp_path / "flight.h5"
    with h5py.File(path, "w") as fh:
        fh["reflectance"] = np.ones((6, 5, 4), np.float32)
        fh["mask"] = np.zeros((6, 5), np.uint8)
    for command in (["detect", path, "-o", out_dir / "map.tif"], ["info", path]):
        result = run(*command)
        assert_one_line_error(result, 1, "a container of 2 subdatasets")
        assert "HDF5:" in result.stderr and "rio convert" in result.stderr
    assert files(out_dir) == []


def test_truncated_tiff(tmp_path, out_dir, small_cube):
    path = write_geotiff(tmp_path / "cut.tif", small_cube.astype(np.int16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = run("detect", path, "-o", out_dir / "map.tif")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error:")
    assert files(out_dir) == []


def test_mat_without_key(had_dir, out_dir):
    result = run("detect", had_dir / "pavia-center.mat", "--key", "cube", "-o", out_dir / "map.tif")
    assert_one_line_error(result, 1, "no variable 'cube'")
    assert files(out_dir) == []


def test_bands_out_of_range(small_tif, out_dir):
    assert_one_line_error(run("detect", small_tif, "--bands", "1-99", "-o", out_dir / "m.tif"), 1, "outside")
    assert_one_line_error(run("detect", small_tif, "--bands", "x", "-o", out_dir / "m.tif"), 1, "cannot parse")
    assert files(out_dir) == []


def test_all_pixels_nodata(tmp_path, out_dir):
    path = write_geotiff(tmp_path / "empty.tif", np.full((8, 8, 4), -9999, np.int16), nodata=-9999)
    assert_one_line_error(run("detect", path, "-o", out_dir / "map.tif"), 1, "nodata")
    assert files(out_dir) == []


def test_window_larger_than_image(small_tif, out_dir):
    result = run("detect", small_tif, "--detector", "lrx", "--window", "3,51", "-o", out_dir / "map.tif")
    assert_one_line_error(result, 1, "larger than")
    assert files(out_dir) == []


def test_bad_window_syntax_is_usage_error(small_tif, out_dir):
    result = run("detect", small_tif, "--detector", "lrx", "--window", "4,20", "-o", out_dir / "map.tif")
    assert result.exit_code == 2 and "odd" in result.stderr
    assert files(out_dir) == []


def test_output_exists_without_overwrite(small_tif, out_dir):
    target = out_dir / "map.tif"
    target.write_bytes(b"precious")
    assert_one_line_error(run("detect", small_tif, "-o", target), 1, "--overwrite")
    assert target.read_bytes() == b"precious" and files(out_dir) == ["map.tif"]
    assert run("detect", small_tif, "-o", target, "--overwrite", "-q").exit_code == 0
    assert target.read_bytes()[:2] in (b"II", b"MM") and files(out_dir) == ["map.tif"]


def test_output_over_its_own_input_is_refused(small_tif):
    before = small_tif.read_bytes()
    assert_one_line_error(run("detect", small_tif, "-o", small_tif, "--overwrite"), 1, "its own input")
    assert small_tif.read_bytes() == before


def test_output_folder_missing(small_tif, out_dir):
    assert_one_line_error(run("detect", small_tif, "-o", out_dir / "no" / "map.tif"), 1, "does not exist")
    assert files(out_dir) == []


def test_output_folder_unwritable(small_tif, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    target = locked / "map.tif" if os.geteuid() != 0 else "/proc/hadinfer-map.tif"  # root ignores modes
    try:
        result = run("detect", small_tif, "-o", target)
        assert result.exit_code == 1 and result.stderr.startswith("Error:") and "Traceback" not in result.output
        assert "writable" in result.stderr or "cannot create" in result.stderr
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


def test_cuda_without_gpu(small_tif, out_dir):
    try:
        import torch
        if torch.cuda.is_available():
            pytest.skip("a CUDA GPU is present")
    except ImportError:
        pass
    result = run("detect", small_tif, "--device", "cuda", "-o", out_dir / "map.tif")
    assert result.exit_code == 1 and result.stderr.startswith("Error:")
    assert "CUDA" in result.stderr or "torch" in result.stderr.lower()
    assert files(out_dir) == []


def test_report_exists_is_refused_before_work(small_tif, out_dir):
    report = out_dir / "run.json"
    report.write_text("{}")
    assert_one_line_error(run("detect", small_tif, "-o", out_dir / "map.tif", "--report", report), 1, "exists")
    assert files(out_dir) == ["run.json"]


def test_verbose_shows_traceback(out_dir):
    result = run("-v", "detect", out_dir / "nope.tif", "-o", out_dir / "map.tif")
    assert result.exit_code != 0 and result.exception is not None


def test_failure_midway_leaves_no_partial_map(small_tif, out_dir, monkeypatch):
    from hadinfer.detectors import DEFAULT_DETECTOR, make_detector

    default = type(make_detector(DEFAULT_DETECTOR))  # what `detect` runs without --detector
    calls = {"n": 0}
    original = default.score

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(default, "score", flaky)
    result = run("detect", small_tif, "-o", out_dir / "map.tif", "--tile-size", "8")
    assert result.exit_code == 130 and "Interrupted" in result.stderr
    assert files(out_dir) == []


def test_evaluate_missing_truth(small_tif, out_dir):
    assert run("detect", small_tif, "-o", out_dir / "map.tif", "-q").exit_code == 0
    assert_one_line_error(run("evaluate", out_dir / "map.tif", "--truth", out_dir / "gt.tif"), 1, "no such file")


@pytest.mark.parametrize("command", ["evaluate", "quicklook"])
def test_a_map_without_one_valid_score_is_named_by_its_file(tmp_path, out_dir, command):
    """Both named an internal argument (``score_map:``, ``valid:``) instead of the map file."""
    empty = write_geotiff(tmp_path / "empty.tif", np.full((6, 5, 1), np.nan, np.float32), nodata=np.nan)
    truth = write_geotiff(tmp_path / "truth.tif", np.eye(6, 5, dtype=np.uint8)[:, :, None])
    args = (["--truth", truth] if command == "evaluate" else ["-o", out_dir / "map.png"])
    assert_one_line_error(run(command, empty, *args), 1, "empty.tif: every pixel of the map is nodata or not finite")
    assert files(out_dir) == []


def run_without(module, argv):
    """The CLI in a fresh interpreter where ``import module`` fails as if it were not installed."""
    import subprocess
    import sys

    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from hadinfer.cli.main import cli; cli(sys.argv[1:], prog_name='hadinfer')")
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True)


@pytest.mark.parametrize("args,extra", [(["detect", "{scene}", "-o", "{out}/m.tif", "--detector", "adapt"], "train"),
                                        (["train", "{scene}", "-o", "{out}/m.pt"], "torch"),
                                        (["detect", "{scene}", "-o", "{out}/m.tif", "--device", "cuda"], "torch")])
def test_missing_torch_names_the_extra(small_tif, out_dir, args, extra):
    done = run_without("torch", [a.format(scene=small_tif, out=out_dir) for a in args])
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error:") and f"pip install 'hadinfer[{extra}]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and files(out_dir) == []


def test_missing_onnxruntime_names_the_extra(small_tif, out_dir):
    done = run_without("onnxruntime", ["detect", small_tif, "-o", out_dir / "m.tif", "--detector", "general"])
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error:") and "pip install 'hadinfer[onnx]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and files(out_dir) == []


@pytest.mark.parametrize("detector", ["fusion-area", "fusion-peaks"])
def test_missing_scikit_image_names_the_extra(small_tif, out_dir, detector):
    done = run_without("skimage", ["detect", small_tif, "-o", out_dir / "m.tif", "--detector", detector])
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error:") and "pip install 'hadinfer[area]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and files(out_dir) == []


def test_fusion_area_refuses_an_area_below_two_pixels(small_tif, out_dir):
    pytest.importorskip("skimage", reason="fusion-area needs scikit-image (extra 'area')")
    result = run("detect", small_tif, "--detector", "fusion-area", "--area", "1", "-o", out_dir / "map.tif")
    assert result.exit_code != 0 and "area" in error_line_of(result)
    assert files(out_dir) == []


def test_area_is_refused_for_a_detector_without_it(small_tif, out_dir):
    result = run("detect", small_tif, "--detector", "fusion", "--area", "16", "-o", out_dir / "map.tif")
    assert result.exit_code == 2 and "--area: applies to fusion-area, fusion-peaks, not to fusion" in result.stderr
    assert files(out_dir) == []


def error_line_of(result) -> str:
    """The one line a refused command prints (and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in result.output, result.stderr
    return lines[0]


def test_blanked_bands_are_one_line_naming_them(tmp_path, out_dir):
    """A float scene whose bands 2 and 4 are NaN everywhere: one line naming them and the --bands
    that leaves them out; no file."""
    cube = np.random.default_rng(5).normal(size=(16, 16, 6)).astype(np.float32)
    cube[:, :, [1, 3]] = np.nan
    path = write_geotiff(tmp_path / "blank.tif", cube)
    assert_one_line_error(run("detect", path, "-o", out_dir / "map.tif"), 1, "bands 2 and 4 hold none")
    assert "--bands 1,3,5-6" in run("detect", path, "-o", out_dir / "map.tif").stderr
    assert files(out_dir) == []
