"""GELU, the feature network's activation: NumPy, or one compiled pass when Numba is installed."""

from __future__ import annotations

import numpy as np

from .compiled import compiled_kernels

#: Chebyshev coefficients of ``erfcc`` (Numerical Recipes), highest order first.
_ERFC = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
         1.00002368, -1.26551223)


def gelu(x: np.ndarray, compiled: bool | None = None) -> np.ndarray:
    """PyTorch's exact GELU, ``x * Phi(x)``, of a float array.

    float32 arrays go through the compiled kernel (:mod:`.gelu_compiled`) when
    ``compiled`` (default: when :func:`~.compiled.compiled_kernels` allows it), anything
    else through :func:`gelu_numpy`.
    Both agree with PyTorch's float64 GELU to float32 rounding (4e-7 absolute for values
    of order 1); they may differ from each other in the last bits.

    Parameters
    ----------
    x : ndarray of float32 or float64
    compiled : bool, optional
        The caller's choice for its scene (:func:`~.compiled.compiled_pays`).

    Returns
    -------
    ndarray
        A new array of ``x``'s shape and dtype.
    """
    if x.dtype == np.float32 and compiled is not False and compiled_kernels():  # never without Numba
        from .gelu_compiled import gelu_float32
        from .scipy_blas import numba_dispatch

        values = np.ascontiguousarray(x).reshape(-1)
        with numba_dispatch():
            return gelu_float32(values, np.empty_like(values)).reshape(x.shape)
    return gelu_numpy(x)


def gelu_numpy(x: np.ndarray) -> np.ndarray:
    """:func:`gelu` in NumPy.

    NumPy has no ``erf``; ``Phi`` comes from the Chebyshev-fitted complementary error
    function of Numerical Recipes (``erfcc``, fractional error below 1.2e-7 everywhere),
    which is below float32 resolution, so the NumPy and PyTorch networks agree to float32
    rounding.  Evaluated in place in three buffers.

    Examples
    --------
    >>> import numpy as np
    >>> [round(float(v), 6) for v in gelu_numpy(np.array([-1.0, 0.0, 2.0]))]
    [-0.158655, 0.0, 1.9545]
    """
    z = np.abs(x)
    z /= np.sqrt(2.0)
    t = z * 0.5
    t += 1.0
    np.reciprocal(t, out=t)
    tail = np.full_like(z, _ERFC[0])
    for coefficient in _ERFC[1:]:  # Horner
        tail *= t
        tail += coefficient
    with np.errstate(over="ignore"):  # |x| above 1e19: z * z is inf, exp(-inf) is 0, Phi is 0 or 1
        z *= z
    tail -= z
    np.exp(tail, out=tail)
    tail *= t  # erfc(|x| / sqrt 2)
    tail *= 0.5  # P(N(0, 1) > |x|)
    np.subtract(1.0, tail, out=tail, where=x >= 0)  # Phi(x)
    tail *= x
    return tail
