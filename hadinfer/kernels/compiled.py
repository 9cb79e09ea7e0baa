"""Whether the compiled kernels run: Numba installed (extra ``fast``), allowed, and worth loading.

Why a scene size decides
------------------------
Loading Numba and its cached kernels costs a fresh process about 0.4 to 0.6 s of one
core (importing Numba, then its first dispatch, which loads its NumPy support and
registries) and 80 to 90 MiB, whatever the scene, and its shutdown 0.2 to 0.3 s more
(0.04 s since the command freezes the garbage collector first: :func:`hadinfer.cli.main.main`).
The compiled ring kernel earns that back only on scenes with enough ring work: the whole
``hadinfer detect`` command with ``HADINFER_COMPILED=0`` and ``1``, alternating, before
that freeze, on the 2-core AMD VM (2026-12-07; int16 synthetic scenes of 200 bands
unless named):

=========================  ================  =================  ==========
``fusion`` on               NumPy kernels, s  compiled, s        pixels x pairs
=========================  ================  =================  ==========
abu-airport-1 (100 x 100)  0.69              1.30               2**14.3
256 x 256                  0.88              1.22               2**17
384 x 384                  1.28              1.52               2**18.2
512 x 512                  1.70              1.57               2**19
640 x 640                  2.24              2.10               2**19.6
1024 x 1024                4.85              3.73               2**21
=========================  ================  =================  ==========

(medians of 4 to 6 runs each).  ``general`` and ``learned`` (four window pairs a pixel)
crossed over between 256 x 256 and 512 x 512.  So a scene takes the compiled kernels
from :data:`COMPILED_MIN_PIXEL_PAIRS` pixels times ring window pairs up: for the ring
kernels the pixels its statistics pass read, valid or not (they score whole tiles, so a
large scene that is mostly nodata still has their work), for ``learned``'s GELU its valid
pixels.  Every tile of a run takes the same path.

The ring kernels give the same bits either way (``tests/kernels/test_ring_sums.py``), so
they also run compiled, whatever the scene, in a process that has called a compiled
kernel before or that expects many scenes (:func:`expect_scenes`; ``hadinfer detect
--output-dir`` says how many it has): such a process pays the load once, and the NumPy
ring kernel is the slower one per pixel (:data:`MANY_SCENES`).  ``learned``'s GELU agrees
with NumPy's only to float32 rounding, so its choice depends on the scene alone, never on
what the process ran before: a map's bits never do.
"""

from __future__ import annotations

import importlib.util
import os

from .scipy_blas import numba_ready

#: Pixels times the window pairs each is scored at, from which a scene's ring statistics
#: (and ``learned``'s GELU) run compiled: a ``fusion`` scene of 512 x 512 pixels.
COMPILED_MIN_PIXEL_PAIRS = 2**19

#: Scenes from which a process's ring kernels run compiled whatever their size
#: (:func:`expect_scenes`).  Numba's load and shutdown cost about 0.7 s once; the NumPy ring
#: kernel costs each 100 x 100 to 150 x 150 scene 0.01 to 0.04 s more with ``fusion`` (0.024
#: on average over the seven confirmation files) and 0.02 to 0.10 s with ``learned`` (0.049),
#: in a process that has Numba loaded (best of 5 each, 2-core AMD VM, 2026-12-07), and larger
#: scenes below the threshold more: about 15 such scenes pay for the load.
MANY_SCENES = 16

_many_scenes = False


def expect_scenes(count: int) -> None:
    """Say that this process will score ``count`` scenes (a batch).

    From :data:`MANY_SCENES` up, the ring kernels, which give the same bits either way,
    run compiled for every scene from now on: Numba is then loaded once for all of them.
    ``learned``'s GELU keeps its choice by scene size, so no map changes.
    """
    global _many_scenes
    _many_scenes = _many_scenes or count >= MANY_SCENES


def compiled_kernels() -> bool:
    """Whether the compiled kernels (:mod:`.ring_sums_compiled`, :mod:`.gelu_compiled`) may run.

    They may when Numba is installed (extra ``fast``) unless ``HADINFER_COMPILED=0``;
    otherwise NumPy does the same arithmetic, slower.
    """
    return os.environ.get("HADINFER_COMPILED", "") != "0" and importlib.util.find_spec("numba") is not None


def compiled_pays(pixel_pairs: int, *, same_bits: bool = False) -> bool:
    """Whether a scene with ``pixel_pairs`` pixels times ring window pairs runs the compiled kernels.

    From :data:`COMPILED_MIN_PIXEL_PAIRS` up, when :func:`compiled_kernels` allows them;
    ``HADINFER_COMPILED=1`` runs them for every scene (and ``0`` for none).

    Parameters
    ----------
    pixel_pairs : int
    same_bits : bool
        The kernels asked about give the same bits compiled or not (the ring kernels):
        then also yes, whatever the scene, once this process has called a compiled kernel
        or expects many scenes (:func:`expect_scenes`).
    """
    if not compiled_kernels():
        return False
    if os.environ.get("HADINFER_COMPILED", "") == "1" or pixel_pairs >= COMPILED_MIN_PIXEL_PAIRS:
        return True
    return same_bits and (_many_scenes or numba_ready())
