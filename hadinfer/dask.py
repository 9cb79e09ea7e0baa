"""hadinfer for Dask and xarray users (extra ``dask``): lazy anomaly maps of dask arrays and DataArrays.

>>> import hadinfer.dask  # doctest: +SKIP
>>> scores = hadinfer.dask.detect(cube, detector="lrx", inner=5, outer=21)  # doctest: +SKIP
>>> scores.compute()  # doctest: +SKIP

This module is the user-facing facade and the import users are told to write; the code lives
in :mod:`hadinfer.distributed.dask_arrays`, beside the rest of the cluster machinery.

Files are better served by ``hadinfer detect --scheduler`` (or
:func:`hadinfer.distributed.strip_detect.detect_strips`), which reads each strip on the
worker that scores it and writes one GeoTIFF with the input's georeferencing.
"""

from __future__ import annotations

from .distributed.dask_arrays import background_stats
from .distributed.dask_arrays import detect_array as detect

__all__ = ["background_stats", "detect"]
