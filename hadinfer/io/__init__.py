"""Reading scenes and masks, writing score maps."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputNotFoundError, NotARasterError, RasterReadError
from .array_scene import ArrayScene
from .mat_scene import MatScene, is_mat_file, load_mat_array
from .raster_scene import RasterioScene
from .scene import Scene, SceneInfo

__all__ = ["ArrayScene", "MatScene", "RasterioScene", "Scene", "SceneInfo", "open_scene", "read_mask"]


def _check_exists(path: str) -> None:
    # GDAL also reads /vsi* paths and URLs; only plain paths can be checked up front.
    if not path.startswith(("/vsi", "http://", "https://", "s3://")) and not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file")


def open_scene(path: str | os.PathLike, *, key: str | None = None, bands: str | None = None) -> Scene:
    """Open a hyperspectral scene read-only.

    Parameters
    ----------
    path : str or PathLike
        A raster GDAL reads (GeoTIFF, ENVI ``.hdr``/``.img``, ...) or a MATLAB ``.mat``
        file holding a rows x cols x bands cube.
    key : str, optional
        ``.mat`` variable name; auto-detected when omitted.
    bands : str, optional
        1-based band selection such as ``"1-100,120-200"``; ENVI bad bands are
        always dropped.

    Returns
    -------
    Scene
        Use as a context manager.

    Raises
    ------
    InputNotFoundError, NotARasterError, MatKeyError, BandSelectionError
    """
    path = os.fspath(path)
    _check_exists(path)
    if is_mat_file(path):
        return MatScene(path, key=key, bands=bands)
    if path.lower().endswith(".hdr"):  # users point at the header; GDAL wants the data file
        data = Path(path).with_suffix("")
        for candidate in (data, data.with_suffix(".img"), data.with_suffix(".dat"), data.with_suffix(".raw")):
            if candidate.is_file():
                path = str(candidate)
                break
    return RasterioScene(path, bands=bands)


def read_mask(path: str | os.PathLike, *, key: str | None = None) -> tuple[np.ndarray, SceneInfo | None]:
    """Read a ground-truth mask (raster band 1, or a 2-D ``.mat`` variable).

    Parameters
    ----------
    path : str or PathLike
        Raster or ``.mat`` file.
    key : str, optional
        ``.mat`` variable; auto-detected as the largest 2-D numeric array.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        ``True`` = anomaly (any nonzero value).
    info : SceneInfo or None
        Georeferencing of a raster mask; ``None`` for ``.mat``.
    """
    path = os.fspath(path)
    _check_exists(path)
    if is_mat_file(path):
        array, _, fmt = load_mat_array(path, key, ndim=2)
        mask = np.asarray(array)
        if fmt == "MAT-v7.3":
            mask = mask.T
        return mask != 0, None
    with RasterioScene(path, bands="1") as scene:
        raw = scene._read_raw(0, 0, scene.info.height, scene.info.width)[:, :, 0]
        return raw != 0, scene.info
