"""MATLAB ``.mat`` cubes: v5 through scipy, v7.3 (HDF5) through h5py, laid out rows x cols x bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MatKeyError, MissingDependencyError, NotARasterError
from .bands import select_bands
from .scene import Scene, SceneInfo

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_mat_file(path: str | Path) -> bool:
    """True when ``path`` looks like a MATLAB file (by suffix or by header)."""
    path = Path(path)
    if path.suffix.lower() == ".mat":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(6) == b"MATLAB"
    except OSError:
        return False


def load_mat_array(path: str | Path, key: str | None, ndim: int):
    """Return ``(array_like, key, format)`` for a MATLAB variable.

    Parameters
    ----------
    path : str or Path
        The ``.mat`` file.
    key : str or None
        Variable name; ``None`` picks the largest numeric variable with ``ndim`` dims.
    ndim : int
        3 for a cube (rows, cols, bands), 2 for a mask.

    Returns
    -------
    array : ndarray or h5py.Dataset
        For v7.3 an open, lazily read HDF5 dataset **in MATLAB's transposed order**.
    key : str
    fmt : str
        ``"MAT-v5"`` or ``"MAT-v7.3"``.

    Raises
    ------
    MatKeyError
        If ``key`` is missing or no variable has ``ndim`` dimensions.
    NotARasterError
        If the file cannot be parsed as MATLAB data.
    """
    with open(path, "rb") as fh:
        head = fh.read(512 + 8)
    if _HDF5_SIGNATURE in head[:8] or head[512:520] == _HDF5_SIGNATURE:
        return _load_v73(path, key, ndim)
    try:
        import scipy.io
    except ImportError as exc:
        raise MissingDependencyError("reading .mat files needs scipy: pip install 'hadinfer[mat]'") from exc
    try:
        variables = scipy.io.loadmat(path)
    except NotImplementedError:  # scipy's word for v7.3 files without the signature where we looked
        return _load_v73(path, key, ndim)
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on junk
        raise NotARasterError(f"{path}: not a readable MATLAB file ({exc})") from exc
    arrays = {k: v for k, v in variables.items() if not k.startswith("__") and isinstance(v, np.ndarray)}
    name = _pick_key(path, arrays, key, ndim, {k: v.shape for k, v in arrays.items()})
    return arrays[name], name, "MAT-v5"


def _load_v73(path, key, ndim):
    try:
        import h5py
    except ImportError as exc:
        raise MissingDependencyError("reading MATLAB v7.3 files needs h5py: pip install 'hadinfer[mat]'") from exc
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise NotARasterError(f"{path}: not a readable MATLAB v7.3 file ({exc})") from exc
    datasets = {k: v for k, v in handle.items() if isinstance(v, h5py.Dataset)}
    # h5py shows MATLAB arrays transposed; report shapes in MATLAB's order.
    name = _pick_key(path, datasets, key, ndim, {k: v.shape[::-1] for k, v in datasets.items()})
    return datasets[name], name, "MAT-v7.3"


def _pick_key(path, arrays, key, ndim, shapes):
    if key is not None:
        if key not in arrays:
            raise MatKeyError(f"{path}: no variable {key!r} (has: {', '.join(sorted(arrays)) or 'none'})")
        if len(shapes[key]) != ndim:
            raise MatKeyError(f"{path}: variable {key!r} has shape {shapes[key]}, expected {ndim} dimensions")
        return key
    candidates = [k for k, v in arrays.items()
                  if len(shapes[k]) == ndim and np.issubdtype(v.dtype, np.number)]
    if not candidates:
        raise MatKeyError(f"{path}: no {ndim}-D numeric variable found (has: {', '.join(sorted(arrays)) or 'none'});"
                          " name one with --key")
    return max(candidates, key=lambda k: int(np.prod(shapes[k])))


class MatScene(Scene):
    """A cube stored in a MATLAB file as rows x cols x bands.

    v5 files are loaded whole (scipy has no partial reads); v7.3 files are read window
    by window from HDF5.

    Parameters
    ----------
    path : str
        The ``.mat`` file.
    key : str, optional
        Variable holding the cube; auto-detected as the largest 3-D numeric array.
    bands : str, optional
        1-based band selection.
    """

    def __init__(self, path: str, key: str | None = None, bands: str | None = None):
        self._array, name, fmt = load_mat_array(path, key, ndim=3)
        if fmt == "MAT-v7.3":
            bands_total, width, height = self._array.shape
        else:
            height, width, bands_total = self._array.shape
        selected = select_bands(bands_total, bands, None)
        self._index = np.asarray(selected) - 1
        self._fmt = fmt
        self.key = name
        self.info = SceneInfo(
            path=str(path), height=height, width=width, band_count=bands_total,
            bands=tuple(selected), dtype=str(self._array.dtype), interleave="pixel",
            driver=fmt)

    def _read_raw(self, row_off, col_off, height, width):
        if self._fmt == "MAT-v7.3":
            block = self._array[:, col_off:col_off + width, row_off:row_off + height].T
            return block[:, :, self._index]
        return self._array[row_off:row_off + height, col_off:col_off + width][:, :, self._index]

    def close(self):
        if self._fmt == "MAT-v7.3":
            self._array.file.close()
