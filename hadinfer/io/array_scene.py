"""In-memory cubes as scenes, for embedding hadinfer in Python code."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .scene import Scene, SceneInfo


class ArrayScene(Scene):
    """Wrap an in-memory (H, W, B) array as a :class:`Scene`.

    Parameters
    ----------
    cube : array_like, shape (H, W, B)
        Spectra, any real dtype; not copied.
    nodata : float, optional
        Pixels whose every band equals it are masked.
    crs, transform : optional
        Georeferencing carried to written maps.
    """

    def __init__(self, cube, *, nodata=None, crs=None, transform=None, path="<array>"):
        cube = np.asarray(cube)
        if cube.ndim != 3:
            raise ParameterError(f"cube: expected a (rows, cols, bands) array, got shape {cube.shape}")
        if not np.issubdtype(cube.dtype, np.number) or np.iscomplexobj(cube):
            raise ParameterError(f"cube: expected real numbers, got dtype {cube.dtype}")
        self._cube = cube
        height, width, bands = cube.shape
        extra = {} if transform is None else {"transform": transform}
        self.info = SceneInfo(
            path=path, height=height, width=width, band_count=bands,
            bands=tuple(range(1, bands + 1)), dtype=str(cube.dtype), interleave="pixel",
            crs=crs, nodata=nodata, driver="array", **extra)

    def _read_raw(self, row_off, col_off, height, width):
        return self._cube[row_off:row_off + height, col_off:col_off + width, :]
