"""The array-backend protocol that RX kernels are written against."""

from __future__ import annotations

from typing import Any

import numpy as np


class ArrayBackend:
    """Where and with what library the detector arithmetic runs.

    Kernels use Python operators (``+``, ``@``, slicing) directly on arrays and call
    these methods for everything whose spelling differs between libraries.  Arrays
    are float64 unless a kernel asks for :meth:`single`, so CPU and GPU agree to rounding.
    """

    name: str = "?"
    device: str = "cpu"

    def asarray(self, array: np.ndarray) -> Any:
        """Move a NumPy array to the backend, as float64."""
        raise NotImplementedError

    def to_numpy(self, array: Any) -> np.ndarray:
        """Bring an array back to the host."""
        raise NotImplementedError

    def single(self, array: Any) -> Any:
        """The array in float32 (for kernels that trade exactness for speed)."""
        raise NotImplementedError

    def contiguous(self, array: Any) -> Any:
        """A contiguous copy (or the array itself when it already is)."""
        raise NotImplementedError

    def sqrt(self, array: Any) -> Any:
        """Elementwise square root."""
        raise NotImplementedError

    def zeros(self, shape) -> Any:
        """A float64 array of zeros."""
        raise NotImplementedError

    def integral_image(self, array: Any) -> Any:
        """Cumulative sums over axes 0 and 1 (a summed-area table); may overwrite ``array``."""
        raise NotImplementedError

    def solve(self, matrices: Any, vectors: Any) -> Any:
        """Batched linear solve: ``matrices`` (..., k, k), ``vectors`` (..., k) -> (..., k)."""
        raise NotImplementedError

    def sum(self, array: Any, axis: int) -> Any:
        """Sum along ``axis``."""
        raise NotImplementedError

    def where(self, condition: Any, a: Any, b: float) -> Any:
        """Elementwise select, ``b`` a scalar."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait for queued device work (for honest timings)."""
