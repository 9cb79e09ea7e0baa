"""Reading scenes and masks, writing score maps."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from rasterio.windows import Window

from ..errors import BandSelectionError
from .array_scene import ArrayScene
from .bands import format_band_spec
from .inputs import check_input_file, gdal_path, input_files
from .mat_scene import MatScene, is_mat_file, load_mat_array
from .raster_scene import RasterioScene
from .scene import Scene, SceneInfo

__all__ = ["ArrayScene", "MatScene", "RasterioScene", "Scene", "SceneInfo", "input_files", "open_scene",
           "read_mask", "read_truth", "scene_band_centres", "truth_labels", "wavelength_band_spec"]


def _check_exists(path: str) -> None:
    check_input_file(path)  # missing, a FIFO or device (which would hang), a name GDAL cannot take


def open_scene(path: str | os.PathLike, *, key: str | None = None, bands: str | None = None,
               wavelengths: str | Sequence[tuple[float, float]] | None = None) -> Scene:
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
    wavelengths : str or sequence of (float, float), optional
        Keep only the bands whose centre wavelength lies in these inclusive nanometre
        ranges, such as ``"400-1340,1450-1790"`` or ``[(400, 1340), (1450, 1790)]``
        (with ``bands`` too, a band must satisfy both).  The wavelengths come from an
        ENVI header or GDAL band metadata, in any length unit; ``scene.info.wavelengths``
        holds them, in nm, for the selected bands.

    Returns
    -------
    Scene
        Use as a context manager.

    Raises
    ------
    InputNotFoundError, NotARasterError, MatKeyError, BandSelectionError, RasterReadError
        ``NotARasterError`` also for a FIFO or device (refused before it is opened, so
        nothing hangs) and for a raw file shorter than its header says;
        ``InputNotFoundError`` also for a VRT source that is missing;
        ``BandSelectionError`` also when ``wavelengths`` is given for a file whose
        bands have none (e.g. a ``.mat`` cube).
    """
    path = os.fspath(path)
    _check_exists(path)
    if is_mat_file(path):
        if wavelengths is not None:  # refused before the cube is loaded
            raise BandSelectionError(f"{path}: a .mat cube has no band wavelengths, so --wavelengths cannot select "
                                     "its bands; use --bands")
        return MatScene(path, key=key, bands=bands)
    path = gdal_path(path)  # an ENVI header: its data file
    return RasterioScene(path, bands=bands, wavelengths=wavelengths)


def wavelength_band_spec(path: str | os.PathLike, wavelengths: str | Sequence[tuple[float, float]], *,
                         key: str | None = None, bands: str | None = None) -> str:
    """The 1-based ``--bands`` spec that selects ``wavelengths`` in a scene.

    Reads only the header (no pixels), so a command can turn nanometre ranges into
    the band numbers an API that takes ``bands`` understands.

    Parameters
    ----------
    path : str or PathLike
        The scene.
    wavelengths : str or sequence of (float, float)
        Nanometre ranges (see :func:`open_scene`).
    key, bands : str, optional
        As for :func:`open_scene`; the result also honours ``bands`` and drops bad bands.

    Returns
    -------
    str
        E.g. ``"1-102,110-150"``, never empty.

    Raises
    ------
    BandSelectionError
        The file has no wavelengths, or no band is left.
    """
    with open_scene(path, key=key, bands=bands, wavelengths=wavelengths) as scene:
        return format_band_spec(scene.info.bands)


def scene_band_centres(source, *, key: str | None = None, bands: str | None = None) -> tuple[float, ...] | None:
    """Centre wavelengths (nm) of the bands a run reads, from the header alone; None when it has none.

    Parameters
    ----------
    source : str, PathLike or Scene
        A path (a ``.mat`` cube has no wavelengths and is not loaded) or an open scene.
    key, bands : str, optional
        As for :func:`open_scene`.
    """
    if isinstance(source, Scene):
        return source.info.wavelengths
    if not isinstance(source, (str, os.PathLike)) or is_mat_file(os.fspath(source)):
        return None
    with open_scene(source, key=key, bands=bands) as scene:
        return scene.info.wavelengths


def read_mask(path: str | os.PathLike, *, key: str | None = None) -> tuple[np.ndarray, SceneInfo | None]:
    """Read a ground-truth mask (raster band 1, or a 2-D ``.mat`` variable): :func:`read_truth` without ``labelled``.

    Parameters
    ----------
    path, key
        As for :func:`read_truth`.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        ``True`` = anomaly: any nonzero value, except the mask's own nodata value and
        NaN, which label nothing.
    info : SceneInfo or None
        Georeferencing of a raster mask; ``None`` for ``.mat``.
    """
    anomaly, _, info = read_truth(path, key=key)
    return anomaly, info


def read_truth(path: str | os.PathLike, *, key: str | None = None) -> tuple[np.ndarray, np.ndarray, SceneInfo | None]:
    """Read a ground-truth mask with which of its pixels are labelled at all.

    A mask's nodata value (a raster's) and non-finite values mark pixels nobody
    labelled, e.g. outside a surveyed area: they are neither anomaly nor background, and
    :func:`hadinfer.evaluate` leaves them out (they once counted as anomalies, being
    nonzero).  A nodata value of 0 is the exception: masks are often written with
    ``nodata=0`` where 0 means background, so 0 stays background.

    Parameters
    ----------
    path : str or PathLike
        Raster or ``.mat`` file.
    key : str, optional
        ``.mat`` variable; auto-detected as the largest 2-D numeric array.

    Returns
    -------
    anomaly : ndarray of bool, shape (H, W)
        Labelled and nonzero.
    labelled : ndarray of bool, shape (H, W)
        Finite and not the mask's nodata value.
    info : SceneInfo or None
        Georeferencing of a raster mask; ``None`` for ``.mat``.
    """
    path = os.fspath(path)
    _check_exists(path)
    if is_mat_file(path):
        array, _, fmt = load_mat_array(path, key, ndim=2)
        raw = np.asarray(array)
        if fmt == "MAT-v7.3":
            raw = raw.T
        info, nodata = None, None
    else:
        with RasterioScene(path, bands="1") as scene:
            raw = scene._read_raw(Window(0, 0, scene.info.width, scene.info.height))[:, :, 0]
            info, nodata = scene.info, scene.info.nodata
    return (*truth_labels(raw, nodata), info)


def truth_labels(raw: np.ndarray, nodata: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(anomaly, labelled)`` of a truth mask's values, as :func:`read_truth` reads them.

    ``labelled``: finite and not ``nodata`` (a ``nodata`` of 0 stays background);
    ``anomaly``: labelled and nonzero.
    """
    raw = np.asarray(raw)
    labelled = np.isfinite(raw) if np.issubdtype(raw.dtype, np.floating) else np.ones(raw.shape, dtype=bool)
    if nodata is not None and not np.isnan(nodata) and nodata != 0:  # nodata=0: background, as usually meant
        labelled &= raw != nodata
    return labelled & (raw != 0), labelled
