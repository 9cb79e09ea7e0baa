"""Keep a long run's resident memory flat: one glibc malloc arena, and freed memory given back.

Why
---
glibc gives each thread that allocates its own arena (up to eight per core) and rarely
returns freed arena memory to the system.  A run's reading, scoring and writing threads
allocate tile-sized scratch in turn, so each arena grows to its own high-water mark and
the process's peak crept up with the scene: ``lrx`` on a 200-band int16 scene peaked at
615 MiB at 1 megapixel and 705 MiB at 4 (issue 19 asks for flat).  With one arena it was
545 and 569 MiB, in the same time (4.8 s and 17.5 s against 4.9 s and 17.1 s; 2-core
Intel VM, 2026-12-06).  Large arrays are ``mmap``-ed whatever the arena count, so the
shared arena's lock is taken a few times per tile, not per pixel.  Giving free arena
pages back every few tiles (:func:`release_free_memory`, which the pipeline calls) kept
``fusion`` at 564 MiB at 1 megapixel and 583 at 4 (one arena alone: 566 and 619; neither:
633 and 698), again in the same time.  Forcing every array above 4 MiB to its own
``mmap`` instead was flatter still (542 and 550 MiB) but 5 % slower: fresh pages fault.

The setting is process-wide, so only the ``hadinfer`` command (which owns its process)
applies it; a program embedding :func:`hadinfer.detect` may call
:func:`limit_malloc_arenas` itself, or set ``MALLOC_ARENA_MAX`` in the environment.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

#: ``M_ARENA_MAX`` from glibc's ``malloc.h``.
_M_ARENA_MAX = -8


@functools.cache
def _glibc():
    """glibc, or None (another platform or C library, whose allocator has other knobs)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: mallopt differs or is a stub
            return None
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = 1) -> bool:
    """Ask glibc's allocator to use at most ``arenas`` arenas from now on.

    Call it early, before threads allocate: arenas made before the call remain.
    Nothing happens where the C library is not glibc, or when ``MALLOC_ARENA_MAX`` is
    set in the environment (the user's choice wins).

    Parameters
    ----------
    arenas : int
        At least 1.

    Returns
    -------
    bool
        Whether the limit was set.

    Raises
    ------
    ValueError
        If ``arenas`` is below 1.
    """
    if arenas < 1:
        raise ValueError(f"arenas: expected at least 1, got {arenas!r}")
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return libc.mallopt(_M_ARENA_MAX, int(arenas)) == 1


def release_free_memory() -> None:
    """Give the allocator's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Only memory already freed is affected, so any process may call it; it costs well
    under a millisecond on a run's heap.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
