"""NumPy on the CPU: the reference backend, always available."""

from __future__ import annotations

import numpy as np

from .base import ArrayBackend


class NumpyBackend(ArrayBackend):
    """Arrays are NumPy float64 arrays on the host."""

    name = "numpy"
    device = "cpu"

    def asarray(self, array):
        return np.asarray(array, dtype=np.float64)

    def to_numpy(self, array):
        return np.asarray(array)

    def single(self, array):
        return array.astype(np.float32)

    def contiguous(self, array):
        return np.ascontiguousarray(array)

    def sqrt(self, array):
        return np.sqrt(array)

    def zeros(self, shape):
        return np.zeros(shape)

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
