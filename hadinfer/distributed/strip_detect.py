"""One scene across a Dask cluster: statistics and scores per strip on the workers, one writer here.

How the strips reach one file
-----------------------------
Workers send their strip's scores back and this process writes them, as they arrive,
through the same :class:`~hadinfer.io.writer.ScoreMapWriter` a single-process run uses:

* A GeoTIFF cannot be written by several processes at once (each would rewrite the
  directory and compressed blocks of the others), and per-strip files merged at the end
  would write the map twice.
* One writer keeps every rule of a single-process map: the temporary file renamed into
  place only when complete (never a partial map under the final name), ``--overwrite``,
  the free-space check, overviews, band statistics and provenance tags.
* It is cheap: a score is 4 bytes a pixel against 2·B bytes a pixel of input (800 bytes
  for 400 int16 bands), so the results are 1/200 of what workers read, and no worker
  needs write access to the output folder.

Strips are whole rows of the single-process tiles, so when their height is a multiple
of the writer's block (256 rows) each strip is written as soon as it arrives; otherwise
the writer holds the rows of at most the partly written blocks.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np

from ..api import DetectionResult
from ..detectors import DEFAULT_DETECTOR
from ..detectors.registry import with_band_centres
from ..errors import ClusterError
from ..io import wavelength_band_spec
from ..io.bands import format_band_spec
from ..io.empty_bands import no_valid_pixel_error
from ..pipeline import ProgressCallback, _no_progress, peak_memory_mb, plan_tiles, progress_callback
from ..run_frame import OutputSpec, RunFrame
from .cluster import import_distributed, run_portably
from .specs import SceneSource, detector_spec
from .stats_reduction import merge_stats, statistics_runs, strip_feature_stats, strip_stats, tree_reduce
from .strips import score_strip, strip_plan


def detect_strips(source, output=None, *, client, detector=DEFAULT_DETECTOR, key: str | None = None,
                  bands: str | None = None, device: str = "auto", tile_size=256, strips: int | None = None,
                  overwrite: bool = False, cog: bool = False, creation_options: dict | None = None,
                  wavelengths=None, progress: ProgressCallback = _no_progress, split_every: int = 8,
                  **detector_params) -> DetectionResult:
    """Score one scene file on a Dask cluster, strip by strip, into the same map as :func:`hadinfer.detect`.

    Workers compute each strip's background statistics; these are merged exactly by a
    tree of :func:`~hadinfer.distributed.stats_reduction.merge_stats` tasks on the
    workers; then each worker scores its strip with the detector's halo (fitted on the
    merged statistics) and sends the scores here, where one writer puts them in the map.
    A lost worker's tasks (and any result it held) are recomputed by Dask.

    Parameters
    ----------
    source : str or PathLike
        A scene file, at the same path on every worker (shared file system).
    output : str or PathLike, optional
        The map (float32 GeoTIFF, input's georeferencing); when omitted the map is
        returned in memory.
    client : distributed.Client
        See :func:`hadinfer.distributed.cluster.open_client`.
    detector : str, PathLike or DetectorChoice
        A registered name or a model file, resolved once here
        (:func:`hadinfer.detectors.registry.choose`), or the CLI's choice.
    key, bands, device, tile_size, overwrite, cog, creation_options, wavelengths, progress
        As :func:`hadinfer.detect`; ``device`` is resolved on each worker.
    strips : int, optional
        Strips (tasks) the scene is cut into; default one per row of tiles.
    split_every : int
        Fan-in of the statistics' merge tree.
    **detector_params
        Passed to the detector.

    Returns
    -------
    DetectionResult
        ``report`` also has ``strips``, ``workers``, ``scheduler`` and
        ``worker_peak_memory_mb``; ``detector`` is fitted on the merged statistics.

    Raises
    ------
    HadinferError
        Any input, parameter or output problem (one line), raised on a worker or here.
    ClusterError
        A strip's worker died repeatedly (Dask's ``KilledWorker``).
    """
    started = time.perf_counter()
    progress = progress_callback(progress)
    distributed = import_distributed()
    inputs = (source,) if isinstance(source, (str, os.PathLike)) else ()
    # the run's one resolution of the detector value; a second statistics pass runs below
    spec = detector_spec(detector, detector_params, feature_pass=True)
    # Fail on a bad output or creation option before any work is sent.
    writes = OutputSpec.checked(output, overwrite=overwrite, cog=cog, creation_options=creation_options,
                                inputs=inputs + spec.choice.model_files)
    if wavelengths is not None:
        bands = wavelength_band_spec(source, wavelengths, key=key, bands=bands)
    scene_source = SceneSource.from_path(source, key=key, bands=bands)
    with scene_source.open() as scene:  # the header only: pixels are read on the workers
        info = scene.info
    # bands placed at their wavelengths when the file has them, on every worker alike
    spec = detector_spec(with_band_centres(spec.choice, info.wavelengths), {}, feature_pass=True)
    model = spec.build()
    model.check_image(info.height, info.width)
    tile_shape, tiles = plan_tiles(info, model, tile_size)
    plan = strip_plan(tiles, strips=strips)
    run = uuid.uuid4().hex[:8]  # readable, unique task names on a shared scheduler
    seconds = {}
    futures = []
    try:
        def reduce(stage, label, task, *args):
            """``task(scene_source, windows, *args)`` on every run of canonical windows, merged in a tree;
            progress is reported as ``label``."""
            leaves = [client.submit(run_portably, task, scene_source, windows, *args,
                                    key=f"hadinfer-{stage}-{run}-{i}")
                      for i, windows in enumerate(statistics_runs(info, len(plan)))]
            futures.extend(leaves)
            level = iter(range(len(leaves)))
            merged = tree_reduce(leaves, lambda *parts: client.submit(
                run_portably, merge_stats, *parts, key=f"hadinfer-{stage}-merge-{run}-{next(level)}"),
                split_every=split_every)
            futures.append(merged)
            for done, _ in enumerate(distributed.as_completed(leaves), 1):
                progress(label, done, len(leaves))
            return leaves, merged

        # The single-process pass's canonical windows, one run of them per strip: merged
        # exactly, they give the same bits as one process, whatever the strips.
        leaves, merged = reduce("stats", "statistics", strip_stats, model.stats_precision)
        stats = merged.result()
        if stats.count_ == 0:
            with scene_source.open() as scene:
                raise no_valid_pixel_error(scene)
        model.fit(stats)  # here too: the report, the map's tags and a detection threshold need it
        features = None
        if model.feature_pass:  # its second pass, over the same canonical windows, merged exactly
            _, features = reduce("feature-stats", "feature statistics", strip_feature_stats, spec, merged)
            model.fit_features(features.result())
        # The same provenance as one process: source, its hash and the bands read.
        frame = RunFrame.begin(model, source, writes).with_bands(format_band_spec(info.bands))
        seconds["statistics"] = time.perf_counter() - started
        for leaf in leaves:  # the merged statistics keep their lineage (the scheduler recomputes lost
            if leaf is not merged:  # results from it); the parts' memory can go.  One strip: its own merge
                leaf.release()
        futures = [merged] + ([features] if features is not None else [])
        scoring = [client.submit(run_portably, score_strip, scene_source, spec, merged, tiles, device, features,
                                 key=f"hadinfer-score-{run}-{i}") for i, tiles in enumerate(plan)]
        futures += scoring
        result, report_extra = _gather_scores(distributed, scoring, info, frame, progress, seconds)
    except BaseException as exc:
        client.cancel([f for f in futures if not f.done()])  # stop what no one will read
        if isinstance(exc, distributed.KilledWorker):
            raise ClusterError(f"{info.path}: a worker died each time it ran {getattr(exc, 'task', 'a task')!r} "
                                "(out of memory, or a crash in a native library); see the worker logs") from exc
        raise
    total = time.perf_counter() - started
    result.report = _report(model, info, stats.count_, tile_shape, plan, client, seconds, total) | report_extra
    result.detector = model
    frame.finish(frame.start_report(result.report, result.path))
    return result


def _gather_scores(distributed, scoring, info, frame: RunFrame, progress,
                   seconds) -> tuple[DetectionResult, dict]:
    """Take strips as they arrive and write (or keep) them; the only process that touches the map."""
    started = time.perf_counter()
    write_seconds = worker_seconds = 0.0
    where = set()
    output = frame.output.path
    if output is None:
        scores = np.full((info.height, info.width), np.nan, dtype=np.float32)

        def sink(part):
            scores[part.row_off:part.row_off + part.scores.shape[0]] = part.scores
    else:
        writer = frame.open_writer(info)

        def sink(part):
            writer.write(part.row_off, 0, part.scores)
    try:
        for done, future in enumerate(distributed.as_completed(scoring), 1):
            part = future.result()
            future.release()  # the strip is on its way to disk: let the worker forget it
            write_started = time.perf_counter()
            sink(part)
            write_seconds += time.perf_counter() - write_started
            worker_seconds += part.seconds
            where.add((part.device, part.arrays))
            progress("scoring", done, len(scoring))
        if output is not None:
            path = writer.commit()
    except BaseException:
        if output is not None:
            writer.abort()
        raise
    seconds |= {"scoring": time.perf_counter() - started, "write": write_seconds, "worker_compute": worker_seconds}
    device, arrays = sorted(where)[0] if len(where) == 1 else (",".join(sorted({d for d, _ in where})), "mixed")
    extra = {"device": device, "arrays": arrays}
    if output is None:
        return DetectionResult(scores, {}), extra
    return DetectionResult(None, {}, path), extra


def _report(model, info, valid_pixels, tile_shape, plan, client, seconds, total) -> dict:
    """The run report: :func:`hadinfer.pipeline.run_detector`'s keys, plus the cluster's."""
    try:  # the same function, run in each worker process
        worker_memory = {address: round(mb, 1) for address, mb in client.run(peak_memory_mb).items()}
    except (OSError, TimeoutError):  # a worker leaving at the end must not cost the map
        worker_memory = {}
    megapixels = info.height * info.width / 1e6
    return {
        "detector": model.name,
        "params": model.params(),
        **({"runtime": model.runtime.name} if model.runtime is not None else {}),
        "tile_size": list(tile_shape),
        "halo": model.halo,
        "tiles": sum(len(strip) for strip in plan),
        "strips": len(plan),
        "workers": len(client.scheduler_info().get("workers", {})),
        "scheduler": client.scheduler.address,
        "scene": {"path": info.path, "height": info.height, "width": info.width,
                  "bands": len(info.bands), "dtype": info.dtype, "valid_pixels": int(valid_pixels)},
        "seconds": {**{k: round(v, 4) for k, v in seconds.items()}, "total": round(total, 4)},
        "megapixels_per_second": round(megapixels / total, 4) if total > 0 else None,
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "worker_peak_memory_mb": worker_memory,
    }
