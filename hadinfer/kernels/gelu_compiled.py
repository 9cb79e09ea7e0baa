"""The feature network's GELU in one compiled pass over float32 values (Numba, extra ``fast``).

NumPy's GELU (:func:`hadinfer.kernels.gelu.gelu_numpy`) streams the array through memory
about twenty times (a Horner step per coefficient, an ``exp``, the sign select) and was
the ``learned`` detector's costliest step: 3.0 ms per 4096 x 64 block on one thread of
the Intel VM, two such blocks per pixel group.  Here each value goes through the same
formula once, in registers, in 0.6 ms (2026-12-06).

Why it is written out rather than calling ``math.exp``: a call to libm's ``expf`` keeps
the loop scalar (2.9 ms, no faster than NumPy).  ``exp`` is instead the usual
Cody-Waite reduction ``y = r - m ln 2`` with ``|r| <= ln 2 / 2``, a degree-7 Taylor
polynomial for ``exp(r)`` (truncation below 6e-9, under float32's rounding) and the factor
``2**-m`` formed exactly as a product of one power of two per bit of ``m``.
Every step is a plain float32 add, multiply, divide or select, so the loop vectorises.

Why no ``fastmath``: without it LLVM may not contract ``a * b + c`` into a fused
multiply-add, nor approximate the division, in the vectorised body or the scalar
remainder, so both round every value identically: a value's GELU does not depend on
where it sits in the array, which keeps the ``learned`` map the same bits whatever the
tile size.  (Allowing contraction was 0.4 ms instead of 0.6; not worth that guarantee.)
``error_model="numpy"`` drops Python's zero-division check, which also blocks
vectorisation; the only divisor is at least 1.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .gelu import _ERFC

_F = np.float32

#: Numerical Recipes' ``erfcc`` coefficients (the NumPy path's), highest order first, in float32.
_ERFCC = tuple(_F(c) for c in _ERFC)
_RSQRT2 = _F(1.0 / math.sqrt(2.0))
#: ``|x| / sqrt 2`` is clamped here: ``erfc(6) / 2`` is 1e-17, so ``Phi`` is 1 (or its tail
#: negligible against any float32 sum it enters), and ``m`` stays below 64 (six bits).
_Z_MAX = _F(6.0)
_LOG2E = _F(1.0 / math.log(2.0))
#: ln 2 split so that ``m * _LN2_HI`` is exact for ``m`` below 2**11 (Cody-Waite).
_LN2_HI = _F(0.693359375)
_LN2_LO = _F(-2.12194440e-4)
#: Taylor coefficients of ``exp`` to degree 7, highest order first.
_EXP = tuple(_F(1.0 / math.factorial(k)) for k in range(7, -1, -1))
_ONE, _HALF = _F(1.0), _F(0.5)


@numba.njit(inline="always")
def _horner(x, coefficients):
    """The polynomial with ``coefficients`` (highest order first) at ``x``, in their dtype."""
    value = coefficients[0]
    for coefficient in coefficients[1:]:
        value = value * x + coefficient
    return value


@numba.njit(inline="always")
def _power_of_two(m):
    """``2**-m`` for ``0 <= m < 64``, exactly: the product of a factor per set bit of ``m``, no branch."""
    low = (_F(0.5) if m & 1 else _ONE) * (_F(0.25) if m & 2 else _ONE) * (_F(2.0 ** -4) if m & 4 else _ONE)
    return low * (_F(2.0 ** -8) if m & 8 else _ONE) * (_F(2.0 ** -16) if m & 16 else _ONE) * (
        _F(2.0 ** -32) if m & 32 else _ONE)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def gelu_float32(values, out):
    """``out[i] = values[i] * Phi(values[i])`` for 1-D float32 arrays; returns ``out``."""
    for i in range(values.size):
        v = values[i]
        z = min(abs(v) * _RSQRT2, _Z_MAX)
        t = _ONE / (z * _HALF + _ONE)
        tail = _horner(t, _ERFCC)
        y = tail - z * z  # in [-37.3, -0.7]: exp(y) * t == erfc(z)
        m = np.int32(-y * _LOG2E + _HALF)  # round(-y / ln 2), 0 to 54
        mf = _F(m)
        r = y + mf * _LN2_HI + mf * _LN2_LO
        e = _horner(r, _EXP)
        e = e * _power_of_two(m)  # exact: e is near 1
        upper = e * t * _HALF  # P(N(0, 1) > |v|)
        phi = _ONE - upper if v >= 0 else upper
        out[i] = phi * v
    return out
