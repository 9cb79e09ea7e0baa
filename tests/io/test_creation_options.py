"""GDAL creation options: one rule for ``--co`` and ``hadinfer.detect(creation_options=...)``."""

from __future__ import annotations

import os

import pytest
import rasterio

import hadinfer
import hadinfer.api
from hadinfer.errors import ParameterError
from hadinfer.io.creation_options import check_creation_options


def test_a_dict_is_checked_and_spelled_as_gdal_reads_it():
    assert check_creation_options({"COMPRESS": "zstd", "ZSTD_LEVEL": 9}, cog=False) == {
        "compress": "ZSTD", "zstd_level": "9"}
    assert check_creation_options({"compress": "lerc", "max_z_error": 0.001}, cog=False) == {
        "compress": "LERC", "max_z_error": "0.001"}
    assert check_creation_options({"sparse_ok": True, "level": 3}, cog=True) == {"sparse_ok": "YES", "level": "3"}
    assert check_creation_options({}, cog=False) == {}


@pytest.mark.parametrize(("options", "cog", "fragment"), [
    ({"zlevel": 99}, False, "ZLEVEL=99: expected an integer from 1 to 12"),
    ({"ZLEVEL": 9}, True, "ZLEVEL is not an option of a COG map; use LEVEL"),
    ({"foo": "1"}, False, "unknown creation option FOO for a GTiff map"),
    ({"blockxsize": 512}, False, "BLOCKXSIZE is set by hadinfer"),
    ({"COMPRESS": "ZSTD", "compress": "LZW"}, False, "COMPRESS given twice (ZSTD and LZW)"),
    ({"compress": None}, False, "COMPRESS: expected a string or a number, got NoneType"),
    ({"bad name": "1"}, False, "expected an option name such as COMPRESS, got 'bad name'"),
    ({1: "1"}, False, "expected an option name such as COMPRESS, got 1"),
    ("COMPRESS=ZSTD", False, "expected a dict of NAME: VALUE, got str"),
    (["COMPRESS"], False, "expected NAME: VALUE pairs, got 'COMPRESS'"),
])
def test_bad_options_are_one_line_parameter_errors(options, cog, fragment):
    with pytest.raises(ParameterError) as caught:
        check_creation_options(options, cog=cog)
    text = str(caught.value)
    assert text.startswith("creation_options: ") and fragment in text and "\n" not in text


def test_the_api_refuses_a_bad_option_before_any_work(small_tif, tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        pytest.fail("the scene was scored although a creation option is bad")

    monkeypatch.setattr(hadinfer.api, "_detect", no_work)
    monkeypatch.setattr(hadinfer.api, "_resolve_detector", no_work)
    for options, cog in (({"zlevel": 99}, False), ({"zlevel": 9}, True), ({"nodata": 0}, False)):
        with pytest.raises(ParameterError, match="^creation_options: ") as caught:
            hadinfer.detect(small_tif, tmp_path / "m.tif", detector="grx", cog=cog, creation_options=options)
        assert "\n" not in str(caught.value)
    with pytest.raises(ParameterError, match="^creation_options: ZLEVEL=0"):  # a map in memory: checked all the same
        hadinfer.detect(small_tif, detector="grx", creation_options={"zlevel": 0})
    assert os.listdir(tmp_path) == ["small.tif"]


def test_the_api_writes_checked_options_into_the_map(small_tif, tmp_path):
    out = tmp_path / "m.tif"
    hadinfer.detect(small_tif, out, detector="grx", device="cpu", creation_options={"COMPRESS": "zstd"})
    with rasterio.open(out) as ds:
        assert ds.compression.name.upper() == "ZSTD"
