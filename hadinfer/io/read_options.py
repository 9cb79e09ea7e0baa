"""GDAL configuration a run reads scenes with: windows straight from the file, past GDAL's block cache.

Why
---
A run reads each window once per pass and keeps nothing (its block cache is 1 MiB, see
:mod:`hadinfer.io.block_cache`), so GDAL's caching paths only cost copies:

- ``GTIFF_DIRECT_IO``: uncompressed GeoTIFFs read straight into the window's buffer.  What
  lets pixel-interleaved ones be read pixel-major (``RasterioScene._pixel_major``): ``grx``
  on a 1024 x 1024 x 200 int16 tiled ``INTERLEAVE=PIXEL`` file 2.41 -> 1.63 s, ``fusion``
  4.98 -> 2.75 s; band-interleaved files unchanged (2-core Intel VM, 2026-12-08,
  ``benchmarks/results/intel-xeon-2cpu-2026-12-08-pixel-major-ab/``).
- ``GDAL_ONE_BIG_READ``: raw files (ENVI, EHdr...) read a window's part of each line instead
  of whole lines through the cache; a 256-pixel-wide window of a 1024-pixel-wide scene
  otherwise copied every line of every band it touched whole, four times over a row of
  windows.  ENVI BIL and BSQ copies of the same scene: ``grx`` 3.35 -> 2.6 s and 2.75 ->
  2.2 s (ad hoc, same machine and day).

Neither changes a pixel read; a user's own setting of either (an environment variable, or
a ``rasterio.Env`` around the call) is kept.
"""

from __future__ import annotations

#: GDAL configuration options a run sets to YES unless they are set already.
DIRECT_READS = ("GTIFF_DIRECT_IO", "GDAL_ONE_BIG_READ")


def direct_read_options() -> dict[str, str]:
    """The :data:`DIRECT_READS` options GDAL has no value for yet, each ``"YES"`` (for ``rasterio.Env``)."""
    from rasterio._env import get_gdal_config  # what GDAL sees: environment variables and rasterio.Env alike

    return {name: "YES" for name in DIRECT_READS if get_gdal_config(name) is None}
