"""``||x @ P||^2`` per row with half the multiplications: a triangular product in place of ``P``.

Why
---
Global RX's energy is the squared norm of each whitened spectrum, and a norm does not
change when the whitened axes are rotated: with ``P^T = Q R`` (QR, ``Q`` orthogonal),
``x @ P = x @ R^T @ Q^T`` and ``||x @ P|| = ||x @ R^T||``.  ``R^T`` is lower triangular, so
BLAS's triangular product (``trmm``) forms it with about half the multiplications of the
dense product.  Scoring a 256 x 256 x 200 int16 window with ``grx`` took 31 ms instead of
57 on one thread, a 296 x 296 ``fusion`` tile 84 ms instead of 113 (2-core Intel VM,
2026-12-07).  NumPy has no triangular product, so it comes from SciPy's BLAS (extras
``fast`` and ``mat``); without SciPy the energy keeps NumPy's dense product with the
projection itself: the same scores to float32 rounding, at the old speed.

Loading SciPy cost about 0.2 s of CPU (0.12 s of wall time) once per process, which a
small scene never earned back: a ``grx`` run on a 128 x 128 x 100 scene took 0.26 s instead
of 0.14 in a fresh process.  So a scene gets the triangular product only from
:data:`TRIANGULAR_MIN_VALUES` up (:func:`energy_factor_for`); smaller ones keep the dense
product, and SciPy is never loaded for them.  Since SciPy's BLAS is loaded without
``scipy.linalg`` (:mod:`.scipy_blas`, 0.01 to 0.035 s) the threshold is 16 times lower.

A row's result does not depend on the other rows in the call (measured: OpenBLAS gives
the same bits for any row count), and every block is multiplied column-major, so a
pixel's energy is the same whichever tile, core or block of rows it is scored in, and
whichever way its scene lays out bands.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util

import numpy as np

from .scipy_blas import scipy_cython_blas


#: Pixel-band values from which a scene's energy goes through the triangular product: about
#: 0.04 megapixels at 200 bands.  It was 2**27 (0.67 megapixels) while loading SciPy took 0.12
#: s; with the extension module alone, on a 384 x 384 x 200 int16 scene ``fusion`` took 0.85 s
#: instead of 0.96 (median of 12 paired runs, faster in all 12) and ``grx`` the same, and on
#: 256 x 256 x 200 both were within noise (2-core AMD VM, 2026-12-07,
#: ``benchmarks/results/amd-epyc-2cpu-2026-12-07-triangular-threshold-ab/``).  Every labelled
#: and unlabelled file in ``../shared/data`` is below it, so their maps kept their bits.
TRIANGULAR_MIN_VALUES = 2**23


def energy_factor_for(projection: np.ndarray, pixels: int) -> np.ndarray | None:
    """:func:`energy_factor` of ``projection`` if a scene of ``pixels`` valid pixels takes the triangular product.

    None otherwise: the dense product.

    It does when it has :data:`TRIANGULAR_MIN_VALUES` values or more and SciPy is installed
    (:func:`triangular_pays`).  The choice depends on the scene alone, so every tile of a
    run, and every run of the scene, takes the same product.
    """
    return energy_factor(projection) if triangular_pays(pixels * projection.shape[0]) else None


def triangular_pays(values: int) -> bool:
    """Whether a scene of ``values`` pixel-band values gets the triangular product (loads SciPy's BLAS if so)."""
    return values >= TRIANGULAR_MIN_VALUES and triangular_blas()


def energy_factor(projection: np.ndarray) -> np.ndarray:
    """A lower-triangular ``(B, B)`` matrix ``L`` with ``||x @ L|| == ||x @ projection||`` for every ``x``.

    Parameters
    ----------
    projection : ndarray, shape (B, k)
        Any rank; the QR runs in float64.

    Returns
    -------
    ndarray, shape (B, B), Fortran order, of ``projection``'s dtype
        ``R^T`` of ``projection^T = Q R``, columns beyond ``min(B, k)`` zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> projection, x = rng.normal(size=(6, 4)), rng.normal(size=(3, 6))
    >>> factor = energy_factor(projection)
    >>> bool(np.allclose(np.triu(factor, 1), 0.0))
    True
    >>> bool(np.allclose(((x @ factor) ** 2).sum(1), ((x @ projection) ** 2).sum(1)))
    True
    """
    bands, rank = projection.shape
    factor = np.zeros((bands, bands), dtype=projection.dtype, order="F")
    if rank:
        upper = np.linalg.qr(projection.astype(np.float64).T, mode="r")  # (min(k, B), B)
        factor[:, :upper.shape[0]] = upper.T
    return factor


def triangular_energy(block: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``||row @ factor||^2`` for each row of ``block``, overwriting ``block``.

    Parameters
    ----------
    block : ndarray, shape (n, B)
        float32 or float64, either memory order; its values are destroyed (it is a
        scratch copy of centred spectra).
    factor : ndarray, shape (B, B)
        From :func:`energy_factor`, of ``block``'s dtype, Fortran order.

    Returns
    -------
    ndarray, shape (n,), of ``block``'s dtype
    """
    trmm = _trmm(block.dtype)
    if trmm is None:
        product = block @ factor
        return np.einsum("ij,ij->i", product, product)
    rows, bands = block.shape
    size = block.itemsize
    if not (block.flags.writeable and block.strides[0] == size and block.strides[1] % size == 0
            and block.strides[1] >= rows * size):
        # A row-major block (pixel-major windows) is copied column-major first (0.6 ms for
        # 4096 x 200): the sum below rounds the same only over the same layout, and this
        # keeps a map's bits independent of how its scene lays out bands.  A column-major
        # view with spaced columns (part of a larger block) is multiplied where it lies; a
        # read-only one is copied (BLAS writes the product over its input).
        block = np.array(block, order="F")
    if rows == 0:
        return np.zeros(0, dtype=block.dtype)
    trmm(rows, bands, factor, block, block.strides[1] // size)  # block := block @ factor
    if rows == 1:
        # One row is C- as well as F-contiguous, and NumPy then sums it in another order:
        # summed as two rows, it rounds as it would among others.
        block = np.asfortranarray(np.repeat(block, 2, axis=0))
        return np.einsum("ij,ij->i", block, block)[:1]
    return np.einsum("ij,ij->i", block, block)


def triangular_blas() -> bool:
    """Whether the triangular product runs in BLAS (SciPy installed); loads SciPy's BLAS if so.

    The pipeline loads it before it limits BLAS threads, for the scenes that will use it
    (:func:`triangular_pays`): threadpoolctl limits the BLAS libraries loaded when the
    limit is set, and SciPy's wheels bring their own OpenBLAS, which would otherwise start
    later with a thread per core beside every scoring thread (:mod:`hadinfer.cpu_threads`).
    """
    return _trmm(np.dtype(np.float32)) is not None


@functools.lru_cache(maxsize=None)
def _trmm(dtype):
    """``trmm(rows, bands, factor, block, ldb)``: ``block := block @ factor`` in BLAS, the GIL released.

    None without SciPy (or with a SciPy whose BLAS takes other arguments).

    Why not ``scipy.linalg.blas.strmm``: its wrapper holds the GIL for the whole product,
    so the two scoring threads of a 2-core machine took turns (two threads doing twice the
    work took 2.5x as long as one; NumPy's products, which release it, 1.15x).  SciPy's
    public Cython BLAS (``scipy.linalg.cython_blas``) exports the same routine as a C
    function pointer; ctypes calls it with the GIL released.
    """
    if dtype not in (np.float32, np.float64) or importlib.util.find_spec("scipy") is None:
        return None
    cython_blas = scipy_cython_blas()

    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    capsule = cython_blas.__pyx_capi__["strmm" if dtype == np.float32 else "dtrmm"]
    # Prototypes of their own, so ctypes.pythonapi's shared functions are left as they were.
    get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(("PyCapsule_GetName", ctypes.pythonapi))
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))
    name = get_name(capsule)
    if not name.startswith(b"void (char *, char *, char *, char *, int *, int *, "):
        return None  # another calling convention (64-bit integers?) than the one below: NumPy's product instead
    integer = ctypes.POINTER(ctypes.c_int)
    # void ?trmm(char *side, char *uplo, char *transa, char *diag, int *m, int *n,
    #            real *alpha, real *a, int *lda, real *b, int *ldb): Fortran's B := alpha B op(A)
    blas_trmm = ctypes.CFUNCTYPE(None, *[ctypes.c_char_p] * 4, integer, integer, ctypes.POINTER(real),
                                 ctypes.c_void_p, integer, ctypes.c_void_p, integer)(
        get_pointer(capsule, name))
    right, lower, plain, general = b"R", b"L", b"N", b"N"
    one = real(1.0)

    def trmm(rows: int, bands: int, factor: np.ndarray, block: np.ndarray, ldb: int) -> None:
        if not (factor.flags.f_contiguous and factor.dtype == block.dtype and factor.shape == (bands, bands)):
            raise ValueError("factor: expected a Fortran-ordered (B, B) matrix of the block's dtype")
        m, n, lda, ld = (ctypes.c_int(v) for v in (rows, bands, bands, ldb))
        blas_trmm(right, lower, plain, general, ctypes.byref(m), ctypes.byref(n), ctypes.byref(one),
                  factor.ctypes.data, ctypes.byref(lda), block.ctypes.data, ctypes.byref(ld))
    return trmm
