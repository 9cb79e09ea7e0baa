"""Scenes GDAL can open (GeoTIFF, ENVI, HDF, ...), read window by window through rasterio."""

from __future__ import annotations

import warnings

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from ..errors import NotARasterError, RasterReadError
from .bands import read_envi_bbl, select_bands
from .scene import Scene, SceneInfo


class RasterioScene(Scene):
    """A raster opened read-only with rasterio; only the selected bands are read.

    Parameters
    ----------
    path : str
        Anything ``rasterio.open`` accepts.
    bands : str, optional
        1-based selection such as ``"1-100,120-200"``.

    Raises
    ------
    NotARasterError
        GDAL cannot open it, or the selected bands hold complex numbers.
    BandSelectionError
    """

    def __init__(self, path: str, bands: str | None = None):
        try:
            with warnings.catch_warnings():  # .mat-like rasters (ENVI without map info) are fine
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._ds = rasterio.open(path, "r")
        except RasterioError as exc:
            raise NotARasterError(f"{path}: not a raster GDAL can read ({_first_line(exc)})") from exc
        ds = self._ds
        try:
            good = _bad_band_list(ds, path)
            selected = select_bands(ds.count, bands, good)
            complex_dtypes = sorted({ds.dtypes[b - 1] for b in selected if "complex" in ds.dtypes[b - 1]})
            if complex_dtypes:  # NumPy would drop the imaginary part with only a warning
                raise NotARasterError(f"{path}: complex pixels ({', '.join(complex_dtypes)}) are not supported; "
                                      "hadinfer needs real values (e.g. write the magnitude first)")
        except Exception:
            ds.close()
            raise
        interleave = ds.interleaving.value.lower() if ds.interleaving is not None else None
        self.info = SceneInfo(
            path=str(path), height=ds.height, width=ds.width, band_count=ds.count,
            bands=tuple(selected), dtype=ds.dtypes[0], interleave=interleave,
            block_shape=tuple(ds.block_shapes[0]), crs=ds.crs, transform=ds.transform,
            nodata=ds.nodata, driver=ds.driver,
            bad_bands=tuple(i + 1 for i, ok in enumerate(good or []) if not ok))

    def _read_raw(self, row_off, col_off, height, width):
        try:
            data = self._ds.read(list(self.info.bands), window=Window(col_off, row_off, width, height))
        except RasterioError as exc:
            raise RasterReadError(f"{self.info.path}: cannot read pixels ({_first_line(exc)})") from exc
        return np.moveaxis(data, 0, -1)

    def close(self):
        self._ds.close()


def _bad_band_list(ds, path) -> list[bool] | None:
    """ENVI ``bbl`` from the header file, else from GDAL's ENVI metadata domain."""
    good = read_envi_bbl(path) if ds.driver == "ENVI" else None
    if good is None:
        tag = ds.tags(ns="ENVI").get("bbl")
        if tag:
            good = [float(v) != 0 for v in tag.strip("{} ").split(",") if v.strip()]
    return good


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
