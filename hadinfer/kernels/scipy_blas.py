"""SciPy's Cython BLAS module without ``scipy.linalg``, for the triangular product and for Numba.

Why: importing ``scipy.linalg`` imports all of SciPy's linear algebra (and, through its
array-API layer, parts of NumPy such as ``f2py``): 0.11 to 0.19 s on the main thread of a
fresh process, against 0.01 to 0.035 s for the one extension module hadinfer and Numba
need, ``scipy.linalg.cython_blas`` (2-core AMD VM, 2026-12-07).  A run paid it twice over:
``grx`` before its statistics pass, to get the triangular product
(:mod:`.triangular_energy`), and ``fusion``, ``learned`` and the networks when Numba loads
its NumPy support at the first call of a compiled kernel, whose BLAS check is ``import
scipy.linalg.cython_blas``; both threads of a 2-core run wait for that call.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path

_NAME = "scipy.linalg.cython_blas"


def scipy_cython_blas():
    """``scipy.linalg.cython_blas``, loaded from its file when ``scipy.linalg`` is not loaded yet.

    The module is left out of ``sys.modules``, so that a later ``import
    scipy.linalg.cython_blas`` goes through ``scipy.linalg`` as usual and sets the package's
    attribute (Cython then gives back this same module object).  When ``scipy.linalg`` is
    loaded already, or the file is not where SciPy keeps it, the usual import.

    Raises
    ------
    ImportError
        SciPy is not installed.
    """
    scipy = importlib.util.find_spec("scipy")
    if "scipy.linalg" not in sys.modules and _NAME not in sys.modules and scipy is not None and scipy.origin:
        folder = Path(scipy.origin).parent / "linalg"
        for path in (folder / f"cython_blas{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES):
            if not path.is_file():
                continue
            spec = importlib.util.spec_from_file_location(_NAME, path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except ImportError:
                break
            finally:
                if sys.modules.get(_NAME) is module:
                    del sys.modules[_NAME]
            return module
    from scipy.linalg import cython_blas

    return cython_blas


_first_dispatch = threading.Lock()
_numba_ready = False


def numba_ready() -> bool:
    """Whether a compiled kernel has been called in this process already (Numba and its NumPy support loaded)."""
    return _numba_ready


@contextlib.contextmanager
def numba_dispatch():
    """Around every call of a compiled kernel: the process's first lets Numba find SciPy's BLAS cheaply.

    At its first dispatch Numba loads its NumPy support, which checks for BLAS with
    ``import scipy.linalg.cython_blas``.  During that call only, the module stands in
    ``sys.modules`` (:func:`scipy_cython_blas`), so the import finds it without loading
    ``scipy.linalg``; it is taken out again afterwards (or, if another thread loaded
    ``scipy.linalg`` meanwhile, set as that package's attribute, as an import would).
    Other threads' first calls wait for it (they would wait for Numba's compile lock
    anyway).  Without SciPy, Numba's check fails as it would have.
    """
    global _numba_ready
    if _numba_ready:
        yield
        return
    with _first_dispatch:
        if _numba_ready:
            yield
            return
        module = None
        if "scipy.linalg" not in sys.modules and _NAME not in sys.modules:
            with contextlib.suppress(ImportError):  # no SciPy: Numba's own check says so
                module = sys.modules[_NAME] = scipy_cython_blas()
        try:
            yield
        finally:
            if module is not None and sys.modules.get(_NAME) is module:
                package = sys.modules.get("scipy.linalg")
                if package is None:
                    del sys.modules[_NAME]
                elif not hasattr(package, "cython_blas"):  # loaded meanwhile, past this module
                    package.cython_blas = module
            _numba_ready = True
