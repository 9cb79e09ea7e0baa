"""Writing score maps: float32 GeoTIFF (or COG), atomically, with the input's georeferencing."""

from __future__ import annotations

import shutil
import warnings
import weakref
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from ..errors import HadinferError, OutputPathError, library_message
from .atomic import check_output_path, commit, make_temp, write_failure_reason
from .scene import SceneInfo

__all__ = ["ScoreMapWriter", "check_output_path", "output_nodata"]

BLOCK = 256
#: Overviews are root-mean-square decimations: for non-negative scores an RMS lies between
#: the smallest and largest pixel it summarises, so an overview never shows a value the map
#: does not have (cubic and bilinear ring below zero), and a one-pixel peak keeps
#: 1/factor of its height instead of 1/factor² (average) or vanishing (nearest, 3 in 4
#: times).  GDAL has no "max" overview resampling.
OVERVIEW_RESAMPLING = "rms"


def overview_factors(height: int, width: int) -> list[int]:
    """Decimation factors 2, 4, 8, ... until the smaller side is under one block."""
    factors, factor = [], 2
    while min(height, width) // factor >= BLOCK // 2:
        factors.append(factor)
        factor *= 2
    return factors


def output_nodata(info: SceneInfo) -> float:
    """The map's nodata: the input's when float32 can hold it exactly, else NaN."""
    nodata = info.nodata
    if nodata is not None and np.isfinite(nodata) and float(np.float32(nodata)) == float(nodata):
        return float(nodata)
    return float("nan")


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # also run at interpreter exit, where an error could only print a traceback
            pass


def _check_free_space(path: Path, info: SceneInfo) -> None:
    raw = info.width * info.height * 4
    try:
        usage = shutil.disk_usage(path.parent)
    except OSError:
        return  # cannot tell: the write itself will say
    if usage.total > 0 and usage.free < raw // 10:  # pseudo file systems (/proc) report no size at all
        raise OutputPathError(f"{path}: not enough free space in {path.parent} ({_size(usage.free)} free; "
                              f"the map needs at least {_size(raw // 10)}, up to {_size(raw)} uncompressed)")


def _size(n: float) -> str:
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            break
    return f"{n:.1f} {unit}"


