"""Tile arithmetic: pure functions over a small frozen :class:`Tile` value, no I/O.

A tile is two :class:`rasterio.windows.Window` values: the core it scores and the
window it reads.

Edge policy
-----------
Tiles cover the image in row-major order; the last tile of a row or column is
*truncated* (smaller), never shifted or padded.  Each tile carries a read window
that extends its core by ``halo`` pixels on every side, *clipped to the image*:
detectors see image borders as missing pixels, exactly as they would on a single
whole-image tile, which is what makes the stitched map independent of tile size.
``halo`` must cover the detector's footprint (for dual-window RX, ``outer // 2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rasterio.windows import Window

from .errors import ParameterError
from .pairs import as_pair


@dataclass(frozen=True)
class Tile:
    """One tile: the core written to the map, and the window read to compute it.

    Both are :class:`rasterio.windows.Window` values in image pixels with integer
    offsets and lengths, so they go to ``DatasetReader.read(window=...)`` and
    ``Window.toslices()`` as they are.

    Attributes
    ----------
    core : rasterio.windows.Window
        Output pixels.
    read : rasterio.windows.Window
        Core plus halo, clipped to the image; it contains ``core``.

    Examples
    --------
    >>> t = Tile(core=Window(4, 6, 3, 2), read=Window(2, 4, 6, 6))
    >>> t.core_in_read
    (slice(2, 4, None), slice(2, 5, None))
    >>> t.pixels
    6
    """

    core: Window
    read: Window

    @property
    def core_in_read(self) -> tuple[slice, slice]:
        """Slices that cut the core out of an array shaped like the read window."""
        top = self.core.row_off - self.read.row_off
        left = self.core.col_off - self.read.col_off
        return slice(top, top + self.core.height), slice(left, left + self.core.width)

    @property
    def pixels(self) -> int:
        """Core pixel count."""
        return self.core.height * self.core.width


def aligned_tile_shape(tile_size, image_shape, block_shape=None) -> tuple[int, int]:
    """Round a tile size up to whole file blocks so no block is decoded twice.

    Parameters
    ----------
    tile_size : int or (int, int)
        Requested (rows, cols).
    image_shape : (int, int)
        Image (rows, cols); tiles never exceed it.
    block_shape : (int, int), optional
        The file's internal block (rows, cols).  A dimension whose block spans the
        whole image (strips) is left as requested.

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> aligned_tile_shape(100, (1000, 1000), (256, 256))
    (256, 256)
    >>> aligned_tile_shape(100, (1000, 1000), (1, 1000))
    (100, 100)
    """
    tile = as_pair(tile_size, "tile_size")
    out = []
    for size, image, block in zip(tile, image_shape, block_shape or (1, 1)):
        if 1 < block < image:
            size = math.ceil(size / block) * block
        out.append(min(size, image))
    return tuple(out)  # type: ignore[return-value]


def count_tiles(image_shape, tile_shape) -> int:
    """Number of tiles :func:`tile_windows` yields.

    Examples
    --------
    >>> count_tiles((100, 250), (64, 64))
    8
    """
    return math.ceil(image_shape[0] / tile_shape[0]) * math.ceil(image_shape[1] / tile_shape[1])


def tile_windows(image_shape, tile_shape, halo: int = 0, min_read: int = 1) -> list[Tile]:
    """Cover an image with tiles plus a halo.

    Parameters
    ----------
    image_shape : (int, int)
        Image (rows, cols).
    tile_shape : int or (int, int)
        Core tile (rows, cols); see :func:`aligned_tile_shape`.
    halo : int
        Context pixels read on each side (clipped to the image).
    min_read : int
        Read windows are widened inward (see :func:`grow_span`) to at least this many
        rows and columns where the image has them, e.g. for a TensorRT engine whose
        profile has a minimum size; a truncated edge tile then reads more context.

    Returns
    -------
    list of Tile
        Row-major; cores partition the image exactly.

    Examples
    --------
    >>> t = tile_windows((10, 10), 6, halo=2)
    >>> [(x.core.toranges()[0], x.read.toranges()[0]) for x in t[::2]]
    [((0, 6), (0, 8)), ((6, 10), (4, 10))]
    >>> t[0]
    Tile(core=Window(col_off=0, row_off=0, width=6, height=6), read=Window(col_off=0, row_off=0, width=8, height=8))
    """
    rows, cols = as_pair(image_shape, "image_shape", scalar=False)
    tile_rows, tile_cols = as_pair(tile_shape, "tile_shape")
    if not isinstance(halo, int) or halo < 0:
        raise ParameterError(f"halo: expected a non-negative int, got {halo!r}")
    tiles = []
    for r in range(0, rows, tile_rows):
        h = min(tile_rows, rows - r)
        r0, r1 = grow_span(max(0, r - halo), min(rows, r + h + halo), min_read, 0, rows)
        for c in range(0, cols, tile_cols):
            w = min(tile_cols, cols - c)
            c0, c1 = grow_span(max(0, c - halo), min(cols, c + w + halo), min_read, 0, cols)
            tiles.append(Tile(core=Window(c, r, w, h), read=Window(c0, r0, c1 - c0, r1 - r0)))
    return tiles


def grow_span(start: int, stop: int, minimum: int, lower: int, upper: int) -> tuple[int, int]:
    """Widen ``[start, stop)`` to at least ``minimum`` long inside ``[lower, upper)``.

    It grows toward ``upper`` first, then toward ``lower``; it stays inside the bounds,
    so the result is shorter than ``minimum`` only when the bounds are.

    Examples
    --------
    >>> grow_span(90, 100, 16, 0, 100)
    (84, 100)
    >>> grow_span(0, 5, 16, 0, 10)
    (0, 10)
    """
    if stop - start >= minimum:
        return start, stop
    stop = min(upper, start + minimum)
    return max(lower, stop - minimum), stop


def limit_tile_shape(tile_shape, max_core: int | None) -> tuple[int, int]:
    """Cap a tile's core at ``max_core`` a side (a runtime's largest input less its context).

    Examples
    --------
    >>> limit_tile_shape((512, 256), 500)
    (500, 256)
    """
    rows, cols = as_pair(tile_shape, "tile_shape", scalar=False)
    if max_core is None:
        return rows, cols
    if max_core < 1:
        raise ParameterError(f"max_core: expected >= 1, got {max_core}")
    return min(rows, max_core), min(cols, max_core)
