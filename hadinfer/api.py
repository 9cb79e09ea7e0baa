"""The Python API: detect anomalies in a file or an array, evaluate a map."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from .detectors import DEFAULT_DETECTOR, Detector, SceneRef
from .detectors.registry import DetectorChoice, choose, model_files, with_band_centres
from .errors import AllNodataError, ParameterError
from .io import ArrayScene, Scene, open_scene, read_truth, scene_band_centres, truth_labels, wavelength_band_spec
from .io.bands import format_band_spec
from .io.block_cache import DEFAULT_MB, halo_cache_bytes
from .io.read_options import direct_read_options
from .io.writer import check_output_path
from .io.xarray_scene import (check_plain_array_layout, dataarray_scene, is_dataarray, is_dataset,
                              scores_as_dataarray)
from .metrics import detection_metrics
from .pairs import as_pair
from .pipeline import ProgressCallback, _no_progress, progress_callback, run_detector
from .run_frame import OutputSpec, RunFrame


@dataclass
class DetectionResult:
    """What :func:`detect` returns.

    Attributes
    ----------
    scores : ndarray of float32, shape (H, W), xarray.DataArray, or None
        The map (NaN = not scored); a DataArray with the input's spatial coordinates and
        CRS when the input was one; ``None`` when it was written to ``path`` instead.
    report : dict
        Detector, device, tile size, scene size (``scene``, with ``valid_pixels``: the
        pixels scored, where every band holds a finite value other than nodata), seconds
        per stage, megapixels per second, peak memory (MiB).
    path : Path or None
        The written map.
    detector : Detector or None
        The fitted detector (e.g. for a global RX map's chi-square threshold).
    threshold : hadinfer.thresholds.Threshold or None
        The detection threshold and its rule, when ``pfa`` or ``threshold`` was given.
    detections : geopandas.GeoDataFrame, list of Detection, or None
        The regions above the threshold, strongest first, in the map's CRS (a
        GeoDataFrame when geopandas is installed, extra ``vector``); each with its mean
        spectrum.
    """

    scores: np.ndarray | None
    report: dict
    path: Path | None = None
    detector: Detector | None = None
    threshold: object | None = None
    detections: object | None = None


def _as_scene(source, key, bands) -> tuple[Scene, bool]:
    if isinstance(source, Scene):
        if bands is not None:
            raise ParameterError("bands= is not applied to an open Scene; open it with the bands you want")
        return source, False
    if isinstance(source, (str, os.PathLike)):
        return open_scene(source, key=key, bands=bands), True
    return ArrayScene(source, bands=bands), True


def detect(source, output=None, *, detector: str | Detector | DetectorChoice = DEFAULT_DETECTOR, key: str | None = None,
           bands: str | None = None, device: str = "auto", tile_size=256, overwrite: bool = False,
           cog: bool = False, creation_options: dict[str, str] | None = None, wavelengths=None,
           progress: ProgressCallback = _no_progress, gdal_cache_mb: float | str | None = "auto",
           layout: str | None = None, pfa: float | None = None, threshold: float | None = None,
           detections=None, threshold_rule: str = "tail", **detector_params) -> DetectionResult:
    """Run an anomaly detector over a scene.

    Parameters
    ----------
    source : str, PathLike, Scene, xarray.DataArray or array_like of shape (H, W, B)
        A raster or ``.mat`` path, an open scene, a DataArray with a ``band`` dimension in
        any order (its CRS and transform are kept, a ``wavelength`` coordinate along the
        band dimension gives the band centres, the result is a DataArray with
        provenance in ``attrs``; extra ``xarray``), or an in-memory cube (a NumPy masked
        array's mask is kept).  A plain array whose last axis is not its shortest needs
        ``layout``.  An open rasterio dataset is refused: pass its path.
    output : str or PathLike, optional
        Write a float32 GeoTIFF map here (input's CRS, transform, size and nodata);
        when omitted the map is returned in memory.
    detector : str, path, DetectorChoice or Detector
        Default :data:`hadinfer.detectors.DEFAULT_DETECTOR`.  Resolved once, by the
        detector registry (:func:`hadinfer.detectors.registry.choose`; every name and what
        it needs: :func:`hadinfer.detectors.registered`), exactly as
        ``hadinfer detect --detector`` is (which passes its choice here): ``fusion``
        (global RX and multi-window local RX, geometric mean, no training); ``fusion-area``
        and ``fusion-peaks`` (``fusion`` with small-object evidence, ``area=``; extra
        ``area``); ``learned`` (``fusion`` on the spectra and on the shipped learned
        features, ``model=`` another feature model file); ``grx``; ``lrx``; ``general`` for the
        shipped deep model (ONNX Runtime, or ``runtime="torch"``; see
        ``hadinfer/weights/MODEL_CARD.md``);
        ``adapt`` to fine-tune the shipped model on this scene first (needs the ``train``
        extra; the report then has ``seconds.train`` and ``seconds.test``; ``seed=``,
        ``steps=``, ``config=TrainConfig(...)``, ``train_progress=`` and ``start=`` (another
        checkpoint) tune it); a model file (checkpoint, ONNX model or engine;
        ``runtime="torch"|"onnxruntime"|"tensorrt"`` to choose, default by content); or a
        Detector instance.
    key, bands : str, optional
        ``.mat`` variable and 1-based band selection (see :func:`hadinfer.io.open_scene`);
        ``bands`` applies to arrays too.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        Where to compute, decided by what runs the detector: the array library for RX
        detectors (CUDA when PyTorch sees a GPU), the model runtime for networks (e.g.
        ONNX Runtime's CUDA provider).  A device that cannot be honoured raises; nothing
        falls back to the CPU silently.
    tile_size : int or (int, int)
        Core tile size in pixels (rounded up to the file's blocks).  The map does not
        depend on it, to the bit; peak memory does.  Network detectors score on their own
        grid (:attr:`~hadinfer.detectors.Detector.native_tile`, 256) whatever it says.
    overwrite, cog : bool
        Replace an existing ``output``; write it as a Cloud-Optimized GeoTIFF.
    creation_options : dict, optional
        GDAL creation options of the map, e.g. ``{"compress": "ZSTD", "zstd_level": "9"}``,
        replacing hadinfer's defaults; checked before any work by the rule ``--co`` uses
        (:func:`hadinfer.io.creation_options.check_creation_options`).
    wavelengths : str or sequence of (float, float), optional
        Keep bands whose centre wavelength lies in these inclusive nm ranges (file paths
        only; see :func:`hadinfer.io.open_scene`).
    progress : callable, optional
        ``progress(stage, done, total)`` after each tile; None or False: no progress.
    gdal_cache_mb : "auto", float or None
        GDAL block cache for this call, in MiB.  ``"auto"`` (default): 1 MiB, which keeps
        no file block from one tile to the next, so memory stays flat (GDAL's own
        default, 5 % of RAM, would let it grow with the scene); but for a detector with a
        halo on a *compressed* file, whose blocks every neighbouring tile would decompress
        again, the blocks of one tile's read window when they fit in 512 MiB and a
        sixteenth of the memory (:func:`hadinfer.io.block_cache.halo_cache_bytes`;
        ``fusion`` on a DEFLATE 2000 x 2000 x 200 GeoTIFF: 24.8 s instead of 45.9, peak
        778 MiB instead of 470).  The report's ``gdal_cache_mb`` says what ran.  Ignored when the
        ``GDAL_CACHEMAX`` environment variable is set; None keeps GDAL's.
    layout : {"bands-last", "bands-first"}, optional
        Axis order of a plain array: ``bands-first`` for rasterio's ``dataset.read()``.
        Required when the last axis is not the shortest (the order is then ambiguous).
    pfa, threshold : float, optional
        Also threshold the map: at a false-alarm rate ``pfa`` in (0, 1) on background
        pixels (``threshold_rule``, default the tail model of :mod:`hadinfer.thresholds`),
        or at an absolute score.  Sets ``result.threshold`` and ``result.detections``.
    detections : str or PathLike, optional
        Write the detections there (``.gpkg`` in the scene's CRS, or ``.geojson``, RFC
        7946, WGS 84; see :mod:`hadinfer.vectors`); needs ``pfa`` or ``threshold``.
    threshold_rule : {"tail", "quantile", "chi2"}
        See :func:`hadinfer.thresholds.choose_threshold`.
    **detector_params
        Passed to the detector, e.g. ``inner=5, outer=21, n_components=20`` for ``lrx``;
        a parameter the detector does not take raises :class:`ParameterError`.

    Returns
    -------
    DetectionResult

    Raises
    ------
    HadinferError
        Any input, parameter, device or output problem (one-line message).

    Examples
    --------
    >>> import numpy as np, hadinfer
    >>> cube = np.random.default_rng(0).normal(size=(32, 32, 8))
    >>> cube[5, 7] += 6
    >>> result = hadinfer.detect(cube, detector="grx", device="cpu")
    >>> np.unravel_index(np.nanargmax(result.scores), result.scores.shape)
    (np.int64(5), np.int64(7))
    """
    wanted = _check_detection_request(pfa, threshold, detections, threshold_rule)
    progress = progress_callback(progress)
    if is_dataset(source):
        raise ParameterError(f"source: an open rasterio dataset ({getattr(source, 'name', '?')}); pass its path, "
                             "or dataset.read() with layout='bands-first'")
    scene_file = (source,) if isinstance(source, (str, os.PathLike)) else ()
    # The one resolution of the detector value in this run (a Detector instance is used as given).
    choice = None if isinstance(detector, Detector) else choose(detector, detector_params)
    reads = () if choice is None else choice.model_files
    # Fail on a bad output or creation option before minutes of work.
    writes = OutputSpec.checked(output, overwrite=overwrite, cog=cog, creation_options=creation_options,
                                inputs=scene_file + reads)
    if detections is not None:
        check_output_path(detections, overwrite=overwrite, inputs=scene_file + reads,
                          others=() if output is None else (output,))
    template = None
    if is_dataarray(source):  # any dimension order; its CRS and transform come along
        if layout is not None:
            raise ParameterError("layout= is for plain arrays; a DataArray's dimension names say its layout")
        template = source
        source, spatial = dataarray_scene(source)
        if bands is not None:
            source = ArrayScene(source._cube, crs=source.info.crs, transform=source.info.transform,
                                nodata=source.info.nodata, path=source.info.path, bands=bands,
                                wavelengths=source._wavelengths)
            bands = None
    elif not isinstance(source, (Scene, str, os.PathLike)):
        source = check_plain_array_layout(source, layout)
    elif layout is not None:
        raise ParameterError("layout= is for plain arrays; a file or Scene knows its own layout")
    if wavelengths is not None:  # nm ranges to band numbers, from the header (adapt trains on bands too)
        if not isinstance(source, (str, os.PathLike)):
            raise ParameterError("wavelengths= needs a file path; select an array's bands yourself")
        bands = wavelength_band_spec(source, wavelengths, key=key, bands=bands)
    if wanted is not None and wanted[3] == "chi2":  # before any training or scoring, not after
        _check_chi2_rule(choice, detector)
    model, train_report = _resolve_detector(choice or detector, source, key, bands, detector_params)
    # rasterio hands an integer GDAL_CACHEMAX to GDALSetCacheMax64: bytes, not MB.  (This
    # passed the MiB count until 2026-12-06, so every run had a cache of 256 bytes.)
    auto_cache = gdal_cache_mb == "auto" and "GDAL_CACHEMAX" not in os.environ
    cache = ({} if gdal_cache_mb is None or "GDAL_CACHEMAX" in os.environ
             else {"GDAL_CACHEMAX": _cache_bytes(DEFAULT_MB if auto_cache else gdal_cache_mb)})
    frame = RunFrame.begin(model, source, writes)  # hashes the model and scene files: once per run
    with rasterio.Env(**cache, **direct_read_options()):
        result = _detect(source, model=model, frame=frame, key=key, bands=bands, device=device, auto_cache=auto_cache,
                         tile_size=tile_size, progress=progress, wanted=wanted)
    if template is not None and result.scores is not None:
        result.scores = scores_as_dataarray(result.scores, template, spatial, attrs={
            f"hadinfer_{k}": v for k, v in result.report["provenance"].items()}
            | ({} if result.threshold is None else {"hadinfer_threshold": result.threshold.value}))
    if train_report is not None:
        result.report["train"] = train_report
        result.report["seconds"]["train"] = round(train_report["train_seconds"] + train_report["prepare_seconds"], 4)
        result.report["seconds"]["test"] = result.report["seconds"]["total"]
    return result


def _check_detection_request(pfa, threshold, detections, rule):
    """``(pfa, threshold, detections path, rule)`` checked before any work, or None when no threshold is wanted."""
    from .thresholds import RULES, check_rule

    if pfa is None and threshold is None:
        if detections is not None:
            raise ParameterError("detections= needs pfa= or threshold=")
        return None
    pfa, threshold = check_rule(pfa, threshold)
    if rule not in RULES:
        raise ParameterError(f"threshold_rule: expected one of {', '.join(RULES)}, got {rule!r}")
    if detections is not None:
        from .vectors import check_detections_path

        check_detections_path(detections)
    return pfa, threshold, detections, rule


def _check_chi2_rule(choice: DetectorChoice | None, detector) -> None:
    """Refuse ``threshold_rule="chi2"`` for a detector whose scores follow no chi-square (all but grx and lrx).

    Known from the detector's class before it is built; a factory function's detector
    is checked when its threshold is chosen, after the run.
    """
    kind = type(detector) if choice is None else choice.entry.factory
    if isinstance(kind, type) and getattr(kind, "chi2_dof", None) is Detector.chi2_dof:
        name = detector.name if choice is None else choice.entry.name
        raise ParameterError(f"threshold_rule='chi2': {name}'s scores follow no chi-square distribution (grx's "
                             "and lrx's do); use 'tail' (the default) or 'quantile'")


def _threshold_scene(result: DetectionResult, scene: Scene, wanted, frame: RunFrame) -> None:
    """Threshold the map, find its regions (with mean spectra), write them; into ``result``."""
    from .vectors import _has_vector_extra, detections_frame, find_detections, write_detections
    from .thresholds import choose_threshold

    pfa, threshold, path, rule = wanted
    if result.scores is not None:
        scores, transform, crs = result.scores, scene.info.transform, scene.info.crs
    else:
        with rasterio.open(result.path) as ds:
            scores = ds.read(1, masked=True).filled(np.nan)
            transform, crs = ds.transform, ds.crs
    chosen = choose_threshold(scores, pfa=pfa, threshold=threshold, rule=rule,
                              chi2_dof=result.detector.chi2_dof() if rule == "chi2" else None)
    found = find_detections(scores, transform, chosen.value, spectra=scene)
    result.threshold = chosen
    result.detections = detections_frame(found, crs, threshold=chosen.value) if _has_vector_extra() else found
    entry = {"count": len(found)} | chosen.as_dict()
    if path is not None:
        write_detections(path, found, crs, threshold=chosen.value, overwrite=frame.output.overwrite,
                         inputs=tuple(p for p in (frame.provenance.get("source"),) if p and os.path.isfile(p)),
                         others=() if result.path is None else (result.path,))
        entry["path"] = os.fspath(path)
    result.report["detections"] = entry


def _gdal_cache_mb() -> float | None:
    """GDAL's block cache in force now, in MiB (None if GDAL does not say)."""
    from rasterio._env import get_gdal_config

    value = get_gdal_config("GDAL_CACHEMAX")
    if isinstance(value, int):
        return round(value / 2**20, 3)
    return None


def _cache_bytes(megabytes) -> int:
    """``gdal_cache_mb`` in bytes, checked."""
    try:
        value = float(megabytes)
    except (TypeError, ValueError):
        raise ParameterError(f"gdal_cache_mb: expected a number of MiB, got {megabytes!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise ParameterError(f"gdal_cache_mb: expected a number of MiB >= 0, got {megabytes!r}")
    return int(value * 2**20)


def model_inputs(detector, params) -> tuple:
    """The model files ``detector`` reads (with ``params``): no output may replace any of them.

    A helper for callers holding a bare value (it resolves it); a run reads
    :attr:`DetectorChoice.model_files` of its one choice instead.  () for an unknown value.
    """
    return model_files(detector, params)


def _resolve_detector(detector: Detector | DetectorChoice, source, key, bands,
                      params) -> tuple[Detector, dict | None]:
    """A Detector instance as given, or the one the run's choice builds (the CLI's choice, or :func:`detect`'s)."""
    if isinstance(detector, Detector):
        if params:
            raise ParameterError(f"detector parameters {', '.join(sorted(params))} given with a Detector instance; "
                                 "set them on the instance")
        return detector, detector.train_report
    if detector.entry.band_centres:  # bands placed at their wavelengths when the file has them
        detector = with_band_centres(detector, scene_band_centres(source, key=key, bands=bands))
    model = detector.build(SceneRef(source, key, bands))
    return model, model.train_report


def _detect(source, *, model: Detector, frame: RunFrame, key, bands, device, tile_size,
            progress: ProgressCallback, wanted=None, auto_cache: bool = False) -> DetectionResult:
    """Score ``source`` with the fitted-here ``model`` into the frame's output; the report framed and finished."""
    scene, owned = _as_scene(source, key, bands)
    try:
        frame = frame.with_bands(format_band_spec(scene.info.bands))
        if wanted is not None:  # detections that could not be placed: refused before the work
            from .vectors import check_detections_path, check_placeable

            check_placeable(scene.info.gcps, scene.info.rpcs, scene.info.path)
            if wanted[2] is not None:  # GeoJSON of pixel coordinates
                check_detections_path(wanted[2], has_crs=scene.info.crs is not None)
        tile = model.native_tile or max(as_pair(tile_size, "tile_size"))
        halo_cache = halo_cache_bytes(scene.info, model.halo, tile) if auto_cache else None
        with rasterio.Env(GDAL_CACHEMAX=halo_cache) if halo_cache else contextlib.nullcontext():
            if frame.output.path is None:
                info = scene.info
                scores = np.full((info.height, info.width), np.nan, dtype=np.float32)

                def keep(tile, block):
                    scores[tile.core.toslices()] = block

                report = run_detector(scene, model, sink=keep, tile_size=tile_size, device=device,
                                      progress=progress)
                result = DetectionResult(scores, frame.start_report(report), detector=model)
            else:
                with frame.open_writer(scene.info) as writer:
                    report = run_detector(
                        scene, model, tile_size=tile_size, device=device, progress=progress,
                        sink=lambda tile, block: writer.write(tile.core.row_off, tile.core.col_off, block))
                result = DetectionResult(None, frame.start_report(report, writer.path), writer.path,
                                         detector=model)
            report["gdal_cache_mb"] = _gdal_cache_mb()
        if wanted is not None:
            _threshold_scene(result, scene, wanted, frame)
        frame.finish(result.report)
        return result
    finally:
        if owned:
            scene.close()


def _check_aligned(map_info, truth_info, truth_path) -> None:
    """Refuse a georeferenced mask that does not cover the map's pixels (same size is not enough)."""
    if map_info is None or truth_info is None or map_info.crs is None or truth_info.crs is None:
        return  # a .mat mask or an array carries no georeferencing: pixels are matched by position
    if map_info.crs != truth_info.crs or not map_info.transform.almost_equals(truth_info.transform):
        raise ParameterError(f"{truth_path}: the mask's georeferencing ({truth_info.crs}, origin "
                             f"{truth_info.transform.c:.6g}, {truth_info.transform.f:.6g}) does not match the map's "
                             f"({map_info.crs}, origin {map_info.transform.c:.6g}, {map_info.transform.f:.6g})")


def evaluate(scores, truth, *, key: str | None = None, valid=None) -> dict:
    """Score a map against a ground-truth mask.

    Parameters
    ----------
    scores : str, PathLike or ndarray of shape (H, W)
        A score map file (its nodata pixels are excluded) or an array (NaN excluded).
    truth : str, PathLike or ndarray of shape (H, W)
        Mask file (raster band 1, or a ``.mat`` 2-D variable) or array; nonzero = anomaly,
        0 = background; the mask's nodata value and NaN label nothing and are excluded
        (:func:`hadinfer.io.read_truth`).
    key : str, optional
        ``.mat`` variable of the mask.
    valid : ndarray of bool, optional
        Extra pixels to exclude (False).

    Returns
    -------
    dict
        ``auc_df``, ``auc_dt``, ``auc_ft``, ``snpr``, ``snpr_db``, ``n_anomaly``, ``n_background``,
        and ``n_unlabelled``: pixels with a valid score that the mask does not label.

    Raises
    ------
    ParameterError
        A georeferenced mask whose CRS or transform differs from the map's.
    AllNodataError
        A map file without one finite, valid score.
    """
    map_info = None
    if isinstance(scores, (str, os.PathLike)):
        with open_scene(scores, bands="1") as scene:
            cube, mask = scene.read_all()
            scores = np.where(mask, cube[:, :, 0], np.nan)
            map_info = scene.info
        if not np.isfinite(scores).any():  # named by its file, not as an array argument
            raise AllNodataError(f"{map_info.path}: every pixel of the map is nodata or not finite; "
                                 "nothing to evaluate")
    truth_path = None
    if isinstance(truth, (str, os.PathLike)):
        truth_path = truth
        truth, labelled, truth_info = read_truth(truth, key=key)
        _check_aligned(map_info, truth_info, truth_path)
    else:
        truth, labelled = truth_labels(truth)
    scores = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(scores) if valid is None else (np.isfinite(scores) & np.asarray(valid, bool))
    if labelled.shape != keep.shape:
        if truth_path is not None:  # name the files, not internal arguments
            where = f"the map {map_info.path}" if map_info is not None else "the map"
            raise ParameterError(f"{truth_path}: the mask is {labelled.shape[0]} x {labelled.shape[1]} pixels, "
                                 f"{where} {keep.shape[0]} x {keep.shape[1]}; they must cover the same pixels")
        return detection_metrics(scores, truth, valid=keep)  # it names the shapes
    try:
        metrics = detection_metrics(scores, truth, valid=keep & labelled)
    except ParameterError as exc:  # name the mask, not an internal argument
        if truth_path is None or not str(exc).startswith("labels: "):
            raise
        raise ParameterError(f"{truth_path}: {str(exc)[len('labels: '):]} of the map (the mask marks anomalies with "
                             "a nonzero value, background with 0; its nodata and NaN pixels label nothing)") from exc
    return metrics | {"n_unlabelled": int(np.count_nonzero(keep & ~labelled))}
