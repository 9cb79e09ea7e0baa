"""Option habits: a folder is no output file, a map is a GeoTIFF and a picture a PNG by name, ``--co`` as rio has it."""

import os
from pathlib import Path

import click
import pytest
import rasterio

import hadinfer.cli.detect
from hadinfer.api import DetectionResult
from hadinfer.cli.options import CreationOptionType, creation_options

from .cli_helpers import error_line, run


# ------------------------------------------------------------------------- -o somedir/

@pytest.mark.parametrize("kind", ["trailing-slash", "existing-folder", "file-with-slash"])
def test_a_folder_is_not_an_output_file(small_tif, tmp_path, kind):
    out = tmp_path / "out"
    if kind == "existing-folder":
        out.mkdir()
        target = str(out)
    elif kind == "file-with-slash":
        (tmp_path / "old.tif").write_bytes(b"precious")
        target = str(tmp_path / "old.tif") + os.sep
    else:
        target = str(out) + os.sep
    before = sorted(os.listdir(tmp_path))
    result = run("detect", small_tif, "-o", target, "--overwrite")
    assert result.exit_code == 2
    assert "is a folder; give a file name, such as" in error_line(result) and "map.tif" in error_line(result)
    assert sorted(os.listdir(tmp_path)) == before
    if kind == "file-with-slash":
        assert (tmp_path / "old.tif").read_bytes() == b"precious"


@pytest.mark.parametrize("args", [
    ["detect", "{scene}", "-o", "{out}/m.tif", "--report", "{out}/reports/"],
    ["quicklook", "{scene}", "-o", "{out}/pictures/"],
    ["evaluate", "{scene}", "--truth", "{scene}", "--roc", "{out}/"],
    ["synth", "{out}/scenes/"],
], ids=["report", "quicklook", "roc", "synth"])
def test_every_output_option_refuses_a_folder(small_tif, tmp_path, args):
    result = run(*(a.format(scene=small_tif, out=tmp_path) for a in args))
    assert result.exit_code == 2 and "is a folder" in error_line(result)
    assert not (tmp_path / "m.tif").exists()


# ---------------------------------------------------------------------- map extension

@pytest.mark.parametrize(("name", "fragment"), [
    ("map.png", "'.png' is not a GeoTIFF extension"), ("map.img", "'.img' is not a GeoTIFF extension"),
    ("map.tif.json", "'.json'"), ("map", "no extension"),
])
def test_a_map_name_gdal_would_not_read_as_geotiff_is_refused(small_tif, tmp_path, name, fragment):
    result = run("detect", small_tif, "-o", tmp_path / name)
    assert result.exit_code == 2
    assert fragment in error_line(result) and ".tif, .tiff or .gtiff" in error_line(result)
    assert os.listdir(tmp_path) == ["small.tif"]


@pytest.mark.parametrize("name", ["map.TIF", "map.tiff", "map.GTiff"])
def test_geotiff_extensions_in_any_case(small_tif, tmp_path, name):
    result = run("detect", small_tif, "-o", tmp_path / name, "--detector", "grx", "-q")
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / name) as ds:
        assert ds.driver == "GTiff"


def test_synth_outputs_and_the_detections_mask_are_geotiff_by_name_too(small_tif, tmp_path):
    result = run("synth", tmp_path / "scene.png")
    assert result.exit_code == 2 and "'.png'" in error_line(result)
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--detections", tmp_path / "d.geojson",
                 "--pfa", "1e-3", "--detections-mask", tmp_path / "mask.jpg")
    assert result.exit_code == 2 and "--detections-mask" in error_line(result) and "'.jpg'" in error_line(result)
    assert os.listdir(tmp_path) == ["small.tif"]


@pytest.mark.parametrize("args", [
    ["quicklook", "{scene}", "-o", "{out}/map.tif"],
    ["quicklook", "{scene}", "-o", "{out}/map.jpg"],
    ["quicklook", "{scene}", "-o", "{out}/map"],
    ["evaluate", "{scene}", "--truth", "{scene}", "--roc", "{out}/roc.tif"],
], ids=["quicklook-tif", "quicklook-jpg", "quicklook-bare", "roc-tif"])
def test_a_picture_is_a_png_by_name(small_tif, tmp_path, args):
    """A quicklook named map.tif was a PNG under a GeoTIFF's name."""
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    result = run(*(a.format(scene=small_tif, out=pictures) for a in args))
    assert result.exit_code == 2
    assert "is always a PNG, so name it .png" in error_line(result)
    assert os.listdir(pictures) == []


def test_png_names_in_any_case(small_tif, tmp_path):
    result = run("quicklook", small_tif, "-o", tmp_path / "map.PNG")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "map.PNG").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------------------------- --co

def parse(*pairs, cog=False):
    kind = CreationOptionType()
    return creation_options([kind.convert(p, None, None) for p in pairs], cog=cog)


def test_creation_options_parse_as_rio_spells_them():
    assert parse("COMPRESS=zstd", "zstd_level=9", "Num_Threads=all_cpus", "BIGTIFF=if_safer") == {
        "compress": "ZSTD", "zstd_level": "9", "num_threads": "ALL_CPUS", "bigtiff": "IF_SAFER"}
    assert parse("COMPRESS=LERC", "MAX_Z_ERROR=0.001", "PREDICTOR=3") == {
        "compress": "LERC", "max_z_error": "0.001", "predictor": "3"}
    assert parse("COMPRESS=DEFLATE", "LEVEL=9", "PREDICTOR=floating_point", cog=True) == {
        "compress": "DEFLATE", "level": "9", "predictor": "FLOATING_POINT"}
    assert parse("COMPRESS=ZSTD", "compress=zstd") == {"compress": "ZSTD"}  # the same twice is fine
    assert parse() == {}


