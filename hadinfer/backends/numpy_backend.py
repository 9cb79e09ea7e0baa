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

    def zeros(self, shape):
        return np.zeros(shape)

    def cumsum(self, array, axis):
        return np.cumsum(array, axis=axis)

    def solve(self, matrices, vectors):
        return np.linalg.solve(matrices, vectors[..., None])[..., 0]

    def sum(self, array, axis):
        return array.sum(axis=axis)

    def where(self, condition, a, b):
        return np.where(condition, a, b)
