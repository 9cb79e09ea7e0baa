"""The scene abstraction every detector reads from: windows of an (H, W, B) cube."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from rasterio.windows import Window

from ..errors import ParameterError
from ..tiling import Tile

#: Storage dtypes tiles keep when read (others are widened to float64).
_KEPT_DTYPES = tuple(np.dtype(t) for t in ("int8", "uint8", "int16", "uint16", "float32"))


@dataclass(frozen=True)
class SceneInfo:
    """What is known about a scene before reading its pixels.

    Attributes
    ----------
    path : str
        Where the scene came from (``"<array>"`` for in-memory cubes).
    height, width : int
        Raster size in pixels.
    band_count : int
        Bands in the file, before selection.
    bands : tuple of int
        1-based bands that are read, after ``--bands`` and the bad-band list.
    dtype : str
        Storage data type.
    interleave : str or None
        ``"band"``, ``"pixel"``, ``"line"`` or ``None`` when unknown.
    block_shape : tuple of int or None
        (rows, cols) of the file's internal blocks; ``None`` when any window is as cheap.
    crs : rasterio.crs.CRS or None
        Coordinate reference system; ``None`` for data without georeferencing (.mat).
    transform : affine.Affine
        Pixel-to-map transform (identity when not georeferenced).
    nodata : float or None
        The input's nodata value.
    bad_bands : tuple of int
        1-based bands flagged bad by the file (e.g. ENVI ``bbl``) and skipped.
    driver : str
        Reader that opened it (a GDAL driver name, ``"MAT-v5"``, ``"MAT-v7.3"``, ``"array"``).
    wavelengths : tuple of float or None
        Centre wavelength in nanometres of each band in ``bands`` (same order), from an
        ENVI header or GDAL band metadata; ``None`` when the file gives none.
    gcps : tuple of rasterio.control.GroundControlPoint
        Ground control points of a raster georeferenced by them instead of a geotransform
        (``transform`` is then the identity and ``crs`` None); empty otherwise.  Maps keep
        them, so GIS software places a map where it places its scene.
    gcp_crs : rasterio.crs.CRS or None
        The CRS of ``gcps``.
    rpcs : rasterio.rpc.RPC or None
        Rational polynomial coefficients of a raster georeferenced by them, as satellite
        level-1 products are (no geotransform, no GCPs); maps keep them too.
    compression : str or None
        The file's compression as GDAL names it (``"deflate"``, ``"lzw"``...); None when
        it stores pixels as they are, or does not say.
    """

    path: str
    height: int
    width: int
    band_count: int
    bands: tuple[int, ...]
    dtype: str
    interleave: str | None = None
    block_shape: tuple[int, int] | None = None
    crs: Any = None
    transform: Affine = field(default_factory=Affine.identity)
    nodata: float | None = None
    bad_bands: tuple[int, ...] = ()
    driver: str = "array"
    wavelengths: tuple[float, ...] | None = None
    gcps: tuple = ()
    gcp_crs: Any = None
    compression: str | None = None
    rpcs: Any = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """(height, width, selected bands)."""
        return (self.height, self.width, len(self.bands))


class Scene:
    """A readable hyperspectral scene. Subclasses implement :meth:`_read_raw`.

    Use as a context manager, or call :meth:`close`.
    """

    info: SceneInfo
    #: Whether ``_read_raw`` returns a fresh array (a file read) rather than a view.
    _raw_is_private = False

    def read(self, row_off: int, col_off: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Read a window of the selected bands, given in pixels; see :meth:`read_window`.

        Parameters
        ----------
        row_off, col_off, height, width : int
            The window in pixels; it must lie inside the scene.
        """
        return self.read_window(Window(col_off, row_off, width, height))

    def read_window(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Read a window of the selected bands.

        Parameters
        ----------
        window : rasterio.windows.Window
            Integer offsets and lengths in pixels (a :class:`~hadinfer.tiling.Tile`'s
            ``read`` or ``core``); it must lie inside the scene.

        Returns
        -------
        cube : ndarray, shape (height, width, bands)
            Pixel spectra, a private array; invalid pixels are set to 0 so they cannot
            poison sums.  In the storage dtype when it is (u)int8, (u)int16 or float32
            -- a float64 copy of every tile would cost 4x the memory of int16 and a pass
            over it, and the detectors convert where they compute -- otherwise float64.
        valid : ndarray of bool, shape (height, width)
            ``False`` where every band equals nodata (GDAL's dataset-mask rule), any
            band is not finite, or the file's own mask (internal mask, alpha band)
            hides the pixel.

        Raises
        ------
        ParameterError
            The window does not lie inside the scene (it was clipped silently, or read
            as an empty array).
        RasterReadError
            If the pixels cannot be read.
        """
        _check_inside(window, self.info.height, self.info.width)
        return self._checked(self._read_raw(window), window)

    def read_tiles(self, tiles: Sequence[Tile]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Read each tile's read window, in order: ``read_window(tile.read)`` of each.

        Scenes read from files share what overlapping windows have in common
        (:func:`~hadinfer.io.halo_reads.shared_halo_reads`); the windows are the same.

        Parameters
        ----------
        tiles : sequence of Tile
            Row-major, as :func:`~hadinfer.tiling.tile_windows` makes them.

        Yields
        ------
        cube, valid
            As :meth:`read_window` returns them.
        """
        for tile in tiles:
            yield self.read_window(tile.read)

    def _checked(self, raw: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """``(cube, valid)`` of a window's raw pixels (see :meth:`read_window`)."""
        if raw.dtype not in _KEPT_DTYPES:
            cube = raw.astype(np.float64)
        else:  # a view into a loaded .mat or a caller's array must not be zeroed in place
            cube = raw if self._raw_is_private else raw.copy()
        if np.issubdtype(raw.dtype, np.floating):
            valid = np.isfinite(raw).all(axis=2)
        else:  # integers are always finite; skip a pass over the data
            valid = np.ones(raw.shape[:2], dtype=bool)
        nodata = self.info.nodata
        if nodata is not None and not np.isnan(nodata):
            valid &= ~(raw == nodata).all(axis=2)
        mask = self._read_mask(window)
        if mask is not None:
            valid &= mask
        if not valid.all():
            cube[~valid] = 0.0
        return cube, valid

    def read_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Read the whole scene; see :meth:`read`."""
        return self.read(0, 0, self.info.height, self.info.width)

    def _read_raw(self, window: Window) -> np.ndarray:
        """Return the window as (height, width, bands) in the storage dtype."""
        raise NotImplementedError

    def _read_mask(self, window: Window) -> np.ndarray | None:
        """The file's own validity mask of the window (True = valid), or None when it has none."""
        return None

    def close(self) -> None:
        """Release the file handle (no-op for in-memory scenes)."""

    def __enter__(self) -> "Scene":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_inside(window: Window, height: int, width: int) -> None:
    """Refuse a window that is not inside a ``height`` x ``width`` image (every backend clipped it)."""
    row, col = int(window.row_off), int(window.col_off)
    rows, cols = int(window.height), int(window.width)
    if row < 0 or col < 0 or rows < 0 or cols < 0 or row + rows > height or col + cols > width:
        raise ParameterError(f"window: rows {row}-{row + rows}, columns {col}-{col + cols} are not inside the "
                             f"{height} x {width} scene")