@pytest.mark.parametrize(("pairs", "cog", "fragment"), [
    (["COMPRESS"], False, "expected NAME=VALUE"),
    (["=ZSTD"], False, "expected NAME=VALUE"),
    (["COMPRESS="], False, "expected NAME=VALUE"),
    (["FOO=1"], False, "unknown creation option FOO for a GTiff map; known: COMPRESS"),
    (["COMPRESS=JPEG"], False, "COMPRESS=JPEG: expected one of NONE, DEFLATE"),
    (["ZLEVEL=13"], False, "ZLEVEL=13: expected an integer from 1 to 12"),
    (["ZLEVEL=high"], False, "expected an integer"),
    (["MAX_Z_ERROR=-1"], False, "expected a number of at least 0"),
    (["MAX_Z_ERROR=nan"], False, "expected a number"),
    (["NUM_THREADS=0"], False, "or ALL_CPUS"),
    (["BLOCKXSIZE=512"], False, "BLOCKXSIZE is set by hadinfer"),
    (["NODATA=0"], False, "NODATA is set by hadinfer"),
    (["PROFILE=BASELINE"], False, "PROFILE is set by hadinfer"),
    (["ZLEVEL=9"], True, "ZLEVEL is not an option of a COG map; use LEVEL"),
    (["LEVEL=9"], False, "LEVEL is not an option of a plain GeoTIFF map; use ZLEVEL"),
    (["COMPRESS=ZSTD", "COMPRESS=LZW"], False, "COMPRESS given twice (ZSTD and LZW)"),
])
def test_bad_creation_options(pairs, cog, fragment):
    with pytest.raises(click.BadParameter, match=fragment.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse(*pairs, cog=cog)
    assert "\n" not in caught.value.format_message()


def test_co_errors_are_usage_errors_on_the_command_line(small_tif, tmp_path):
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--co", "ZLEVEL=99")
    assert result.exit_code == 2 and "Invalid value for --co: ZLEVEL=99" in error_line(result)
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--co", "COMPRESS")
    assert result.exit_code == 2 and "NAME=VALUE" in error_line(result)
    assert os.listdir(tmp_path) == ["small.tif"]


def fake_detect(calls):
    """A stand-in for hadinfer.api.detect that records what the CLI passed."""
    def detect(source, output=None, *, creation_options=None, **kwargs):
        calls.append({"creation_options": creation_options, **kwargs})
        if output is not None:
            Path(output).write_bytes(b"a map")  # what the CLI then puts in place
        report = {"scene": {"height": 1, "width": 1, "bands": 1}, "detector": "grx", "device": "cpu",
                  "seconds": {"total": 0.0}, "megapixels_per_second": 0.0}
        return DetectionResult(None, report, output)

    return detect


def test_co_reaches_the_api(small_tif, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(hadinfer.cli.detect, "run_detect", fake_detect(calls))
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--co", "COMPRESS=ZSTD", "--co", "ZSTD_LEVEL=12", "-q")
    assert result.exit_code == 0, result.output
    assert calls[0]["creation_options"] == {"compress": "ZSTD", "zstd_level": "12"}
    assert run("detect", small_tif, "-o", tmp_path / "m.tif", "-q", "--overwrite").exit_code == 0
    assert calls[1]["creation_options"] is None  # no --co: the API's defaults, untouched


def test_co_reaches_the_written_map(small_tif, tmp_path):
    import rasterio

    for cog in ([], ["--cog"]):
        out = tmp_path / f"m{len(cog)}.tif"
        result = run("detect", small_tif, "-o", out, "--detector", "grx", "--co", "COMPRESS=ZSTD", "-q", *cog)
        assert result.exit_code == 0, result.output
        with rasterio.open(out) as ds:
            assert ds.compression.name.lower() == "zstd"


def test_a_feature_model_is_an_npz_by_name(small_tif, tmp_path):
    """``hadinfer export`` tells a feature model from a checkpoint by its ``.npz`` suffix."""
    result = run("train-features", small_tif, "-o", tmp_path / "features.pt", "--steps", "1")
    assert result.exit_code == 2 and "so name it .npz" in error_line(result)
    assert os.listdir(tmp_path) == ["small.tif"]


def test_a_checkpoint_is_not_named_npz(small_tif, tmp_path):
    """``hadinfer export`` would take a checkpoint named .npz for a feature model."""
    result = run("train", small_tif, "-o", tmp_path / "model.npz", "--steps", "1")
    assert result.exit_code == 2 and "name it .pt" in error_line(result)
    assert os.listdir(tmp_path) == ["small.tif"]


def test_train_features_takes_a_band_selection(tmp_path):
    """As ``train`` and ``detect`` do: what the blanked-bands error advises works here too."""
    pytest.importorskip("torch", reason="training needs torch (extra 'train')")
    import numpy as np

    from ..conftest import write_geotiff

    cube = np.random.default_rng(6).normal(size=(24, 24, 8)).astype(np.float32) + 5
    cube[:, :, 2] = np.nan
    path = write_geotiff(tmp_path / "b.tif", cube)
    refused = run("train-features", path, "-o", tmp_path / "f.npz", "--steps", "1", "--versions", "1")
    assert refused.exit_code == 1 and "band 3 holds none" in error_line(refused) and "--bands 1-2,4-8" in error_line(
        refused)
    assert not (tmp_path / "f.npz").exists()
    result = run("train-features", path, "-o", tmp_path / "f.npz", "--steps", "1", "--versions", "1", "--bands",
                 "1-2,4-8", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.npz").exists()
