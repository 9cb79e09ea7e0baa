"""Read a row-major grid of overlapping tile windows, each file block about four times instead of nine.

Why
---
A halo detector's tiles overlap: ``fusion``'s 296 x 296 read windows of 256 x 256 cores
on 256-pixel file blocks each touch nine blocks, and GDAL reads every block a window
touches whole, so each block of the file was read (copied from the page cache, or
decompressed) nine times.  One pass of those windows over a 1024 x 1024 x 200 int16
GeoTIFF took 1.07 s of CPU against 0.28 s for the cores alone (2-core Intel VM,
2026-12-07).  GDAL's remedies cost memory that grows with the scene (a block cache
holding a window's nine blocks of every band, 240 MiB here, or mapping the whole file),
so the sharing is done here, with buffers of a few rows and columns whose size does not
depend on the scene: a window's core rows and right halo are read straight into it, its
left halo is copied from the window before it, and its top and bottom halos from two
strips read once for a group of consecutive tiles of the row.  A window's pixels are the
file's pixels either way: the windows equal separate reads to the bit, only the number of
reads changes.

rasterio reads one window per call; sharing between calls is the caller's to do.

Windows of pixel-interleaved files (GeoTIFF ``INTERLEAVE=PIXEL``, ENVI BIP) are laid out
pixel-major, as they lie in the file: GDAL then copies each pixel's bands as they are
instead of scattering them band by band, which the consumers' centring undid again.
One pass over a 1024 x 1024 x 200 int16 ENVI BIP file took 0.93 s band-major against
0.09 s pixel-major (2-core Intel VM, 2026-12-08).  GeoTIFFs are read so only when
uncompressed and with ``GTIFF_DIRECT_IO`` on (:mod:`hadinfer.io.read_options`; see
``RasterioScene._pixel_major``).  Every consumer takes either layout, to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import groupby

import numpy as np
from rasterio.windows import Window

from ..tiling import Tile

#: Bytes each of a group's two strips (the halo rows above and below its cores) may take;
#: a row of tiles is cut into groups of consecutive tiles that fit (1,024 columns of 200
#: int16 bands for a 20-pixel halo).  A tile whose strips alone pass it is read whole.
STRIP_LIMIT_BYTES = 8 * 2**20

#: ``read_into(window, out)`` fills ``out``, a (bands, rows, cols) array or view, with the window.
ReadInto = Callable[[Window, np.ndarray], None]


def shared_halo_reads(read_into: ReadInto, tiles: Sequence[Tile], bands: int, dtype,
                      pixel_major: bool = False) -> Iterator[np.ndarray]:
    """Yield each tile's read window, in order, sharing the reads of what neighbouring windows overlap.

    Parameters
    ----------
    read_into : callable
        ``read_into(window, out)`` reads ``window`` into ``out``, a band-major
        ``(bands, rows, cols)`` array or a view of one (rasterio's ``read(out=...)``).
    tiles : sequence of Tile
        In row-major order, as :func:`~hadinfer.tiling.tile_windows` makes them (any
        subset of whole rows, too).  Tiles of a row whose windows span other rows than
        their neighbours' are read a window at a time.
    bands : int
    dtype : numpy dtype
        Of the pixels ``read_into`` gives.
    pixel_major : bool
        Lay each window out pixel-major (a C-contiguous ``(rows, cols, bands)`` array,
        what a pixel-interleaved file holds) instead of band-major; ``read_into`` then
        gets ``(bands, rows, cols)`` views of such arrays.

    Yields
    ------
    ndarray, shape (rows, cols, bands)
        The tile's read window, an array of its own: band-major, laid out as rasterio
        reads it (``np.moveaxis`` of a ``(bands, rows, cols)`` array), or pixel-major.
    """
    dtype = np.dtype(dtype)
    for _, row in groupby(tiles, key=lambda tile: (tile.core.row_off, tile.core.height, tile.read.row_off,
                                                   tile.read.height)):
        for group in _column_groups(list(row), bands * dtype.itemsize):
            yield from _GroupOfTiles(read_into, group, bands, dtype, pixel_major).windows()


def _column_groups(row: list[Tile], pixel_bytes: int) -> Iterator[list[Tile]]:
    """Consecutive tiles of a row of tiles whose halo strips fit :data:`STRIP_LIMIT_BYTES` each."""
    first = row[0]
    halo_rows = max(first.core.row_off - first.read.row_off,
                    first.read.row_off + first.read.height - first.core.row_off - first.core.height)
    group, left = [], None
    for tile in row:
        right = tile.read.col_off + tile.read.width
        if group and halo_rows * (right - left) * pixel_bytes > STRIP_LIMIT_BYTES:
            yield group
            group = []
        if not group:
            left = tile.read.col_off
        group.append(tile)
    yield group


class _GroupOfTiles:
    """Consecutive tiles of one row of tiles (the same rows read): their windows, from shared reads."""

    def __init__(self, read_into: ReadInto, group: list[Tile], bands: int, dtype: np.dtype, pixel_major: bool):
        self.read_into, self.group, self.bands, self.dtype = read_into, group, bands, dtype
        self.pixel_major = pixel_major
        first = group[0]
        self.top, self.bottom = first.read.row_off, first.read.row_off + first.read.height
        self.core_top, self.core_bottom = first.core.row_off, first.core.row_off + first.core.height
        self.left = min(tile.read.col_off for tile in group)
        self.right = max(tile.read.col_off + tile.read.width for tile in group)
        strip_bytes = (self.right - self.left) * bands * dtype.itemsize
        self.whole = max(self.core_top - self.top, self.bottom - self.core_bottom) * strip_bytes > STRIP_LIMIT_BYTES
        self.above = self.below = self.left_halo = None

    def windows(self) -> Iterator[np.ndarray]:
        if not self.whole:
            self.above = self._strip(self.top, self.core_top)
            self.below = self._strip(self.core_bottom, self.bottom)
        for position, tile in enumerate(self.group):
            following = self.group[position + 1] if position + 1 < len(self.group) else None
            # Not named here while the consumer has it: its memory goes when theirs does.
            yield np.moveaxis(self._window(tile, following), 0, -1)

    def _empty(self, window: Window) -> np.ndarray:
        """A (bands, rows, cols) array for ``window``, or such a view of a pixel-major one."""
        return band_first_buffer(self.bands, window, self.dtype, self.pixel_major)

    def _strip(self, start: int, stop: int) -> np.ndarray | None:
        """Rows [start, stop) across the group's windows, one read; None when there are none."""
        if stop <= start:
            return None
        window = Window(self.left, start, self.right - self.left, stop - start)
        strip = self._empty(window)
        self.read_into(window, strip)
        return strip

    def _window(self, tile: Tile, following: Tile | None) -> np.ndarray:
        out = self._empty(tile.read)
        if self.whole:
            self.read_into(tile.read, out)
            return out
        first, last = tile.read.col_off, tile.read.col_off + tile.read.width
        middle = slice(self.core_top - self.top, self.core_bottom - self.top)
        if self.above is not None:
            out[:, :middle.start] = self.above[:, :, first - self.left:last - self.left]
        start = first
        if self.left_halo is not None and self.left_halo[0] == first:
            shared = self.left_halo[1]
            out[:, middle, :shared.shape[2]] = shared
            start += shared.shape[2]
        self.read_into(Window(start, self.core_top, last - start, self.core_bottom - self.core_top),
                       out[:, middle, start - first:])
        if self.below is not None:
            out[:, middle.stop:] = self.below[:, :, first - self.left:last - self.left]
        self.left_halo = self._left_halo_of(following, tile, out[:, middle])
        return out

    @staticmethod
    def _left_halo_of(following: Tile | None, tile: Tile, core_rows: np.ndarray):
        """``(first column, pixels)``: the core rows of the columns the next window reads left of its core,
        copied (a few columns) from this window; None when it reads none of them from here."""
        if following is None:
            return None
        first, stop = following.read.col_off, following.core.col_off
        if not tile.read.col_off <= first < stop <= tile.read.col_off + tile.read.width:
            return None
        return first, core_rows[:, :, first - tile.read.col_off:stop - tile.read.col_off].copy()


def band_first_buffer(bands: int, window: Window, dtype, pixel_major: bool) -> np.ndarray:
    """An uninitialised ``(bands, rows, cols)`` array for ``window``: band-major, or a view of a pixel-major array.

    rasterio's ``read(out=...)`` fills either (GDAL takes the buffer's strides).
    """
    rows, cols = int(window.height), int(window.width)
    if pixel_major:
        return np.empty((rows, cols, bands), dtype=dtype).transpose(2, 0, 1)
    return np.empty((bands, rows, cols), dtype=dtype)
