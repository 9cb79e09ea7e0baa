"""xarray DataArrays in any dimension order, and plain arrays that only look like (H, W, B).

xarray is never imported here: a DataArray is recognised by its attributes, so the core
runtime stays numpy, rasterio and click.  Georeferencing is read through rioxarray's
``.rio`` accessor when it is installed (extra ``xarray``).
"""

from __future__ import annotations

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from .array_scene import ArrayScene

#: Dimension names taken as the spectral axis.
BAND_DIMS = ("band", "bands", "wavelength", "wavelengths", "spectral", "channel")
#: Spatial dimension pairs, in (row, column) order.
SPATIAL_DIMS = (("y", "x"), ("lat", "lon"), ("latitude", "longitude"), ("row", "col"), ("rows", "cols"))


def is_dataarray(obj) -> bool:
    """Whether ``obj`` quacks like an ``xarray.DataArray``."""
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
    return ArrayScene(cube, crs=crs, transform=transform, nodata=nodata, path="<DataArray>"), spatial


def scores_as_dataarray(scores: np.ndarray, template, spatial: tuple[str, str]):
    """The (H, W) map as a DataArray with the template's spatial coordinates and CRS.

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
    out = xarray.DataArray(scores, dims=spatial, coords=coords, name="anomaly_score")
    if _has_rioxarray() and getattr(template, "rio", None) is not None and template.rio.crs is not None:
        out = out.rio.write_crs(template.rio.crs)
    return out


def _has_rioxarray() -> bool:
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
    except ImportError:
        return False
    return True


def check_plain_array_layout(cube) -> None:
    """Refuse a plain array that is more likely (bands, rows, cols) than (rows, cols, bands).

    ``rasterio``'s ``dataset.read()`` and ``rioxarray.open_rasterio(...).values`` are band
    first.  A square image read that way is (B, N, N): as (H, W, B) it would be a strip
    whose band count equals its width, which real cubes almost never are.

    Raises
    ------
    ParameterError
        Naming both fixes.
    """
    shape = np.shape(cube)
    if len(shape) == 3 and shape[0] < shape[1] == shape[2]:
        raise ParameterError(
            f"array of shape {shape} looks band-first (bands, rows, cols); hadinfer reads plain arrays as "
            f"(rows, cols, bands): pass np.moveaxis(a, 0, -1), a DataArray with a 'band' dimension, or "
            f"hadinfer.ArrayScene(a) to score it as (rows, cols, bands) anyway")
