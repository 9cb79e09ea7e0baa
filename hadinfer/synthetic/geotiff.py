"""Synthetic scenes written as GeoTIFFs, block by block, whatever their size.

The scene (see :mod:`hadinfer.synthetic.scene_model`) is rendered a block of
rows at a time and written to a GeoTIFF georeferenced in UTM 33N with 2 m
pixels, optionally with a single-band truth mask on the same grid.  Integer
scenes store scaled reflectance; the tags ``HADINFER_SYNTHETIC_SEED`` and
``REFLECTANCE_SCALE`` record the seed and the scale.  Both files are written
under hidden names and renamed into place once complete
(:func:`hadinfer.io.atomic.atomic_output`).
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.transform import from_origin
from rasterio.windows import Window

from ..errors import OutputExistsError, OutputPathError, ParameterError, library_message
from ..io.atomic import atomic_output, write_failure_reason
from .scene_model import _SceneModel
from .validation import non_negative_int, positive_int

#: Georeferencing of every synthetic scene: UTM 33N, 2 m pixels.
SYNTHETIC_CRS = "EPSG:32633"
SYNTHETIC_TRANSFORM = from_origin(500_000.0, 4_600_000.0, 2.0, 2.0)
#: Integer rasters store ``round(reflectance * REFLECTANCE_SCALE)``.
REFLECTANCE_SCALE = 10_000
#: Scene dtypes :func:`write_synthetic_scene` accepts.
SCENE_DTYPES = ("int16", "uint16", "float32", "float64")

_TILE = 256
_BLOCK_BYTES = 64 * 2**20


def write_synthetic_scene(
    scene_path,
    truth_path=None,
    *,
    height=256,
    width=256,
    bands=100,
    dtype="int16",
    seed=0,
    interleave="band",
    tiled=True,
    block_rows=None,
    overwrite=False,
):
    """Write a synthetic scene, and optionally its truth, as GeoTIFFs.

    Parameters
    ----------
    scene_path : str or os.PathLike
        Output GeoTIFF of ``bands`` bands.
    truth_path : str or os.PathLike, optional
        Output single-band uint8 GeoTIFF, 1 = anomaly, 0 = background, on the
        same grid (CRS, transform, size) as the scene.
    height, width : int, default 256
        Scene size in pixels, > 0.
    bands : int, default 100
        Number of bands, > 0.
    dtype : {"int16", "uint16", "float32", "float64"}, default "int16"
        Integer types store ``round(reflectance * 10000)`` (rounded in
        float32) clipped to the type's range; float types store reflectance.
    seed : int, default 0
        Non-negative seed; the pixels equal ``make_cube(height, width, bands,
        seed=seed)``.
    interleave : {"band", "pixel"}, default "band"
        GDAL ``INTERLEAVE`` creation option.
    tiled : bool, default True
        256 x 256 tiles if true, else strips.
    block_rows : int, optional
        Rows generated and written at a time.  By default, as many as keep the
        float32 block within about 64 MB, rounded to fill whole tile rows when
        ``tiled``.
    overwrite : bool, default False
        Replace existing outputs.

    Returns
    -------
    dict
        ``scene_path``, ``truth_path`` (str or None), ``height``, ``width``,
        ``bands``, ``dtype``, ``interleave``, ``tiled``, ``seed``, ``crs``,
        ``transform`` (GDAL 6-tuple), ``targets`` (planted targets) and
        ``anomaly_pixels`` (truth pixels equal to 1).

    Raises
    ------
    ParameterError
        If an argument has the wrong type or value.
    OutputExistsError
        If an output exists and ``overwrite`` is false.
    OutputPathError
        If an output's folder is missing, an output is a folder, both outputs
        are the same file, or GDAL cannot create a file.

    Notes
    -----
    Peak memory is about three times the float32 block (``block_rows * width
    * bands * 4`` bytes) plus GDAL's block cache, whatever the scene size.
    GDAL keeps written blocks in that cache until it is full, so the cache
    (``GDAL_CACHEMAX``, by default 5 % of RAM) sets the peak for large scenes;
    this function leaves it alone.  To bound it, call inside
    ``rasterio.Env(GDAL_CACHEMAX=256 * 2**20)``: a tiled scene whose tile row
    does not fit is still written correctly, GDAL just rereads partly written
    tiles.  GTiff switches to BigTIFF by itself when the file needs it.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     info = write_synthetic_scene(os.path.join(folder, "scene.tif"),
    ...                                  os.path.join(folder, "truth.tif"),
    ...                                  height=64, width=64, bands=10)
    >>> info["dtype"], info["targets"], info["anomaly_pixels"] > 0
    ('int16', 4, True)
    """
    height = positive_int(height, "height")
    width = positive_int(width, "width")
    bands = positive_int(bands, "bands")
    seed = non_negative_int(seed, "seed")
    dtype = _scene_dtype(dtype)
    if not isinstance(interleave, str) or interleave.lower() not in ("band", "pixel"):
        raise ParameterError(f"interleave: expected 'band' or 'pixel', got {interleave!r}")
    interleave = interleave.lower()
    if not isinstance(tiled, (bool, np.bool_)):
        raise ParameterError(f"tiled: expected a bool, got {tiled!r}")
    if not isinstance(overwrite, (bool, np.bool_)):
        raise ParameterError(f"overwrite: expected a bool, got {overwrite!r}")
    if block_rows is None:
        block_rows = default_block_rows(width, bands, tiled=bool(tiled))
    else:
        block_rows = positive_int(block_rows, "block_rows")
    block_rows = min(block_rows, height)

    scene_path = _output_path(scene_path, "scene_path", overwrite)
    if truth_path is not None:
        truth_path = _output_path(truth_path, "truth_path", overwrite)
        if os.path.abspath(truth_path) == os.path.abspath(scene_path):
            raise OutputPathError(f"truth_path: {truth_path} is the same file as scene_path")

    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "crs": SYNTHETIC_CRS,
        "transform": SYNTHETIC_TRANSFORM,
        "interleave": interleave,
    }
    if tiled:
        profile.update(tiled=True, blockxsize=_TILE, blockysize=_TILE)
    else:
        profile.update(tiled=False)  # GDAL picks rows per strip

    model = _SceneModel.build(height, width, bands, seed)
    anomaly_pixels = 0
    # Each file is written under a unique hidden name and renamed into place once
    # complete (hadinfer.io.atomic): an interrupted run leaves neither file behind.
    with contextlib.ExitStack() as outputs:
        scene_tmp = outputs.enter_context(atomic_output(scene_path, overwrite=overwrite, suffix=".tmp.tif"))
        truth_tmp = None
        if truth_path is not None:
            truth_tmp = outputs.enter_context(
                atomic_output(truth_path, overwrite=overwrite, others=(scene_path,), suffix=".tmp.tif"))
        try:
            scene_profile = dict(profile, count=bands, dtype=dtype)
            with _create(scene_tmp, "scene_path", scene_profile, shown=scene_path) as scene:
                scene.update_tags(
                    HADINFER_SYNTHETIC_SEED=str(seed),
                    REFLECTANCE_SCALE=str(REFLECTANCE_SCALE if np.dtype(dtype).kind in "iu" else 1),
                )
                truth_ds = None
                if truth_tmp is not None:
                    truth_profile = dict(profile, count=1, dtype="uint8", interleave="band")
                    truth_ds = _create(truth_tmp, "truth_path", truth_profile, shown=truth_path)
                try:
                    for row in range(0, height, block_rows):
                        rows = min(block_rows, height - row)
                        cube, truth = model.render(row, 0, rows, width)
                        window = Window(0, row, width, rows)
                        scene.write(_encode(cube, dtype), window=window)
                        del cube
                        if truth_ds is not None:
                            truth_ds.write(truth, 1, window=window)
                        anomaly_pixels += int(np.count_nonzero(truth))
                finally:
                    if truth_ds is not None:
                        truth_ds.close()
        except RasterioError as exc:  # a full disk, say: one line, and no file left
            reason = write_failure_reason(exc, os.path.dirname(os.path.abspath(scene_path)))
            raise OutputPathError(f"scene_path: cannot write {scene_path} ({reason})") from exc

    return {
        "scene_path": str(scene_path),
        "truth_path": None if truth_path is None else str(truth_path),
        "height": height,
        "width": width,
        "bands": bands,
        "dtype": dtype,
        "interleave": interleave,
        "tiled": bool(tiled),
        "seed": seed,
        "crs": SYNTHETIC_CRS,
        "transform": SYNTHETIC_TRANSFORM.to_gdal(),
        "targets": model.target_count,
        "anomaly_pixels": anomaly_pixels,
    }


def default_block_rows(width, bands, *, tiled=True):
    """Rows per block that keep a float32 block within about 64 MB.

    Parameters
    ----------
    width, bands : int
        Scene width in pixels and band count, > 0.
    tiled : bool, default True
        Round to whole 256-row tile rows when a block holds at least one, else
        to a power of two, so blocks never straddle a tile row boundary.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> default_block_rows(2048, 200), default_block_rows(256, 100)
    (32, 512)
    """
    width = positive_int(width, "width")
    bands = positive_int(bands, "bands")
    rows = max(1, _BLOCK_BYTES // (width * bands * 4))
    if tiled:
        rows = rows - rows % _TILE if rows >= _TILE else 1 << (rows.bit_length() - 1)
    return rows



def _encode(cube: np.ndarray, dtype: str) -> np.ndarray:
    """(rows, cols, bands) float32 reflectance to the (bands, rows, cols) array written to disk."""
    bands_first = cube.transpose(2, 0, 1)
    target = np.dtype(dtype)
    if target.kind == "f":
        return np.ascontiguousarray(bands_first, dtype=target)
    scaled = bands_first * np.float32(REFLECTANCE_SCALE)
    np.rint(scaled, out=scaled)
    info = np.iinfo(target)
    np.clip(scaled, info.min, info.max, out=scaled)
    return np.ascontiguousarray(scaled.astype(target, order="K"))


def _create(path, name: str, profile: dict, shown=None):
    try:
        return rasterio.open(path, "w", **profile)
    except RasterioError as exc:
        raise OutputPathError(f"{name}: cannot create {shown or path} ({library_message(exc)})") from exc


def _output_path(path, name: str, overwrite: bool) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"{name}: expected a path, got {path!r}")
    path = os.fspath(path)
    if not path:
        raise ParameterError(f"{name}: empty path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputPathError(f"{name}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise OutputPathError(f"{name}: {path} is a folder")
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(f"{name}: {path} exists (pass overwrite=True to replace it)")
    return path



def _scene_dtype(value) -> str:
    try:
        name = np.dtype(value).name
    except (TypeError, ValueError):
        name = None
    if name not in SCENE_DTYPES:
        raise ParameterError(f"dtype: expected one of {', '.join(SCENE_DTYPES)}, got {value!r}")
    return name
