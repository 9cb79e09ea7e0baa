"""How much GDAL block cache a run asks for: almost none, unless a halo re-reads compressed blocks.

Why
---
Tiles are read with their detector's halo, so each file block is read by every tile whose
window touches it (up to nine).  An uncompressed block costs a copy from the page cache
each time, and GDAL keeping blocks only makes memory grow with the scene; a compressed
block is decompressed each time.  ``fusion`` (a 20-pixel halo) on a DEFLATE 1000 x 1000 x
200 GeoTIFF took 11.5 s with a 1 MiB cache and 5.9 s with this module's 307 MiB, at a peak
of 469 and 1114 MiB; uncompressed, 3.7 s either way (2-core VM, 2026-12-06).  Tiles go row by row,
so three rows of file blocks (the halo's row above, the tiles' own, the halo's row below)
is what a cache must hold for every block to be decompressed once.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .scene import SceneInfo

#: The cache (MiB) a run uses unless a halo detector reads a compressed file: no block is
#: kept from one tile to the next, so memory stays flat as scenes grow.
DEFAULT_MB = 1

#: The most an automatic cache may take, and at most a sixteenth of the machine's memory:
#: the process grows by about twice the cache (GDAL allocates block by block; 307 MiB of
#: cache raised the DEFLATE run's peak from 469 to 1114 MiB).  A scene whose three rows of
#: blocks need more keeps :data:`DEFAULT_MB` (and its speed).
AUTO_LIMIT_BYTES = 512 * 2**20


def physical_memory() -> int | None:
    """Bytes of memory of this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def halo_cache_bytes(info: SceneInfo, halo: int) -> int | None:
    """Bytes of block cache that hold three rows of a compressed file's blocks, or None.

    None when nothing would be read twice (no halo), nothing is decompressed, the file's
    blocks are unknown, or the cache would exceed :data:`AUTO_LIMIT_BYTES` or a sixteenth
    of the memory.

    Parameters
    ----------
    info : SceneInfo
    halo : int
        The detector's halo in pixels.

    Examples
    --------
    >>> info = SceneInfo("s.tif", 1000, 1000, 200, tuple(range(1, 201)), "int16", "band", (256, 256),
    ...                  compression="deflate")
    >>> halo_cache_bytes(info, 20) // 2**20
    307
    >>> halo_cache_bytes(info, 0) is None
    True
    """
    if halo <= 0 or info.compression is None or info.block_shape is None:
        return None
    rows, cols = info.block_shape
    # A pixel-interleaved block holds every band of the file; a band-interleaved one, one band.
    bands = info.band_count if info.interleave == "pixel" else len(info.bands)
    row_bytes = math.ceil(info.width / cols) * rows * cols * bands * np.dtype(info.dtype).itemsize
    need = 3 * row_bytes + row_bytes // 16 + 2**20  # GDAL's own bookkeeping per block, and a margin
    memory = physical_memory()
    limit = AUTO_LIMIT_BYTES if memory is None else min(AUTO_LIMIT_BYTES, memory // 16)
    return need if need <= limit else None
