"""Scenes GDAL can open (GeoTIFF, ENVI, HDF, ...), read window by window through rasterio."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence

import numpy as np
import rasterio
from rasterio._env import get_gdal_config
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from ..errors import BandSelectionError, InputNotFoundError, NotARasterError, RasterReadError, library_message
from .bands import (_envi_header, envi_header_field, envi_list, read_envi_bbl, read_envi_wavelengths, select_bands,
                    wavelengths_to_nm)
from .halo_reads import band_first_buffer, shared_halo_reads
from .inputs import check_input_file, is_local_path
from .scene import Scene, SceneInfo

log = logging.getLogger(__name__)


class RasterioScene(Scene):
    """A raster opened read-only with rasterio; only the selected bands are read.

    Parameters
    ----------
    path : str
        Anything ``rasterio.open`` accepts.
    bands : str, optional
        1-based selection such as ``"1-100,120-200"``.
    wavelengths : str or sequence of (float, float), optional
        Keep only bands whose centre wavelength lies in these nanometre ranges, such
        as ``"400-1340,1450-1790"`` (see :func:`~hadinfer.io.bands.select_bands`).

    Raises
    ------
    NotARasterError
        GDAL cannot open it, it has no band (a container such as HDF5 or netCDF, whose
        subdatasets it names), the selected bands hold complex numbers, one of its files
        (a VRT source) is a FIFO or device, or its raw data file is shorter than its
        header says (GDAL would read the missing part as zeros).
    InputNotFoundError
        One of the files it is made of (a VRT source) does not exist.
    BandSelectionError
        A bad selection, or ``wavelengths`` for a file whose bands have none.
    """

    def __init__(self, path: str, bands: str | None = None,
                 wavelengths: str | Sequence[tuple[float, float]] | None = None):
        try:
            with warnings.catch_warnings():  # .mat-like rasters (ENVI without map info) are fine
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._ds = rasterio.open(path, "r")
        except RasterioError as exc:
            raise NotARasterError(f"{path}: not a raster GDAL can read ({_first_line(exc)})") from exc
        ds = self._ds
        try:
            if ds.count == 0:  # a container (HDF5, netCDF...): its rasters are subdatasets
                raise NotARasterError(_no_bands_message(ds, path))
            _check_dataset_files(ds, path)
            good = _bad_band_list(ds, path)
            alpha = [ci == ColorInterp.alpha for ci in ds.colorinterp]
            if any(alpha):  # an alpha band is a mask, not a spectral band
                good = [ok and not a for ok, a in zip(good or [True] * ds.count, alpha)]
            band_wavelengths = _band_wavelengths(ds, path)
            if wavelengths is not None and band_wavelengths is None:
                raise BandSelectionError(f"{path}: its bands have no wavelengths (no ENVI 'wavelength' list, no GDAL "
                                         "band 'wavelength' items), so --wavelengths cannot select them; use --bands")
            selected = select_bands(ds.count, bands, good, wavelengths=band_wavelengths,
                                    wavelength_ranges=wavelengths)
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
        # GCPs count only without a geotransform, which takes precedence (as in GDAL).
        gcps, gcp_crs = ds.gcps if ds.transform.is_identity else ((), None)
        rpcs = ds.rpcs if ds.transform.is_identity and not gcps else None  # GDAL's order of precedence too
        self.info = SceneInfo(
            path=str(path), height=ds.height, width=ds.width, band_count=ds.count,
            bands=tuple(selected), dtype=ds.dtypes[0], interleave=interleave,
            block_shape=tuple(ds.block_shapes[0]), crs=ds.crs, transform=ds.transform,
            nodata=ds.nodata, driver=ds.driver, gcps=tuple(gcps), gcp_crs=gcp_crs if gcps else None, rpcs=rpcs,
            compression=None if ds.compression is None else ds.compression.value.lower(),
            bad_bands=tuple(i + 1 for i, ok in enumerate(good or []) if not ok),
            wavelengths=None if band_wavelengths is None else tuple(band_wavelengths[b - 1] for b in selected))
        log.debug("%s: %s, %dx%d, %d of %d bands read, %s, blocks %s, %s%s", path, ds.driver, ds.height, ds.width,
                  len(selected), ds.count, ds.dtypes[0], self.info.block_shape,
                  "dataset mask" if self._dataset_mask else "no dataset mask",
                  f", {len(selected)} wavelengths {self.info.wavelengths[0]:g}-{self.info.wavelengths[-1]:g} nm"
                  if self.info.wavelengths else ", no wavelengths")

    _raw_is_private = True  # every read is a fresh array from GDAL

    @property
    def _pixel_major(self) -> bool:
        """Whether windows are read pixel-major, as the file holds them (see :mod:`~hadinfer.io.halo_reads`).

        For pixel-interleaved files of GDAL's raw drivers, and uncompressed GeoTIFFs while
        ``GTIFF_DIRECT_IO`` is on.  Otherwise GDAL's GeoTIFF driver fills a pixel-major
        buffer through its block cache, band by band: ``grx`` on a 1024 x 1024 x 200 tiled
        file took 1.7x as long as band-major uncompressed without direct reads, 1.5x
        with DEFLATE (which direct reads do not cover; 2-core Intel VM, 2026-12-08).
        """
        if self.info.interleave != "pixel":
            return False
        if self.info.driver == "GTiff":
            return (self.info.compression is None
                    and str(get_gdal_config("GTIFF_DIRECT_IO")).upper() in ("YES", "TRUE", "ON", "1"))
        return self.info.driver in RAW_DRIVERS  # raw files: GDAL copies each pixel's bands as they lie

    def _read_raw(self, window):
        dtypes = {self._ds.dtypes[band - 1] for band in self.info.bands}
        if len(dtypes) > 1:  # rasterio picks the read's dtype itself
            try:
                return np.moveaxis(self._ds.read(list(self.info.bands), window=window), 0, -1)
            except RasterioError as exc:
                raise RasterReadError(f"{self.info.path}: cannot read pixels ({_first_line(exc)})") from exc
        data = band_first_buffer(len(self.info.bands), window, dtypes.pop(), self._pixel_major)
        self._read_into(window, data)
        return np.moveaxis(data, 0, -1)

    def read_tiles(self, tiles):
        dtypes = {self._ds.dtypes[band - 1] for band in self.info.bands}
        if len(dtypes) > 1:  # rasterio would pick the read's dtype itself: read as it does
            yield from super().read_tiles(tiles)
            return
        # Overlapping windows share their reads: each file block is read about four times, not nine.
        raws = shared_halo_reads(self._read_into, tiles, len(self.info.bands), dtypes.pop(), self._pixel_major)
        for tile in tiles:
            yield self._checked(next(raws), tile.read)  # not named here: the consumer holds the only reference

    def _read_into(self, window, out):
        """Read ``window`` of the selected bands into ``out``, a (bands, rows, cols) array or view."""
        try:
            self._ds.read(list(self.info.bands), window=window, out=out)
        except RasterioError as exc:
            raise RasterReadError(f"{self.info.path}: cannot read pixels ({_first_line(exc)})") from exc

    def _read_mask(self, window):
        if not self._dataset_mask and not self._alpha_bands:
            return None
        try:
            valid = (self._ds.dataset_mask(window=window) > 0 if self._dataset_mask
                     else np.ones((window.height, window.width), bool))
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


def _band_wavelengths(ds, path) -> tuple[float, ...] | None:
    """Centre wavelength (nm) of every band, from the first source that gives one per band.

    In order: the ENVI header (``wavelength`` and ``wavelength units``), GDAL's per-band
    ``wavelength`` items (any case; units from the band's or the dataset's
    ``wavelength_units``), the per-band ``IMAGERY`` domain ``CENTRAL_WAVELENGTH_UM``
    (GDAL 3.10+, which writes it to three decimals, 1 nm: hence after the items), then
    the dataset's ``ENVI`` domain ``wavelength`` list.  A source with the wrong count,
    a unit that is not a length or a placeholder value is skipped.
    """
    count = ds.count

    def per_band(read) -> list | None:
        values = [read(band) for band in range(1, count + 1)]
        return None if any(v is None for v in values) else values

    def band_item(band: int) -> tuple[str, str | None] | None:
        tags = {key.lower(): value for key, value in ds.tags(band).items()}
        if "wavelength" not in tags:
            return None
        return tags["wavelength"], tags.get("wavelength_units", tags.get("wavelength_unit", dataset_units))

    def imagery_item(band: int) -> str | None:
        return ds.tags(band, ns="IMAGERY").get("CENTRAL_WAVELENGTH_UM")

    dataset_tags = {key.lower(): value for key, value in ds.tags().items()}
    envi = ds.tags(ns="ENVI")
    # GDAL gives ENVI bands no unit item when the header's is not a length ("Index"): the
    # dataset's unit still applies, so index numbers are never taken for micrometres.
    dataset_units = dataset_tags.get("wavelength_units", envi.get("wavelength_units"))
    sources = {
        "ENVI header": lambda: read_envi_wavelengths(path) if ds.driver == "ENVI" else None,
        "band 'wavelength' items": lambda: _convert_items(per_band(band_item)),
        "IMAGERY CENTRAL_WAVELENGTH_UM": lambda: wavelengths_to_nm(per_band(imagery_item) or [], "um"),
        "ENVI domain": lambda: (wavelengths_to_nm(envi_list(envi["wavelength"]), envi.get("wavelength_units"))
                                if "wavelength" in envi else None),
    }
    for name, read in sources.items():
        values = read()
        if values is None:
            continue
        if len(values) != count:
            log.debug("%s: %s lists %d wavelengths for %d bands; ignored", path, name, len(values), count)
            continue
        log.debug("%s: wavelengths from the %s", path, name)
        return values
    return None


def _convert_items(items: list[tuple[str, str | None]] | None) -> tuple[float, ...] | None:
    """Per-band (value, units) pairs in nm: together when the bands agree on the unit, else one by one."""
    if not items:
        return None
    units = {unit for _, unit in items}
    if len(units) == 1:
        return wavelengths_to_nm([value for value, _ in items], units.pop())
    converted = [wavelengths_to_nm([value], unit) for value, unit in items]
    return None if any(c is None for c in converted) else tuple(c[0] for c in converted)


def _first_line(exc: BaseException) -> str:
    return library_message(exc)


def _check_dataset_files(ds, path) -> None:
    """Refuse a dataset one of whose files is missing or not a regular file, or whose raw data is cut short.

    GDAL opens a VRT without its sources and fails only when the pixels are read, with
    "Read failed. See previous exception"; it reads a raw file (ENVI, EHdr BIL/BIP/BSQ,
    GenBin, PAux, ISCE) shorter than its header says as zeros, silently, and so a striped
    GeoTIFF cut short while ``GTIFF_DIRECT_IO`` is on (as during a run,
    :mod:`hadinfer.io.read_options`).  All are found here, before any work.
    """
    for file in ds.files[1:]:
        if not is_local_path(file):
            continue
        if not os.path.lexists(file):
            raise InputNotFoundError(f"{path}: its file {file} does not exist (a VRT source, or a file its "
                                     "header names)")
        check_input_file(file)
    if ds.driver in RAW_DRIVERS:
        _check_raw_size(ds, path)
    elif ds.driver == "GTiff":
        _check_geotiff_size(ds, path)


_ITEM_BYTES = {"uint8": 1, "int8": 1, "uint16": 2, "int16": 2, "uint32": 4, "int32": 4, "float32": 4,
               "uint64": 8, "int64": 8, "float64": 8, "complex64": 8, "complex128": 16, "complex_int16": 4}


#: GDAL drivers that read every band's pixels from one raw data file (``dataset.files[0]``)
#: and read a file cut short as zeros (GDAL 3.10: no error, no warning).
RAW_DRIVERS = ("ENVI", "EHdr", "GenBin", "PAux", "ISCE")


def _check_raw_size(ds, path) -> None:
    """A raw data file must hold ``offset + rows x cols x bands x item size`` bytes.

    ``offset`` is an ENVI header's ``header offset``; for the other raw drivers it is 0,
    which makes the size a lower bound (line or band padding, EHdr ``SKIPBYTES``, would
    add to it): a file shorter than that is certainly truncated.
    """
    data = ds.files[0] if ds.files else str(path)
    item = _ITEM_BYTES.get(ds.dtypes[0])
    if item is None or not os.path.isfile(data):
        return
    offset = 0
    if ds.driver == "ENVI":
        header = _envi_header(data)
        if header is None:
            return
        try:
            offset = int(float(envi_header_field(header.read_text(errors="replace"), "header offset") or 0))
        except (ValueError, OSError):
            offset = 0
    expected = offset + ds.width * ds.height * ds.count * item
    size = os.path.getsize(data)
    if size < expected:
        raise NotARasterError(f"{path}: the data file {os.path.basename(data)} holds {size} bytes, but its header "
                              f"describes {'' if ds.driver == 'ENVI' else 'at least '}{expected} "
                              f"({ds.height}x{ds.width}x{ds.count} {ds.dtypes[0]}"
                              + (f" after a {offset}-byte offset" if offset else "")
                              + "); the file is truncated")


def _check_geotiff_size(ds, path) -> None:
    """A GeoTIFF must hold its last block of pixels (of every band, when bands are stored apart).

    The last block's end (``BLOCK_OFFSET`` + ``BLOCK_SIZE`` from GDAL's ``TIFF`` metadata
    domain, microseconds a band) is where GDAL writes a file's pixels up to, so a copy or
    download cut short ends before it.  A block written out of order could hide a cut
    elsewhere; sparse blocks (offset 0) hold no bytes and are skipped.
    """
    data = ds.files[0] if ds.files else str(path)
    if not os.path.isfile(data) or not ds.block_shapes:
        return
    rows, cols = ds.block_shapes[0]
    last = f"{(ds.width + cols - 1) // cols - 1}_{(ds.height + rows - 1) // rows - 1}"
    end = 0
    for band in [1] if ds.interleaving is not None and ds.interleaving.value == "PIXEL" else range(1, ds.count + 1):
        try:
            offset = int(ds.get_tag_item(f"BLOCK_OFFSET_{last}", "TIFF", bidx=band) or 0)
            size = int(ds.get_tag_item(f"BLOCK_SIZE_{last}", "TIFF", bidx=band) or 0)
        except (ValueError, RasterioError):  # GDAL does not say: nothing to check against
            return
        if offset:
            end = max(end, offset + size)
    size = os.path.getsize(data)
    if size < end:
        raise NotARasterError(f"{path}: the file holds {size} bytes, but its last block of pixels ends at byte {end}; "
                              "the file is truncated")


def _no_bands_message(ds, path) -> str:
    """What to say of a file GDAL opens with no band: name its subdatasets, which are the rasters."""
    subdatasets = list(ds.subdatasets)
    if not subdatasets:
        return f"{path}: GDAL opens it with no raster band"
    shown = ", ".join(subdatasets[:3]) + (f" and {len(subdatasets) - 3} more" if len(subdatasets) > 3 else "")
    return (f"{path}: a container of {len(subdatasets)} subdatasets ({shown}), not a raster with bands; "
            f"write the one you want as a GeoTIFF first, e.g. rio convert '{subdatasets[0]}' scene.tif")
