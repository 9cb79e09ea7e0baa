"""How much GDAL block cache a run asks for: almost none, unless a halo re-reads compressed blocks.

Why
---
Tiles are read with their detector's halo, so each file block is read by every tile whose
window touches it (nine, for 256-pixel tiles on 256-pixel blocks; four since the tiles of a
row share their reads, :mod:`hadinfer.io.halo_reads`).  An uncompressed block costs a copy
from the page cache each time, and GDAL keeping blocks only makes memory grow
with the scene; a compressed block is decompressed each time.  A cache holding the blocks
of one read window lets the next tile along the row find most of its own there (6 of 9),
and its size does not depend on the scene.  ``fusion`` (a 20-pixel halo) on DEFLATE
GeoTIFFs of 200 bands in 256-pixel blocks, 2-core VM, 2026-12-06: 1000 x 1000, 11.5 s with
a 1 MiB cache, 6.1 s with 240 MiB (a window's nine block columns of every band), 5.9 s with
three whole rows of blocks (307 MiB); 2000 x 2000, 45.9 s and 24.8 s (240 MiB), peak 470
and 778 MiB.  Uncompressed, 3.7 s either way.  With shared reads (2026-12-07, 1024 x 1024):
7.1 s with 1 MiB, 6.6 s with 60 MiB, 5.4-5.7 s with 240 MiB, so the cache still pays.
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
#: the process grows by up to twice the cache (GDAL allocates block by block; 240 MiB of
#: cache raised a DEFLATE run's peak from 470 to 778 MiB, 307 MiB from 469 to 1114).  A
#: scene whose window of blocks needs more keeps :data:`DEFAULT_MB` (and its speed).
AUTO_LIMIT_BYTES = 512 * 2**20


def physical_memory() -> int | None:
    """Bytes of memory of this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def halo_cache_bytes(info: SceneInfo, halo: int, tile: int = 256) -> int | None:
    """Bytes of block cache that hold every block of one tile's read window of a compressed file, or None.

    None when nothing would be read twice (no halo), nothing is decompressed, the file's
    blocks are unknown, or the cache would exceed :data:`AUTO_LIMIT_BYTES` or a sixteenth
    of the memory.

    Parameters
    ----------
    info : SceneInfo
    halo : int
        The detector's halo in pixels.
    tile : int
        The core tile's side in pixels.

    Examples
    --------
    >>> info = SceneInfo("s.tif", 1000, 1000, 200, tuple(range(1, 201)), "int16", "band", (256, 256),
    ...                  compression="deflate")
    >>> halo_cache_bytes(info, 20) // 2**20  # 3 x 3 blocks of 200 bands, 128 KiB each
    240
    >>> halo_cache_bytes(info, 0) is None
    True
    """
    if halo <= 0 or info.compression is None or info.block_shape is None:
        return None
    rows, cols = info.block_shape
    # A pixel-interleaved block holds every band of the file; a band-interleaved one, one band.
    bands = info.band_count if info.interleave == "pixel" else len(info.bands)
    side = tile + 2 * halo  # a read window, at the worst alignment on the blocks
    spanned = min(math.ceil(side / rows) + 1, math.ceil(info.height / rows)) * \
        min(math.ceil(side / cols) + 1, math.ceil(info.width / cols))
    window_bytes = spanned * rows * cols * bands * np.dtype(info.dtype).itemsize
    need = window_bytes + window_bytes // 16 + 2**20  # GDAL's own bookkeeping per block, and a margin
    memory = physical_memory()
    limit = AUTO_LIMIT_BYTES if memory is None else min(AUTO_LIMIT_BYTES, memory // 16)
    return need if need <= limit else None
