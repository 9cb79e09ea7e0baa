"""Dask arrays and DataArrays: statistics as a reduction, scores through ``map_overlap`` with the detector's halo."""

from __future__ import annotations

import numpy as np

from ..detectors import DEFAULT_DETECTOR, BackgroundStats
from ..errors import ParameterError
from ..io import ArrayScene
# The DataArray rules of hadinfer.detect (band dimension names, spatial order, rioxarray
# present or not), so both entry points read a DataArray the same way.
from ..io.xarray_scene import _dims as dataarray_dims
from ..io.xarray_scene import _has_rioxarray
from ..io.xarray_scene import check_plain_array_layout, is_dataarray, scores_as_dataarray
from .cluster import import_dask_array
from .specs import DetectorSpec, detector_spec
from .stats_reduction import cube_stats, merge_stats, tree_reduce


def _cube(block: np.ndarray, nodata) -> tuple[np.ndarray, np.ndarray]:
    """A block as a scene read gives it: float64, invalid pixels zeroed, and the valid mask."""
    return ArrayScene(block, nodata=nodata).read_all()


def _block_stats(block: np.ndarray, nodata, precision: str) -> BackgroundStats:
    return cube_stats(*_cube(block, nodata), precision)


def _score_block(block, spec: DetectorSpec, stats: BackgroundStats, nodata, halo: int, device: str,
                 block_info=None) -> np.ndarray:
    """Score the core of one overlapped block; the halo rows and columns (trimmed by dask) stay NaN.

    With ``boundary="none"`` dask adds ``halo`` only on sides that have a neighbour, so the
    core is found from the block's position alone, and image borders stay borders.
    """
    where, count = block_info[0]["chunk-location"], block_info[0]["num-chunks"]
    height, width = block.shape[:2]
    top, left = (halo if where[0] > 0 else 0), (halo if where[1] > 0 else 0)
    bottom = height - (halo if where[0] < count[0] - 1 else 0)
    right = width - (halo if where[1] < count[1] - 1 else 0)
    core = (slice(top, bottom), slice(left, right))
    detector = spec.fitted(stats)  # per block: an eigen-decomposition, and sessions cannot travel
    cube, valid = _cube(block, nodata)
    out = np.full((height, width), np.nan, dtype=np.float32)
    out[core] = detector.score(cube, valid, core, arrays=detector.arrays_for(device))
    return out


def _as_cube(array, nodata):
    """(dask cube (rows, cols, bands), DataArray template or None, spatial dims, nodata)."""
    da = import_dask_array()
    template = spatial = None
    if is_dataarray(array):
        template = array
        band, spatial = dataarray_dims(array)
        array = array.transpose(*spatial, band).data
        rio = getattr(template, "rio", None) if nodata is None and _has_rioxarray() else None
        if rio is not None:
            nodata = rio.nodata
    elif not isinstance(array, da.Array):
        check_plain_array_layout(array)
    cube = array if isinstance(array, da.Array) else da.from_array(np.asarray(array))
    if cube.ndim != 3:
        raise ParameterError(f"array: expected (rows, cols, bands), got {cube.ndim} dimensions")
    if not np.issubdtype(cube.dtype, np.number) or np.issubdtype(cube.dtype, np.complexfloating):
        raise ParameterError(f"array: expected real numbers, got dtype {cube.dtype}")
    return cube.rechunk({2: -1}), template, spatial, nodata  # a spectrum is never split


def background_stats(array, *, nodata=None, precision: str = "float64", split_every: int = 8):
    """Global background statistics of a dask cube, as a lazy tree reduction.

    Each block gives a :class:`~hadinfer.detectors.BackgroundStats` of its valid pixels
    (every band finite and not all equal to ``nodata``); blocks are merged exactly
    (:meth:`BackgroundStats.merge`), ``split_every`` at a time.

    Parameters
    ----------
    array : dask.array.Array, xarray.DataArray or array_like
        (rows, cols, bands), or a DataArray with a band dimension in any order.
    nodata : float, optional
        Default the DataArray's ``rio.nodata``.
    precision : {"float64", "float32"}
        Arithmetic of each block's scatter (a detector's ``stats_precision``); blocks
        are merged in float64.
    split_every : int
        Fan-in of the merge tree.

    Returns
    -------
    dask.delayed.Delayed
        ``.compute()`` gives a :class:`~hadinfer.detectors.BackgroundStats`.
    """
    from dask import delayed

    cube, _, _, nodata = _as_cube(array, nodata)
    return _stats_graph(cube, nodata, precision, split_every, delayed)


