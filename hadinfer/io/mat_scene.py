"""MATLAB ``.mat`` cubes: v5 through scipy, v7.3 (HDF5) through h5py, laid out rows x cols x bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MatKeyError, MissingDependencyError, NotARasterError, one_line
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
        If ``key`` is missing, is not a numeric array (a cell array, struct, text...),
        or no variable has ``ndim`` dimensions.
    NotARasterError
        If the file cannot be parsed as MATLAB data, or the variable is complex.
    """
    with open(path, "rb") as fh:
        head = fh.read(512 + 8)
    if _HDF5_SIGNATURE in head[:8] or head[512:520] == _HDF5_SIGNATURE:
        return _load_v73(path, key, ndim)
    try:
        import scipy.io
    except ImportError as exc:
        raise MissingDependencyError("reading .mat files needs scipy: pip install 'hadinfer[mat]'") from exc
    # Only the chosen variable is loaded: the file's other variables (a cube's file often
    # holds its ground-truth mask too) are listed from their headers and never read.
    try:
        listing = scipy.io.whosmat(path)
    except NotImplementedError:  # scipy's word for v7.3 files without the signature where we looked
        return _load_v73(path, key, ndim)
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on junk
        raise NotARasterError(f"{path}: not a readable MATLAB file ({one_line(exc)})") from exc
    listing = [(k, tuple(shape), matlab_class) for k, shape, matlab_class in listing if not k.startswith("__")]
    kinds = {k: _V5_CLASS_KINDS.get(matlab_class) for k, _, matlab_class in listing}
    shapes = {k: shape for k, shape, _ in listing}
    name = _pick_key(path, shapes, key, ndim, shapes, kinds)
    try:
        array = scipy.io.loadmat(path, variable_names=[name])[name]
    except Exception as exc:
        raise NotARasterError(f"{path}: variable {name!r} is not readable ({one_line(exc)})") from exc
    # The header's class does not say complex: the loaded values do (and are refused by name).
    _pick_key(path, {name: array}, name, ndim, {name: array.shape}, {name: _kind_v5(array)})
    return array, name, "MAT-v5"


#: What a MATLAB v5 variable is, from its class in the file's header (:func:`scipy.io.whosmat`);
#: numeric and logical classes are absent (``None``: real numbers, or complex ones, which
#: only the loaded values show).
_V5_CLASS_KINDS = {"cell": "a cell array", "struct": "a struct", "char": "text (a char array)",
                   "sparse": "a sparse matrix", "object": "a MATLAB object", "function": "a function handle",
                   "opaque": "an opaque MATLAB object"}


def _load_v73(path, key, ndim):
    try:
        import h5py
    except ImportError as exc:
        raise MissingDependencyError("reading MATLAB v7.3 files needs h5py: pip install 'hadinfer[mat]'") from exc
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise NotARasterError(f"{path}: not a readable MATLAB v7.3 file ({one_line(exc)})") from exc
    try:
        datasets = {k: v for k, v in handle.items() if isinstance(v, h5py.Dataset)}
        kinds = {k: _kind_v73(v, h5py) for k, v in handle.items() if not k.startswith("#")}  # "#refs#": cell contents
        # h5py shows MATLAB arrays transposed; report shapes in MATLAB's order.
        name = _pick_key(path, datasets, key, ndim, {k: v.shape[::-1] for k, v in datasets.items()}, kinds)
    except BaseException:
        handle.close()
        raise
    return datasets[name], name, "MAT-v7.3"


def _kind_v5(value) -> str | None:
    """``None`` for real numbers, a dtype name starting with ``complex`` for complex ones, else what it is."""
    if not isinstance(value, np.ndarray):
        return "a sparse matrix" if hasattr(value, "tocsc") else f"a {type(value).__name__} object"
    if value.dtype.names is not None:
        return "a struct"
    if value.dtype == object:
        return "a cell array"
    if value.dtype.kind in "US":
        return "text (a char array)"
    if np.iscomplexobj(value):
        return str(value.dtype)
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        return f"of type {value.dtype}"
    return None


def _kind_v73(value, h5py) -> str | None:
    """Like :func:`_kind_v5` for an HDF5 (v7.3) variable, using MATLAB's own class when stored."""
    if isinstance(value, h5py.Group):
        return "a struct" if value.attrs.get("MATLAB_class", b"struct") in (b"struct", "struct") else "an object"
    matlab_class = value.attrs.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    names = value.dtype.names
    if names is not None and set(names) == {"real", "imag"}:  # how MATLAB stores complex numbers in HDF5
        real = value.dtype["real"]
        return f"complex{real.itemsize * 16}" if real.kind == "f" else f"complex_{real}"
    if matlab_class == "cell" or value.dtype == object or h5py.check_dtype(ref=value.dtype) is not None:
        return "a cell array"
    if matlab_class == "char":
        return "text (a char array)"
    if matlab_class in ("struct", "function_handle") or names is not None:
        return f"a {matlab_class or 'struct'}"
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        return f"of type {value.dtype}"
    return None


def _is_complex(kind: str) -> bool:
    return kind.startswith("complex")


def _pick_key(path, arrays, key, ndim, shapes, kinds):
    """The variable to read: ``key``, else the largest ``ndim``-D numeric one.

    ``kinds`` maps every variable to ``None`` (real numbers) or what it is instead; a
    named variable that is not real numbers, and a complex cube, are refused by name.
    """
    if key is not None:
        if key not in kinds:
            raise MatKeyError(f"{path}: no variable {key!r} (has: {', '.join(sorted(kinds)) or 'none'})")
        if kinds[key] is not None and not _is_complex(kinds[key]):
            raise MatKeyError(f"{path}: variable {key!r} is {kinds[key]}, not a numeric array; "
                              f"name a {ndim}-D numeric variable with --key")
        if len(shapes[key]) != ndim:
            raise MatKeyError(f"{path}: variable {key!r} has shape {shapes[key]}, expected {ndim} dimensions")
        chosen = key
    else:
        candidates = [k for k in arrays if len(shapes[k]) == ndim
                      and (kinds[k] is None or _is_complex(kinds[k]))]
        if not candidates:
            raise MatKeyError(f"{path}: no {ndim}-D numeric variable found "
                              f"(has: {', '.join(sorted(kinds)) or 'none'}); name one with --key")
        chosen = max(candidates, key=lambda k: int(np.prod(shapes[k])))
    if kinds[chosen] is not None:  # complex: its imaginary part would be dropped silently
        raise NotARasterError(f"{path}: variable {chosen!r} holds complex numbers ({kinds[chosen]}); hadinfer needs "
                              "real values (store the magnitude, or name another variable with --key)")
    return chosen


class MatScene(Scene):
    """A cube stored in a MATLAB file as rows x cols x bands.

    A v5 file's cube variable is loaded whole (scipy has no partial reads), and only
    that variable (not a mask stored beside it); v7.3 files are read window by window
    from HDF5.

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

    def _read_raw(self, window):
        rows, cols = window.toslices()
        if self._fmt == "MAT-v7.3":
            block = self._array[:, cols, rows].T
            return block[:, :, self._index]
        return self._array[rows, cols][:, :, self._index]

    def close(self):
        if self._fmt == "MAT-v7.3":
            self._array.file.close()