def _block(size: int) -> int:
    return min(BLOCK, -(-size // 16) * 16)


class ScoreMapWriter:
    """Write a one-band float32 map beside its final name, then rename it into place.

    A failure, Ctrl-C or SIGTERM inside the ``with`` block removes the temporary file,
    so no partial map ever appears under the target name, and an existing target is
    only replaced (atomically) once the new map is complete, and only with
    ``overwrite``: the final rename refuses to replace a file that appeared meanwhile
    (see :mod:`hadinfer.io.atomic`).

    A folder with less free space than a tenth of the uncompressed map is refused up
    front, before any compute.  Deflate rarely shrinks float32 scores that much (only
    maps that are mostly nodata), so the check stops a full or nearly full disk without
    refusing maps that would fit; a disk that fills later is still reported, in one
    line, when the write fails.

    Tiles are gathered into the file's blocks (256 x 256), and each block is written
    once, when complete.  Letting GDAL merge many partial writes into one compressed
    block lost whole tiles in about one run in a hundred under CPU load, while a reader
    thread was busy on another dataset (GDAL 3.10); whole-block writes never read a
    block back.  Blocks rather than full-width strips: what waits to be written is a few
    blocks of the tiles in flight, not two rows of the map, so the writer's memory does
    not grow with the scene's width (two strips of a 4096-pixel-wide map were 8 MB, of a
    30,000-pixel flight line 60 MB).

    Parameters
    ----------
    path : str or PathLike
        Final GeoTIFF path.
    info : SceneInfo
        Size, CRS, transform (or ground control points) and nodata to copy from the input.
    overwrite : bool
        Replace an existing file.
    cog : bool
        Write a Cloud-Optimized GeoTIFF (with overviews).
    creation_options : dict, optional
        GDAL creation options replacing hadinfer's defaults (GTiff, or COG with ``cog``).
    tags : dict, optional
        Dataset metadata items (provenance: hadinfer version, detector, parameters, model
        SHA-256).  The band also gets a description and GDAL's ``STATISTICS_*`` items,
        computed from the scores as they are written.

    Raises
    ------
    OutputExistsError, OutputPathError
        From :func:`~hadinfer.io.atomic.check_output_path`, or the folder is (almost) full.
    """

    def __init__(self, path, info: SceneInfo, *, overwrite: bool = False, cog: bool = False,
                 tags: dict | None = None, creation_options: dict | None = None):
        self.path = check_output_path(path, overwrite=overwrite, inputs=(info.path,))
        self.tags = dict(tags or {})
        self.creation_options = {str(k).lower(): v for k, v in (creation_options or {}).items()}
        self._stats = [0, 0.0, 0.0, np.inf, -np.inf]  # count, sum, sum of squares, min, max (float64)
        _check_free_space(self.path, info)
        self.info = info
        self.overwrite = overwrite
        self.cog = cog
        self.nodata = output_nodata(info)
        self._block_shape = (_block(info.height), _block(info.width))
        self._pending: dict[tuple[int, int], list] = {}  # (block row, block column) -> [buffer, pixels written]
        # One flag per block (a set of keys would grow by a hundred bytes a block).
        self._flushed = np.zeros((-(-info.height // self._block_shape[0]), -(-info.width // self._block_shape[1])),
                                 dtype=bool)
        # Removes the temporary files once: on abort, after commit, or at the latest when
        # this object is dropped or the interpreter exits -- so even a signal that lands
        # before the ``with`` block is entered leaves nothing behind.
        self._leftovers: list[Path] = []
        self._cleanup = weakref.finalize(self, _remove_files, self._leftovers)
        self._tmp = make_temp(self.path, ".tmp.tif", register=self._leftovers)
        self._cog_tmp: Path | None = None
        profile = dict(
            driver="GTiff", width=info.width, height=info.height, count=1, dtype="float32",
            crs=info.crs, transform=info.transform, nodata=self.nodata, tiled=True,
            blockxsize=self._block_shape[1], blockysize=self._block_shape[0],
            compress="deflate", predictor=3, zlevel=6, bigtiff="if_safer")
        if getattr(info, "gcps", ()):  # georeferenced by GCPs: the map keeps them (a COG copy does too)
            profile.update(crs=info.gcp_crs, gcps=list(info.gcps))
            del profile["transform"]  # an identity geotransform would make GDAL warn that the GCPs replace it
        elif getattr(info, "rpcs", None) is not None:  # by RPCs (a level-1 product): kept the same way
            profile.update(rpcs=info.rpcs)
            del profile["transform"]
        if not cog:  # a COG takes them in its copy below; this file is then only the copy's source
            profile.update(self.creation_options)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                self._ds = rasterio.open(self._tmp, "w", **profile)
        except (RasterioError, OSError) as exc:
            self._cleanup()
            raise OutputPathError(f"{self.path}: cannot create the map ({library_message(exc)})") from exc
        except BaseException:
            self._cleanup()
            raise

    def write(self, row_off: int, col_off: int, scores: np.ndarray) -> None:
        """Write a window of scores; NaN becomes the nodata value (a score equal to it, the next float32 up).

        Windows should not overlap: a rewrite of a block already on disk goes through
        GDAL's slower partial-block path.

        Raises
        ------
        OutputPathError
            The file cannot be written (a full disk, say).
        """
        try:
            self._write(row_off, col_off, scores)
        except HadinferError:
            raise
        except (RasterioError, OSError) as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: BaseException) -> OutputPathError:
        reason = write_failure_reason(exc, self.path.parent)
        return OutputPathError(f"{self.path}: cannot write the map ({reason}); nothing was written there")

    def _write(self, row_off: int, col_off: int, scores: np.ndarray) -> None:
        block = np.asarray(scores, dtype=np.float32)
        finite = block[np.isfinite(block)].astype(np.float64)
        if finite.size:
            stats = self._stats
            stats[0] += finite.size
            stats[1] += finite.sum()
            stats[2] += np.dot(finite, finite)
            stats[3], stats[4] = min(stats[3], finite.min()), max(stats[4], finite.max())
        if not np.isnan(self.nodata):
            nodata = np.float32(self.nodata)
            # A score equal to the nodata value (0 is common) would be read back as no
            # data: it moves to the adjacent float32 above, which reverses no pair of scores.
            block = np.where(block == nodata, np.nextafter(nodata, np.float32(np.inf)), block)
            block = np.where(np.isnan(block), nodata, block)
        height, width = block.shape
        rows, cols = self._block_shape
        for row in range(row_off // rows, (row_off + height - 1) // rows + 1):
            top = row * rows
            lo, hi = max(row_off, top), min(row_off + height, top + rows)
            for col in range(col_off // cols, (col_off + width - 1) // cols + 1):
                left = col * cols
                start, stop = max(col_off, left), min(col_off + width, left + cols)
                part = block[lo - row_off:hi - row_off, start - col_off:stop - col_off]
                if self._flushed[row, col]:
                    self._ds.write(part, 1, window=Window(start, lo, stop - start, hi - lo))
                    continue
                pending = self._pending.get((row, col)) or self._new_block((row, col))
                pending[0][lo - top:hi - top, start - left:stop - left] = part
                pending[1] += part.size
                if pending[1] >= pending[0].size:
                    self._flush((row, col))

    def _write_metadata(self) -> None:
        """Provenance tags, band description and GDAL statistics (read by QGIS and ``rio info``)."""
        count, total, squares, low, high = self._stats
        if self.tags:
            self._ds.update_tags(**{k: str(v) for k, v in self.tags.items()})
        self._ds.set_band_description(1, "anomaly score" + (f" ({self.tags['HADINFER_DETECTOR']})"
                                                            if "HADINFER_DETECTOR" in self.tags else ""))
        if count:
            mean = total / count
            self._ds.update_tags(1, STATISTICS_MINIMUM=repr(float(low)), STATISTICS_MAXIMUM=repr(float(high)),
                                 STATISTICS_MEAN=repr(float(mean)),
                                 STATISTICS_STDDEV=repr(float(np.sqrt(max(squares / count - mean * mean, 0.0)))),
                                 STATISTICS_VALID_PERCENT=repr(100.0 * count / (self.info.height * self.info.width)))

    def _new_block(self, key: tuple[int, int]) -> list:
        (rows, cols), (row, col) = self._block_shape, key
        shape = (min(rows, self.info.height - row * rows), min(cols, self.info.width - col * cols))
        self._pending[key] = pending = [np.full(shape, np.float32(self.nodata), dtype=np.float32), 0]
        return pending

    def _flush(self, key: tuple[int, int]) -> None:
        buffer, _ = self._pending.pop(key)
        (rows, cols), (row, col) = self._block_shape, key
        self._ds.write(buffer, 1, window=Window(col * cols, row * rows, buffer.shape[1], buffer.shape[0]))
        self._flushed[key] = True

    def commit(self) -> Path:
        """Finish the file and move it to its final name.

        An existing file at the final name is replaced only with ``overwrite``, even
        one that appeared while the map was computed.

        Raises
        ------
        OutputPathError
            The file cannot be finished (a full disk, say).
        OutputExistsError
            The target appeared meanwhile and ``overwrite`` is False.
        """
        try:
            for key in sorted(self._pending):  # blocks some pixels of which were never written
                self._flush(key)
            self._write_metadata()
            factors = overview_factors(self._ds.height, self._ds.width)
            if factors:  # so QGIS zoomed out still shows the anomalies, and fast
                self._ds.build_overviews(factors, Resampling[OVERVIEW_RESAMPLING])
                self._ds.update_tags(ns="rio_overview", resampling=OVERVIEW_RESAMPLING)
            self._ds.close()
            if self.cog:
                self._cog_tmp = make_temp(self.path, ".cog.tif", register=self._leftovers)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NotGeoreferencedWarning)
                    options = dict(compress="deflate", predictor=3, blocksize=BLOCK, bigtiff="if_safer",
                                   overview_resampling=OVERVIEW_RESAMPLING) | self.creation_options
                    rasterio.shutil.copy(self._tmp, self._cog_tmp, driver="COG", **options)
        except HadinferError:
            raise
        except (RasterioError, OSError) as exc:
            raise self._write_error(exc) from exc
        commit(self._cog_tmp or self._tmp, self.path, overwrite=self.overwrite)
        self._cleanup()  # the plain GeoTIFF a COG was copied from; the rest was renamed
        return self.path

    def abort(self) -> None:
        """Drop the temporary file."""
        try:
            if not self._ds.closed:
                self._ds.close()
        except (RasterioError, OSError):
            pass  # the file is being dropped: a failure to finish it does not matter
        finally:
            self._cleanup()

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
