"""xarray DataArrays in any dimension order, and plain arrays that only look like (H, W, B).

xarray is never imported here: a DataArray is recognised by its attributes, so the core
runtime stays numpy, rasterio and click.  Georeferencing is read through rioxarray's
``.rio`` accessor when it is installed (extra ``xarray``).
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from .array_scene import ArrayScene
from .bands import wavelengths_to_nm

#: Dimension names taken as the spectral axis.
BAND_DIMS = ("band", "bands", "wavelength", "wavelengths", "spectral", "channel")
#: Spatial dimension pairs, in (row, column) order.
SPATIAL_DIMS = (("y", "x"), ("lat", "lon"), ("latitude", "longitude"), ("row", "col"), ("rows", "cols"))


def is_dataarray(obj) -> bool:
    """Whether ``obj`` quacks like an ``xarray.DataArray``.

    An ``xarray.Dataset`` (several variables) is refused here, in one line that names its
    variables, rather than taken for one cube.

    Raises
    ------
    ParameterError
        ``obj`` is a Dataset.
    """
    if hasattr(obj, "data_vars") and hasattr(obj, "dims"):
        names = [str(name) for name in obj.data_vars]
        example = f"ds[{names[0]!r}]" if names else "one DataArray"
        raise ParameterError(f"an xarray Dataset holds {len(names)} variable(s) ({', '.join(names) or 'none'}): "
                             f"pass one DataArray, e.g. {example}")
    return all(hasattr(obj, name) for name in ("dims", "transpose", "coords", "values"))


def _dims(array) -> tuple[str, tuple[str, str]]:
    dims = tuple(str(d) for d in array.dims)
    if len(dims) != 3:
        raise ParameterError(f"DataArray: expected 3 dimensions (two spatial, one band), got {dims}")
    band = [d for d in dims if d.lower() in BAND_DIMS]
    if len(band) != 1:
        raise ParameterError(f"DataArray: expected one band dimension named one of {', '.join(BAND_DIMS)}, "
                             f"got {dims}; rename it with .rename({{'<dim>': 'band'}})")
    rest = tuple(d for d in dims if d != band[0])
    for pair in SPATIAL_DIMS:
        if {d.lower() for d in rest} == set(pair):
            rest = tuple(sorted(rest, key=lambda d: pair.index(d.lower())))
            break
    return band[0], rest


def dataarray_scene(array) -> tuple[ArrayScene, tuple[str, str]]:
    """A DataArray as a scene (rows, columns, bands), whatever its dimension order.

    Returns
    -------
    scene : ArrayScene
        With the CRS, transform and nodata rioxarray reads from the DataArray.
    spatial : (str, str)
        The row and column dimension names, for :func:`scores_as_dataarray`.

    The band centres come from a numeric coordinate named ``wavelength`` or ``wavelengths``
    along the band dimension (its ``units`` attribute, or micrometres for values under
    100 and nanometres otherwise), when there is one.

    Raises
    ------
    ParameterError
        Not three dimensions, or no single band dimension.
    """
    band, spatial = _dims(array)
    cube = np.asarray(array.transpose(*spatial, band).values)
    crs = transform = nodata = None
    rio = getattr(array, "rio", None) if _has_rioxarray() else None
    if rio is not None:
        crs, nodata = rio.crs, rio.nodata
        if {d.lower() for d in spatial} == {"y", "x"}:  # rioxarray's transform is for (y, x) grids
            transform = rio.transform()
    return ArrayScene(cube, crs=crs, transform=transform, nodata=nodata, path="<DataArray>",
                      wavelengths=_band_centres(array, band)), spatial


def _band_centres(array, band: str) -> tuple[float, ...] | None:
    """Band centres (nm) from a ``wavelength(s)`` coordinate along ``band``, or None."""
    for name, coord in array.coords.items():
        if str(name).lower() in ("wavelength", "wavelengths") and tuple(coord.dims) == (band,):
            values = np.asarray(coord.values)
            if np.issubdtype(values.dtype, np.number):
                return wavelengths_to_nm(values.tolist(), coord.attrs.get("units"))
    return None


def scores_as_dataarray(scores: np.ndarray, template, spatial: tuple[str, str], *, attrs: dict | None = None):
    """The (H, W) map as a DataArray with the template's spatial coordinates, CRS and nodata.

    Parameters
    ----------
    attrs : dict, optional
        Provenance (detector, parameters, version, bands, ...), stored in ``.attrs``
        as strings and numbers (netCDF-safe).

    The map's nodata is NaN (``_FillValue`` in its encoding, and rioxarray's nodata).

    Raises
    ------
    MissingDependencyError
        xarray is not installed (it always is when a DataArray came in).
    """
    try:
        import xarray
    except ImportError as exc:  # pragma: no cover - a DataArray input implies xarray
        raise MissingDependencyError("DataArray output needs xarray: pip install 'hadinfer[xarray]'") from exc
    coords = {d: template.coords[d] for d in spatial if d in template.coords}
    info = {"long_name": "anomaly score", "units": "1", "description": "higher = more anomalous; NaN = not scored"}
    info |= {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in (attrs or {}).items() if v is not None}
    out = xarray.DataArray(scores, dims=spatial, coords=coords, name="anomaly_score", attrs=info)
    out.encoding["_FillValue"] = np.float32(np.nan)
    if _has_rioxarray() and getattr(template, "rio", None) is not None:
        if template.rio.crs is not None:
            out = out.rio.write_crs(template.rio.crs)
        out = out.rio.write_nodata(np.nan, encoded=False)
    return out


def _has_rioxarray() -> bool:
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
    except ImportError:
        return False
    return True


#: Values of :func:`hadinfer.detect`'s ``layout=`` for plain arrays.
LAYOUTS = ("bands-last", "bands-first")


def is_dataset(obj) -> bool:
    """Whether ``obj`` is an open rasterio dataset (or quacks like one)."""
    return all(hasattr(obj, name) for name in ("read", "count", "profile", "name"))


def check_plain_array_layout(cube, layout: str | None = None):
    """A plain array as (rows, cols, bands), refusing one whose layout is ambiguous.

    ``rasterio``'s ``dataset.read()`` and ``rioxarray.open_rasterio(...).values`` are band
    first, (bands, rows, cols); hadinfer's scenes are band last.  Without ``layout`` an
    array is taken as band last only when its last axis is the shortest, as in every
    cube with fewer bands than rows and columns; otherwise ``layout`` must say.

    Parameters
    ----------
    cube : array_like, shape (H, W, B) or (B, H, W)
    layout : {"bands-last", "bands-first"}, optional

    Returns
    -------
    ndarray or numpy.ma.MaskedArray, shape (H, W, B)
        A view (band-first input is moved, not copied).

    Raises
    ------
    ParameterError
        An unknown ``layout``, or none given for an ambiguous shape (the message names both
        fixes).
    """
    if layout is not None and layout not in LAYOUTS:
        raise ParameterError(f"layout: expected one of {', '.join(LAYOUTS)}, got {layout!r}")
    array = cube if isinstance(cube, np.ma.MaskedArray) else np.asarray(cube)
    shape = array.shape
    if len(shape) != 3:
        return array  # ArrayScene names the problem
    if layout == "bands-first":
        return np.moveaxis(array, 0, -1)
    if layout is None and not shape[2] < min(shape[0], shape[1]):
        raise ParameterError(
            f"array of shape {shape}: is it (rows, cols, bands) or rasterio's (bands, rows, cols)? "
            f"pass layout='bands-last' or layout='bands-first' (dataset.read() is bands-first), "
            f"or a DataArray with a 'band' dimension")
    return array
