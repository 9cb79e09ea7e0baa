"""Writing score maps: float32 GeoTIFF (or COG), atomically, with the input's georeferencing."""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from ..errors import OutputExistsError, OutputPathError
from .scene import SceneInfo

BLOCK = 256


def output_nodata(info: SceneInfo) -> float:
    """The map's nodata: the input's when float32 can hold it exactly, else NaN."""
    nodata = info.nodata
    if nodata is not None and np.isfinite(nodata) and float(np.float32(nodata)) == float(nodata):
        return float(nodata)
    return float("nan")


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False,
                      inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Validate an output path before any work is done.

    Raises
    ------
    OutputPathError
        The folder is missing or not writable, or the path is one of ``inputs``.
    OutputExistsError
        The file exists and ``overwrite`` is False.
    """
    path = Path(path)
    for source in inputs:
        if os.path.exists(source) and path.exists() and os.path.samefile(source, path):
            raise OutputPathError(f"{path}: output would replace its own input; choose another name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: output folder {parent} is not writable")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: exists; pass --overwrite to replace it")
    if path.is_dir():
        raise OutputPathError(f"{path}: is a folder")
    return path


def _block(size: int) -> int:
    return min(BLOCK, -(-size // 16) * 16)


class ScoreMapWriter:
    """Write a one-band float32 map beside its final name, then rename it into place.

    A failure or Ctrl-C inside the ``with`` block removes the temporary file, so no
    partial map ever appears under the target name, and an existing target is only
    replaced (atomically) once the new map is complete.

    Tiles are gathered into full-width strips one file block high, and each strip is
    written once, when complete.  Letting GDAL merge many partial writes into one
    compressed block lost whole tiles in about one run in a hundred under CPU load,
    while a reader thread was busy on another dataset (GDAL 3.10); whole-block writes
    never read a block back, and are fewer calls besides.

    Parameters
    ----------
    path : str or PathLike
        Final GeoTIFF path.
    info : SceneInfo
        Size, CRS, transform and nodata to copy from the input.
    overwrite : bool
        Replace an existing file.
    cog : bool
        Write a Cloud-Optimized GeoTIFF (with overviews).
    """

    def __init__(self, path, info: SceneInfo, *, overwrite: bool = False, cog: bool = False):
        self.path = check_output_path(path, overwrite=overwrite, inputs=(info.path,))
        self.info = info
        self.cog = cog
        self.nodata = output_nodata(info)
        self._strip_height = _block(info.height)
        self._strips: dict[int, list] = {}  # strip index -> [buffer, pixels written]
        self._flushed: set[int] = set()
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp.tif")
        profile = dict(
            driver="GTiff", width=info.width, height=info.height, count=1, dtype="float32",
            crs=info.crs, transform=info.transform, nodata=self.nodata, tiled=True,
            blockxsize=_block(info.width), blockysize=self._strip_height,
            compress="deflate", predictor=3, zlevel=6, bigtiff="if_safer")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._ds = rasterio.open(self._tmp, "w", **profile)
        except (RasterioError, OSError) as exc:
            raise OutputPathError(f"{self.path}: cannot create the map ({exc})") from exc

    def write(self, row_off: int, col_off: int, scores: np.ndarray) -> None:
        """Write a window of scores; NaN becomes the nodata value.

        Windows should not overlap: a rewrite of a strip already on disk goes through
        GDAL's slower partial-block path.
        """
        block = np.asarray(scores, dtype=np.float32)
        if not np.isnan(self.nodata):
            block = np.where(np.isnan(block), np.float32(self.nodata), block)
        height, width = block.shape
        first, last = row_off // self._strip_height, (row_off + height - 1) // self._strip_height
        for index in range(first, last + 1):
            top = index * self._strip_height
            lo, hi = max(row_off, top), min(row_off + height, top + self._strip_height)
            part = block[lo - row_off:hi - row_off]
            if index in self._flushed:
                self._ds.write(part, 1, window=Window(col_off, lo, width, hi - lo))
                continue
            strip = self._strips.get(index) or self._new_strip(index)
            strip[0][lo - top:hi - top, col_off:col_off + width] = part
            strip[1] += (hi - lo) * width
            if strip[1] >= strip[0].size:
                self._flush(index)

    def _new_strip(self, index: int) -> list:
        top = index * self._strip_height
        rows = min(self._strip_height, self.info.height - top)
        buffer = np.full((rows, self.info.width), np.float32(self.nodata), dtype=np.float32)
        self._strips[index] = strip = [buffer, 0]
        return strip

    def _flush(self, index: int) -> None:
        buffer, _ = self._strips.pop(index)
        top = index * self._strip_height
        self._ds.write(buffer, 1, window=Window(0, top, buffer.shape[1], buffer.shape[0]))
        self._flushed.add(index)

    def commit(self) -> Path:
        """Finish the file and move it to its final name."""
        for index in sorted(self._strips):  # strips some pixels of which were never written
            self._flush(index)
        self._ds.close()
        source = self._tmp
        if self.cog:
            source = self._tmp.with_suffix(".cog.tif")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                rasterio.shutil.copy(self._tmp, source, driver="COG", compress="deflate",
                                     predictor=3, blocksize=BLOCK, bigtiff="if_safer")
            self._tmp.unlink()
            self._tmp = source
        os.replace(source, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file."""
        if not self._ds.closed:
            self._ds.close()
        for leftover in (self._tmp, self._tmp.with_suffix(".cog.tif")):
            leftover.unlink(missing_ok=True)

    def __enter__(self) -> "ScoreMapWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()
