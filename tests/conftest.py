"""Shared fixtures: the real dev scenes (skipped when absent) and tiny generated rasters."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

HAD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "had"
MANIFEST = HAD_DIR / "MANIFEST.tsv"


def had_scenes() -> list[dict]:
    """Rows of MANIFEST.tsv, or [] when the dev scenes are not beside the project."""
    if not MANIFEST.is_file():
        return []
    with open(MANIFEST, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


needs_had = pytest.mark.skipif(not MANIFEST.is_file(),
                               reason=f"dev scenes not found at {HAD_DIR} (../shared/data/had beside the project)")


@pytest.fixture(scope="session")
def had_dir() -> Path:
    if not MANIFEST.is_file():
        pytest.skip(f"dev scenes not found at {HAD_DIR}")
    return HAD_DIR


def write_geotiff(path, cube, *, nodata=None, crs="EPSG:32633", transform=None, interleave="band",
                  tiled=False, block=None) -> Path:
    """Write an (H, W, B) cube as a GeoTIFF for tests."""
    height, width, bands = cube.shape
    profile = dict(driver="GTiff", width=width, height=height, count=bands, dtype=cube.dtype,
                   crs=crs, transform=transform or from_origin(500000, 4600000, 2.0, 2.0),
                   nodata=nodata, interleave=interleave)
    if tiled:
        profile.update(tiled=True, blockxsize=block or 16, blockysize=block or 16)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.moveaxis(cube, -1, 0))
    return Path(path)


@pytest.fixture
def small_cube() -> np.ndarray:
    """A 40x36x12 float cube with a planted anomaly at (10, 20)."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=(40, 36, 3)) @ rng.normal(size=(3, 12)) * 50 + 1000
    cube = base + rng.normal(scale=5, size=base.shape)
    cube[10, 20] += np.linspace(-80, 80, 12)
    return cube.astype(np.float32)


@pytest.fixture
def small_tif(tmp_path, small_cube) -> Path:
    return write_geotiff(tmp_path / "small.tif", small_cube.astype(np.int16), nodata=-9999)