def _stats_graph(cube, nodata, precision, split_every, delayed):
    leaves = [delayed(_block_stats, pure=True)(block, nodata, precision) for block in cube.to_delayed().ravel()]
    return tree_reduce(leaves, delayed(merge_stats, pure=True), split_every=split_every)


def detect_array(array, detector=DEFAULT_DETECTOR, *, nodata=None, device: str = "auto", stats=None,
                 split_every: int = 8, **params):
    """Lazy anomaly scores of a dask cube (or DataArray), block by block with the detector's halo.

    Parameters
    ----------
    array : dask.array.Array, xarray.DataArray or array_like
        (rows, cols, bands) -- a plain array that looks band-first is refused, as by
        :func:`hadinfer.detect` -- or a DataArray with a band dimension (``band``,
        ``wavelength``, ...) in any order, dask-backed or not.  Band chunks are merged
        (a spectrum is scored whole); row and column chunks are the tiles.
    detector : str, PathLike or DetectorChoice
        A registered name or a model file, resolved once here
        (:func:`hadinfer.detectors.registry.choose`); each task builds its own from that choice.
    nodata : float, optional
        Pixels whose every band equals it are not scored (NaN) and left out of the
        statistics, as are pixels with a non-finite band.  Default the DataArray's
        ``rio.nodata``.
    device : str
        Resolved on each worker (``auto``, ``cpu``, ``cuda``).
    stats : BackgroundStats or Delayed, optional
        The scene's statistics, when already known; default :func:`background_stats`
        of ``array``, part of the same graph.
    split_every : int
        Fan-in of the statistics' merge tree.
    **params
        The detector's parameters, e.g. ``inner=5, outer=21``.

    Returns
    -------
    dask.array.Array of float32, shape (rows, cols), or xarray.DataArray
        Nothing is computed yet.  A DataArray input gives a DataArray with its spatial
        coordinates and CRS.

    Raises
    ------
    ParameterError
        Not three dimensions, no band dimension, a non-numeric dtype, a detector that
        cannot be rebuilt on workers, an image smaller than the detector's window.
    MissingDependencyError
        dask is not installed.

    Notes
    -----
    Every score needs the global statistics, and the statistics need every block, so
    with the default ``stats`` the scheduler either keeps the input blocks in memory
    between the two passes or reads them twice.  For a cube larger than the cluster's
    memory compute the statistics first (``stats = background_stats(a).compute()``):
    each pass then streams.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> cube = np.random.default_rng(0).normal(size=(40, 40, 6))
    >>> cube[12, 30] += 8
    >>> scores = detect_array(da.from_array(cube, chunks=(16, 16, 6)), detector="grx", device="cpu")
    >>> np.unravel_index(np.nanargmax(scores.compute(scheduler="sync")), scores.shape)
    (np.int64(12), np.int64(30))
    """
    from dask import delayed

    da = import_dask_array()
    cube, template, spatial, nodata = _as_cube(array, nodata)
    spec = detector_spec(detector, params)
    model = spec.build()  # here only for its halo and image checks
    model.check_image(cube.shape[0], cube.shape[1])
    halo = model.halo
    # An axis no longer than the halo is scored in one block: dask refuses an overlap deeper
    # than the array ("overlapping depth 83 is larger than your array 64"), and a block
    # without neighbours needs none (_score_block finds the core from its position).
    cube = cube.rechunk({axis: -1 for axis in (0, 1) if cube.shape[axis] <= halo})
    depth = {axis: halo if cube.numblocks[axis] > 1 else 0 for axis in (0, 1)} | {2: 0}
    if stats is None:
        stats = _stats_graph(cube, nodata, model.stats_precision, split_every, delayed)
    elif isinstance(stats, BackgroundStats):  # one key in the graph, not a copy inside every task
        stats = delayed(stats, pure=True)
    scores = da.map_overlap(_score_block, cube, depth=depth, boundary="none", trim=True,
                            drop_axis=2, dtype=np.float32, meta=np.empty((0, 0), dtype=np.float32),
                            spec=spec, stats=stats, nodata=nodata, halo=halo, device=device,
                            token="hadinfer-score")
    if template is not None:
        return scores_as_dataarray(scores, template, spatial)
    return scores
