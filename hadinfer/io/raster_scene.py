"""Scenes GDAL can open (GeoTIFF, ENVI, HDF, ...), read window by window through rasterio."""

from __future__ import annotations

import warnings

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags
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
            alpha = [ci == ColorInterp.alpha for ci in ds.colorinterp]
            if any(alpha):  # an alpha band is a mask, not a spectral band
                good = [ok and not a for ok, a in zip(good or [True] * ds.count, alpha)]
            selected = select_bands(ds.count, bands, good)
            complex_dtypes = sorted({ds.dtypes[b - 1] for b in selected if "complex" in ds.dtypes[b - 1]})
            if complex_dtypes:  # NumPy would drop the imaginary part with only a warning
                raise NotARasterError(f"{path}: complex pixels ({', '.join(complex_dtypes)}) are not supported; "
                                      "hadinfer needs real values (e.g. write the magnitude first)")
        except Exception:
            ds.close()
            raise
        # GDAL's dataset mask, when the file has one of its own (an internal or .msk mask, or
        # an alpha band); a nodata-only mask is the all-bands-nodata rule Scene.read applies.
        # A band labelled alpha is read as a mask even where GDAL does not flag it as one
        # (e.g. a float GeoTIFF whose extra sample is not marked as alpha).
        self._dataset_mask = any(MaskFlags.per_dataset in flags or MaskFlags.alpha in flags
                                 for flags in ds.mask_flag_enums)
        self._alpha_bands = [i + 1 for i, is_alpha in enumerate(alpha) if is_alpha]
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

    def _read_mask(self, row_off, col_off, height, width):
        if not self._dataset_mask and not self._alpha_bands:
            return None
        window = Window(col_off, row_off, width, height)
        try:
            valid = self._ds.dataset_mask(window=window) > 0 if self._dataset_mask else np.ones((height, width), bool)
            for band in self._alpha_bands:
                valid &= self._ds.read(band, window=window) > 0
            return valid
        except RasterioError as exc:
            raise RasterReadError(f"{self.info.path}: cannot read its mask ({_first_line(exc)})") from exc

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
