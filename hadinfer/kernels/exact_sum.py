"""Exact sums of float64 arrays: associative, so any order or tree of additions gives the same bits.

Floating-point merges round differently for every grouping; the background statistics
(:mod:`~hadinfer.kernels.statistics`) must not depend on how a scene was cut into tiles,
strips or workers, so they add each window's sums here, in integer limbs, and round once
at the end (:func:`exact_quotient`).  NumPy has no exact or order-independent float sum
(``math.fsum`` is exact but one scalar at a time), hence this module.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: Bits an :class:`ExactSum` keeps below each added array's largest entry (float64 keeps
#: 53): what is dropped lies 2**-96 below the largest entry and is truncated the same way
#: whatever else is summed.
_KEPT_BITS = 96
_LIMB = 32


class ExactSum:
    """An exact running sum of float64 arrays of one shape, in 32-bit limbs of int64.

    Each added array is cut on a fixed binary grid, ``value = sum_k limb_k 2**(32 (low + k))``,
    keeping :data:`_KEPT_BITS` bits below its largest entry; limbs are summed in int64,
    so the total does not depend on the order of additions or on how partial sums are
    grouped.  Carries are propagated every 2**30 additions, before any limb can overflow.

    Parameters
    ----------
    shape : tuple of int
    """

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.low = 0
        self.limbs = np.zeros((0,) + self.shape, dtype=np.int64)
        self.additions = 0

    def add(self, values: np.ndarray) -> None:
        """Add a float64 array (finite) of :attr:`shape`."""
        values = np.asarray(values, dtype=np.float64)
        largest = float(np.max(np.abs(values))) if values.size else 0.0
        if largest == 0.0:
            return
        if not np.isfinite(largest):
            raise ParameterError("statistics: a window's sums are not finite (values too large for float64)")
        top = int(np.frexp(largest)[1])  # largest < 2**top
        low = (top - _KEPT_BITS) // _LIMB
        count = -(-(top - _LIMB * low) // _LIMB)
        rest = np.ldexp(values, -_LIMB * low)  # exact: a power of two
        limbs = np.empty((count,) + self.shape, dtype=np.int64)
        for k in range(count - 1, -1, -1):  # top down; each step removes exact high bits
            weight = float(2 ** (_LIMB * k))
            digit = np.floor(rest / weight)
            rest -= digit * weight
            limbs[k] = digit
        self._add_limbs(low, limbs, 1)

    def merge(self, other: "ExactSum") -> None:
        """Add another sum's total (``other`` is not modified)."""
        if other.limbs.shape[0]:
            self._add_limbs(other.low, other.limbs, other.additions)

    def _add_limbs(self, low: int, limbs: np.ndarray, additions: int) -> None:
        if not self.limbs.shape[0]:
            self.low, self.limbs = low, limbs.copy()
        else:
            start, stop = min(self.low, low), max(self.low + self.limbs.shape[0], low + limbs.shape[0])
            if (start, stop) != (self.low, self.low + self.limbs.shape[0]):
                grown = np.zeros((stop - start,) + self.shape, dtype=np.int64)
                grown[self.low - start:self.low - start + self.limbs.shape[0]] = self.limbs
                self.low, self.limbs = start, grown
            self.limbs[low - self.low:low - self.low + limbs.shape[0]] += limbs
        self.additions += additions
        if self.additions >= 2 ** 30:
            self._carry()

    def _carry(self) -> None:
        # Each addition puts less than 2**32 in a limb: after 2**30 of them, move carries up.
        self.limbs = np.concatenate([self.limbs, np.zeros((1,) + self.shape, dtype=np.int64)])
        for k in range(self.limbs.shape[0] - 1):
            carry = self.limbs[k] >> _LIMB
            self.limbs[k] -= carry << _LIMB
            self.limbs[k + 1] += carry
        self.additions = 1

    def integers(self, index=None) -> tuple[np.ndarray, int]:
        """``(total, exponent)``: the sum is ``total * 2**exponent``, total an object array of Python ints.

        ``index`` (a NumPy index into :attr:`shape`, e.g. a triangle's ``(rows, cols)``)
        takes only those entries: Python's integers cost about a microsecond each.
        """
        limbs = self.limbs if index is None else self.limbs[(slice(None),) + tuple(index)]
        total = np.zeros(limbs.shape[1:], dtype=object)
        for k in range(limbs.shape[0] - 1, -1, -1):
            total = (total << _LIMB) + limbs[k].astype(object)
        return total, _LIMB * self.low


def round_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` rounded to ``bits`` significant bits (a fixed function of each value)."""
    mantissa, exponent = np.frexp(values)
    return np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)


def exact_quotient(numerator: np.ndarray, exponent: int, denominator: int) -> np.ndarray:
    """``numerator * 2**exponent / denominator`` correctly rounded to float64 (Python ints, exact)."""
    if exponent >= 0:
        numerator, denominator = numerator * (1 << exponent), denominator
    else:
        denominator = denominator << -exponent
    flat = [int(v) / denominator for v in numerator.ravel()]
    return np.array(flat, dtype=np.float64).reshape(numerator.shape)
