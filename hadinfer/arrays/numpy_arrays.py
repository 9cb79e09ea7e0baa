"""NumPy on the CPU: the reference array library, always available."""

from __future__ import annotations

import numpy as np

from .library import ArrayLibrary


class NumpyArrays(ArrayLibrary):
    """Arrays are NumPy arrays on the host.

    Parameters
    ----------
    device : str
        Where the run's heavy work happens: ``cpu``, or the GPU a model runtime uses
        while NumPy prepares its inputs on the host (reports name that device).
    """

    name = "numpy"

    def __init__(self, device: str = "cpu"):
        self.device = device

    def asarray(self, array, dtype=np.float64):
        return np.asarray(array, dtype=dtype)

    def to_numpy(self, array):
        return np.asarray(array)

    def single(self, array):
        return array.astype(np.float32)

    def double(self, array):
        return array.astype(np.float64)

    def contiguous(self, array):
        return np.ascontiguousarray(array)

    def sqrt(self, array):
        return np.sqrt(array)

    def zeros(self, shape, integer=False):
        return np.zeros(shape, dtype=np.int64 if integer else np.float64)

    def to_fixed(self, values, out, scale, limit):
        scaled = np.multiply(values, scale)
        np.clip(scaled, -limit, limit, out=scaled)
        np.rint(scaled, out=scaled)
        out[...] = scaled  # integers: the cast is exact

    def integral_image(self, array):
        # In place, one slice at a time: several times faster than np.cumsum over a
        # non-last axis of a channels-last array, and the same additions in the same order.
        for row in range(1, array.shape[0]):
            array[row] += array[row - 1]
        for col in range(1, array.shape[1]):
            array[:, col] += array[:, col - 1]
        return array

    def solve(self, matrices, vectors):
        return np.linalg.solve(matrices, vectors[..., None])[..., 0]

    def sum(self, array, axis):
        return array.sum(axis=axis)

    def where(self, condition, a, b):
        return np.where(condition, a, b)
