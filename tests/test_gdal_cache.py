"""The GDAL block cache a run asks for is the one GDAL gets: MiB in the API, bytes for rasterio."""

import pytest
from rasterio._env import get_gdal_config

import hadinfer
from hadinfer.errors import ParameterError


def cache_during_run(small_tif, monkeypatch, **kwargs) -> list:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    seen = []
    hadinfer.detect(small_tif, detector="grx", progress=lambda *a: seen.append(get_gdal_config("GDAL_CACHEMAX")),
                    **kwargs)
    return seen


def test_default_cache_is_one_mebibyte(small_tif, monkeypatch):
    assert set(cache_during_run(small_tif, monkeypatch)) == {2**20}


def test_cache_is_given_in_mebibytes(small_tif, monkeypatch):
    # rasterio passes an integer to GDALSetCacheMax64, in bytes: 256 once meant 256 bytes.
    assert set(cache_during_run(small_tif, monkeypatch, gdal_cache_mb=64)) == {64 * 2**20}


@pytest.mark.parametrize("bad", [-1, float("nan"), "lots"])
def test_bad_cache_size_is_refused_in_one_line(small_tif, bad):
    with pytest.raises(ParameterError, match="^gdal_cache_mb: expected a number of MiB"):
        hadinfer.detect(small_tif, detector="grx", gdal_cache_mb=bad)
