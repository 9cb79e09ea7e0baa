"""In-memory cubes as scenes, for embedding hadinfer in Python code.

A NumPy array held by the caller, read like a file; not to be confused with
:mod:`hadinfer.arrays` (the array libraries the RX kernels run on) or
:mod:`hadinfer.distributed.dask_arrays` (lazy Dask arrays).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .bands import parse_band_spec
from .scene import Scene, SceneInfo


class ArrayScene(Scene):
    """Wrap an in-memory (H, W, B) array as a :class:`Scene`.

    Parameters
    ----------
    cube : array_like or numpy.ma.MaskedArray, shape (H, W, B)
        Spectra, any real dtype; not copied.  A masked array's mask is kept: a pixel with
        any band masked is left out of the statistics and not scored, like nodata.
    nodata : float, optional
        Pixels whose every band equals it are masked.
    crs, transform : optional
        Georeferencing carried to written maps.
    bands : str, optional
        1-based band selection, e.g. ``"1-100,120-200"`` (as ``--bands``).
    wavelengths : sequence of float, optional
        Centre wavelength (nm) of each of the cube's bands; ``info.wavelengths`` holds the
        selected bands'.

    Raises
    ------
    ParameterError
        Not three dimensions, not real numbers, or not one wavelength per band.
    BandSelectionError
        A malformed ``bands`` or one outside the cube's bands.
    """

    def __init__(self, cube, *, nodata=None, crs=None, transform=None, path="<array>", bands: str | None = None,
                 wavelengths=None):
        mask = None
        if isinstance(cube, np.ma.MaskedArray):
            if cube.ndim == 3 and np.ma.getmask(cube) is not np.ma.nomask:
                mask = ~np.ma.getmaskarray(cube).any(axis=2)
            cube = np.ma.getdata(cube)
        cube = np.asarray(cube)
        if cube.ndim != 3:
            raise ParameterError(f"cube: expected a (rows, cols, bands) array, got shape {cube.shape}")
        if not np.issubdtype(cube.dtype, np.number) or np.iscomplexobj(cube):
            raise ParameterError(f"cube: expected real numbers, got dtype {cube.dtype}")
        height, width, count = cube.shape
        selected = tuple(range(1, count + 1)) if bands is None else tuple(parse_band_spec(str(bands), count))
        if wavelengths is not None:
            wavelengths = tuple(float(w) for w in wavelengths)
            if len(wavelengths) != count:
                raise ParameterError(f"wavelengths: {len(wavelengths)} for a cube of {count} bands")
        self._cube = cube
        self._wavelengths = wavelengths
        self._index = None if len(selected) == count else np.asarray(selected) - 1
        self._mask = mask
        extra = {} if transform is None else {"transform": transform}
        self.info = SceneInfo(
            path=path, height=height, width=width, band_count=count,
            bands=selected, dtype=str(cube.dtype), interleave="pixel",
            crs=crs, nodata=nodata, driver="array",
            wavelengths=None if wavelengths is None else tuple(wavelengths[b - 1] for b in selected), **extra)

    @property
    def _raw_is_private(self) -> bool:  # fancy band indexing copies; a plain slice is the caller's memory
        return self._index is not None

    def _read_raw(self, window):
        block = self._cube[window.toslices()]
        return block if self._index is None else block[:, :, self._index]

    def _read_mask(self, window):
        if self._mask is None:
            return None
        return self._mask[window.toslices()]
