"""BLAS threads while tiles are scored in parallel: one each, not one per core each.

Why
---
Tile-parallel detectors score one tile per core at once; each tile's matrix products
then asked OpenBLAS for one thread per core too, so a 2-core machine ran four BLAS
threads plus the reading and writing ones, and they waited on each other.  With one
BLAS thread per scoring thread ``fusion`` took 4.3 s instead of 5.9, and ``lrx`` 3.5
instead of 4.4, on a 1024 x 1024 x 200 scene (2-core Intel VM, 2026-12-06).

OpenBLAS's thread count is process-wide, so the limit holds for the whole run and is
lifted when it ends.  threadpoolctl (the ``fast`` extra) finds and sets it for whichever
BLAS NumPy loaded, and for SciPy's, which global RX's triangular product uses on large
scenes (:mod:`hadinfer.kernels.triangular_energy`; the pipeline loads it first).  Without
threadpoolctl the pipeline scores one tile at a time with every BLAS thread: with both
unlimited, two workers were slower than one (``fusion`` 5.3 s against 5.0, ``lrx`` 3.9
against 3.6; one worker and one BLAS thread each, 3.6 and 2.8).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def cpu_cores() -> int:
    """Cores this process may run on (its affinity, as a container or ``taskset`` sets it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def can_limit_blas() -> bool:
    """Whether :func:`blas_threads` can set a limit (threadpoolctl is installed)."""
    return importlib.util.find_spec("threadpoolctl") is not None


def tile_workers(device: str, tile_parallel: bool) -> int:
    """Tiles to score at once: one per core on the CPU for a ``tile_parallel`` detector when
    BLAS can be held to one thread per tile, else one.

    Examples
    --------
    >>> tile_workers("cuda:0", True)
    1
    """
    if device != "cpu" or not tile_parallel or not can_limit_blas():
        return 1
    return cpu_cores()


#: Runs inside :func:`blas_threads` now, and the limiter the first of them set.
_HOLDERS = {"count": 0, "limiter": None}
_LOCK = threading.Lock()


@contextmanager
def blas_threads(limit: int | None) -> Iterator[bool]:
    """Limit BLAS to ``limit`` threads inside the block; ``None`` leaves it alone.

    Runs in several threads of one process (a service calling :func:`hadinfer.detect`
    concurrently) share one limit: the first to enter sets it and the last to leave
    restores what was there before, so no run can leave BLAS limited after the others.

    Yields
    ------
    bool
        Whether a limit is in force (False without threadpoolctl or with ``None``).
    """
    if limit is None or not can_limit_blas():
        yield False
        return
    from threadpoolctl import threadpool_limits

    with _LOCK:
        if _HOLDERS["count"] == 0:
            _HOLDERS["limiter"] = threadpool_limits(limits=limit, user_api="blas")
        _HOLDERS["count"] += 1
    try:
        yield True
    finally:
        with _LOCK:
            _HOLDERS["count"] -= 1
            if _HOLDERS["count"] == 0:
                limiter, _HOLDERS["limiter"] = _HOLDERS["limiter"], None
                limiter.restore_original_limits()
