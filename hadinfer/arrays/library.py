"""The array-library protocol that the RX kernels are written against."""

from __future__ import annotations

from typing import Any

import numpy as np


class ArrayLibrary:
    """Where and with what array library the detector arithmetic runs (NumPy or PyTorch).

    Not to be confused with a model *runtime* (:mod:`hadinfer.runtimes`), which runs a
    trained network; an array library runs the classical kernels.

    Kernels use Python operators (``+``, ``@``, slicing) directly on arrays and call
    these methods for everything whose spelling differs between libraries.  Arrays
    are float64 unless a kernel asks for :meth:`single`, so CPU and GPU agree to rounding.
    """

    name: str = "?"
    device: str = "cpu"

    #: Bytes copied from the host to the device so far (0 on the CPU): what a
    #: per-tile transfer budget is checked against.
    bytes_to_device: int = 0

    #: Whether :meth:`window_moments` computes the statistics pass's per-window moments on
    #: the device (PyTorch on a GPU); when False the pass runs in NumPy on the host.
    moments_on_device: bool = False

    def window_moments(self, cube: np.ndarray, valid: np.ndarray):
        """One window's background moments computed on the device (only when ``moments_on_device``).

        Returns what :meth:`hadinfer.kernels.statistics.BackgroundStats.merge_moments` takes.
        """
        raise NotImplementedError(f"{type(self).__name__} computes no moments on its device")

    def asarray(self, array: np.ndarray, dtype=np.float64) -> Any:
        """Move a NumPy array to the library's device as ``dtype`` (float64 by default).

        The array travels in its own dtype and is converted on the device, so an int16
        tile moves 2 bytes a value, not 8.
        """
        raise NotImplementedError

    def to_numpy(self, array: Any) -> np.ndarray:
        """Bring an array back to the host."""
        raise NotImplementedError

    def single(self, array: Any) -> Any:
        """The array in float32 (for kernels that trade exactness for speed)."""
        raise NotImplementedError

    def double(self, array: Any) -> Any:
        """The array in float64."""
        raise NotImplementedError

    def contiguous(self, array: Any) -> Any:
        """A contiguous copy (or the array itself when it already is)."""
        raise NotImplementedError

    def sqrt(self, array: Any) -> Any:
        """Elementwise square root."""
        raise NotImplementedError

    def zeros(self, shape, integer: bool = False) -> Any:
        """An array of zeros: float64, or int64 when ``integer``."""
        raise NotImplementedError

    def to_fixed(self, values: Any, out: Any, scale: float, limit: float) -> None:
        """Write ``values * scale``, clipped to ``[-limit, limit]`` and rounded to integers, into int64 ``out``."""
        raise NotImplementedError

    def integral_image(self, array: Any) -> Any:
        """Cumulative sums over axes 0 and 1 (a summed-area table); may overwrite ``array``.

        int64 arrays wrap around on overflow (two's complement), which leaves every
        difference of sums whose true value fits in int64 exact.
        """
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
