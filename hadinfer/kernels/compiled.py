"""Whether the compiled kernels run: Numba installed (extra ``fast``) and not turned off."""

from __future__ import annotations

import importlib.util
import os


def compiled_kernels() -> bool:
    """Whether the compiled kernels (:mod:`.ring_sums_compiled`, :mod:`.gelu_compiled`) run.

    They do when Numba is installed (extra ``fast``) unless ``HADINFER_COMPILED=0``;
    otherwise NumPy does the same arithmetic, slower.
    """
    return os.environ.get("HADINFER_COMPILED", "1") != "0" and importlib.util.find_spec("numba") is not None
