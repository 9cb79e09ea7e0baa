"""Stream a scene through a detector, tile by tile, into a score map."""

from __future__ import annotations

import resource
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .arrays import ArrayLibrary, NumpyArrays
from .cpu_threads import blas_threads, tile_workers
from .detectors import BackgroundStats, Detector
from .errors import ParameterError
from .io.derived_scene import DerivedScene
from .io.empty_bands import no_valid_pixel_error
from .io.scene import Scene
from .kernels.statistics import statistics_windows
from .kernels.triangular_energy import triangular_pays
from .prefetch import BackgroundSink, ReadAhead, Slots, ordered_map, prefetch
from .process_memory import release_free_memory
from .tiling import Tile, aligned_tile_shape, limit_tile_shape, tile_windows

#: ``progress(stage, done, total)``: called after each tile of each pass.
ProgressCallback = Callable[[str, int, int], None]


#: Largest feature image (at 8 bytes a value) :func:`run_detector` keeps from a detector's
#: feature pass for scoring: 256 MiB, 2 megapixels of 16 features; larger scenes compute
#: the features again tile by tile, so memory stays flat.
FEATURE_KEEP_BYTES = 256 * 2**20

#: Tiles scored between two :func:`~hadinfer.process_memory.release_free_memory` calls, so
#: the scratch freed by scoring threads does not pile up as the scene grows.
RELEASE_EVERY_TILES = 4


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def progress_callback(progress) -> ProgressCallback:
    """What a run reports its progress to: ``progress`` itself, or nothing for None or False.

    Checked where a run starts, so a wrong value is one clear error before any work,
    not a ``TypeError`` from the first finished tile.

    Raises
    ------
    ParameterError
        ``progress`` is neither callable nor None/False (``True`` included: there is no
        default reporter outside the command line; pass e.g. ``lambda stage, done,
        total: print(stage, done, total)``).
    """
    if progress is None or progress is False:
        return _no_progress
    if callable(progress):
        return progress
    raise ParameterError(f"progress: expected a callable progress(stage, done, total), None or False, "
                         f"got {progress!r}")


@dataclass
class _Timer:
    """Seconds spent per stage; stages run in different threads, so they overlap."""

    seconds: dict[str, float] = field(default_factory=lambda: {"read": 0.0, "fit": 0.0, "compute": 0.0, "write": 0.0})

    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        with self.lock:
            self.seconds[stage] += elapsed


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` is carried
    across ``exec`` from the parent, so a small child of a big process would report
    the parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _read_tiles(scene: Scene, tiles: list[Tile], timer: _Timer, read=None, slots: Slots | None = None):
    """``(tile, cube, valid)`` of each tile's read window; with ``slots``, each window gives its
    slot back when its memory goes (a :class:`weakref.finalize`), wherever its last user was."""
    windows = iter(scene.read_tiles(tiles) if read is None else (read(tile.read) for tile in tiles))
    for tile in tiles:
        start = time.perf_counter()
        cube, valid = next(windows)
        timer.add("read", start)
        if slots is not None:
            weakref.finalize(cube, slots.give_back)
        yield tile, cube, valid
        del cube, valid  # not kept alive while the next window is read


def tile_batches(items, size: int):
    """Group ``(tile, ...)`` items, in order, ``size`` at a time and never across a row of tiles.

    Batches are then the same whether a run covers the whole scene or a cluster strip
    (whole rows of tiles), so a network that rounds a tile differently inside a batch
    still gives the cluster the single-process map.

    Examples
    --------
    >>> from hadinfer.tiling import tile_windows
    >>> tiles = tile_windows((20, 30), 10)
    >>> [len(batch) for batch in tile_batches(((t, None) for t in tiles), 2)]
    [2, 1, 2, 1]
    """
    batch, row = [], None
    for item in items:
        if batch and item[0].core.row_off != row:
            yield batch
            batch = []
        batch.append(item)
        row = item[0].core.row_off
        del item
        if len(batch) == size:  # handed on at once, not held while the next item is awaited
            yield batch
            batch = []
    if batch:
        yield batch


def accumulate_stats(scene: Scene, tile_shape=None, *, precision: str = "float64", timer: _Timer | None = None,
                     progress: ProgressCallback = _no_progress, arrays: ArrayLibrary | None = None,
                     workers: int = 1) -> BackgroundStats:
    """Global background statistics of every valid pixel, read window by window.

    The windows are the scene's canonical statistics windows
    (:func:`~hadinfer.kernels.statistics.statistics_windows`), never the scoring tiles, so
    the statistics, and every map fitted on them, are the same bits whatever the tile size.

    Parameters
    ----------
    scene : Scene
    tile_shape : (int, int), optional
        Read windows of this shape instead (experiments only: the statistics then
        depend on it in their last bits).
    precision : {"float64", "float32"}
        Arithmetic of each window's scatter (:meth:`BackgroundStats.update`); windows
        are always merged in float64.  Pass the detector's
        :attr:`~hadinfer.detectors.Detector.stats_precision`.
    timer, progress : optional
    arrays : ArrayLibrary, optional
        With PyTorch arrays (``moments_on_device``: a GPU run), each window's moments are computed on the
        device in float64 from the tile in its storage dtype, and only the (B, B) result
        comes back; otherwise NumPy on the host, in ``precision``.
    workers : int
        Windows whose moments are computed at once on the host (threads).  Each window's
        sums are a function of that window alone and are added exactly, so the
        statistics are the same bits for any number.

    Raises
    ------
    AllNodataError
        If no pixel is valid.
    ParameterError
        ``progress`` is not a callable, None or False.
    """
    timer = timer or _Timer()
    progress = progress_callback(progress)
    info = scene.info
    tiles = (statistics_windows((info.height, info.width), info.block_shape) if tile_shape is None
             else tile_windows((info.height, info.width), tile_shape))
    bands = len(info.bands)
    stats = BackgroundStats(bands)
    on_device = arrays is not None and arrays.moments_on_device
    # A derived scene (a detector's features) is computed by the workers, not the reader.
    derived = isinstance(scene, DerivedScene) and workers > 1 and not on_device
    # A window per worker and one read ahead: the windows alive at once, whatever the scene size.
    slots = Slots(max(workers, 1) + 1)
    windows = prefetch(lambda: _read_tiles(scene, tiles, timer, scene.read_source if derived else None, slots),
                       depth=max(2, workers + 1), slots=slots)

    def window_stats(item):
        """One window's moments, as an accumulator of their own (merged exactly, so in any order)."""
        start = time.perf_counter()
        tile, cube, valid = item
        if derived:
            cube, valid = scene.derive(tile.read, cube, valid)
        part = BackgroundStats(bands)
        if on_device:
            part.merge_moments(*arrays.window_moments(cube, valid))
        else:
            part.update_window(cube, valid, precision=precision)
        timer.add("fit", start)
        return part

    parts = (map(window_stats, windows) if on_device or workers <= 1
             else ordered_map(window_stats, windows, workers, "hadinfer-stats"))
    for done, part in enumerate(parts, 1):
        stats.merge(part)
        progress("statistics", done, len(tiles))
    if stats.count_ == 0:
        raise no_valid_pixel_error(scene)
    return stats


def plan_tiles(info, detector: Detector, tile_size) -> tuple[tuple[int, int], list[Tile]]:
    """The tile shape and the tiles a run of ``detector`` over a scene uses (pure, no I/O).

    Tiles are whole file blocks (or the detector's :attr:`~hadinfer.detectors.Detector.native_tile`,
    whatever ``tile_size`` asks), no larger than the detector's largest core (a TensorRT
    profile's maximum less the network's context), with read windows of at least its
    smallest input where the image has room: every network input then lies inside the
    runtime's profile.

    Returns
    -------
    tile_shape : (int, int)
    tiles : list of Tile
    """
    min_read, max_core = detector.tile_limits()
    if detector.native_tile is not None:  # its own grid, not the file's blocks: same tiles for every file layout
        tile_shape = aligned_tile_shape(detector.native_tile, (info.height, info.width))
    else:
        tile_shape = aligned_tile_shape(tile_size, (info.height, info.width), info.block_shape)
    tile_shape = limit_tile_shape(tile_shape, max_core)
    return tile_shape, tile_windows((info.height, info.width), tile_shape, halo=detector.halo, min_read=min_read)


def run_detector(scene: Scene, detector: Detector, *, sink: Callable[[Tile, np.ndarray], None],
                 tile_size=256, device: str = "auto", arrays: ArrayLibrary | None = None,
                 workers: int | None = None, progress: ProgressCallback = _no_progress) -> dict:
    """Fit ``detector`` on the scene's global statistics, then score every tile.

    Reading runs a thread ahead of compute and ``sink`` (e.g. a file writer) a thread
    behind it; at most a few tiles are in memory at once, whatever the scene size.

    Parameters
    ----------
    scene : Scene
    detector : Detector
        Unfitted; it is fitted here.
    sink : callable
        ``sink(tile, scores)`` receives each core's float32 scores (NaN = not scored).
    tile_size : int or (int, int)
        Core tile size, rounded up to whole file blocks.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, resolved by the detector
        (:meth:`Detector.arrays_for`: the array library, or the model runtime); ignored
        when ``arrays`` is given.
    arrays : ArrayLibrary, optional
    workers : int, optional
        Tiles scored at once.  Default (:func:`~hadinfer.cpu_threads.tile_workers`): one
        per core on the CPU for detectors whose tiles are independent (``tile_parallel``)
        when threadpoolctl can hold BLAS to one thread per worker, else one.  With more
        than one on the CPU, BLAS runs one thread per worker for the whole run
        (:func:`~hadinfer.cpu_threads.blas_threads`; report key ``blas_threads_limited``).
    progress : callable, optional
        ``progress(stage, done, total)``; None or False: no progress.

    Returns
    -------
    dict
        The run report (see :func:`hadinfer.api.detect`).
    """
    started = time.perf_counter()
    progress = progress_callback(progress)
    arrays = arrays or detector.arrays_for(device)
    info = scene.info
    detector.check_image(info.height, info.width)
    tile_shape, tiles = plan_tiles(info, detector, tile_size)
    if workers is None:
        workers = tile_workers(arrays.device, detector.tile_parallel)
    # A detector that scores one tile at a time (a PyTorch network: its runtime manages its
    # own threads) still has its input (local RX evidence, NumPy) prepared a tile per core:
    # general went from 8.9 s to 6.1 so on 1024 x 1024 x 200, 2 cores, before its ONNX calls
    # too ran a tile per core.
    preparers = workers if detector.tile_parallel else tile_workers(arrays.device, True)
    # A scene large enough for the triangular energy product loads SciPy's BLAS now, before
    # BLAS threads are limited, so that the limit holds it too (kernels.triangular_energy).
    if isinstance(arrays, NumpyArrays):  # PyTorch arrays take the dense product on their device
        triangular_pays(info.height * info.width * len(info.bands))
    # Tiles handled one per core already: one BLAS thread each (hadinfer.cpu_threads).
    with blas_threads(1 if arrays.device == "cpu" and max(workers, preparers) > 1 else None) as limited:
        report = _run(scene, detector, sink, arrays, tile_shape, tiles, workers, preparers, progress)
    report["blas_threads_limited"] = limited
    report["seconds"]["total"] = round(time.perf_counter() - started, 4)
    megapixels = info.height * info.width / 1e6
    report["megapixels_per_second"] = round(megapixels / report["seconds"]["total"], 4) \
        if report["seconds"]["total"] > 0 else None
    return report


def _run(scene: Scene, detector: Detector, sink, arrays: ArrayLibrary, tile_shape, tiles: list[Tile],
         workers: int, preparers: int, progress: ProgressCallback) -> dict:
    """:func:`run_detector`'s passes, once the tiles, the device and the workers are known."""
    timer = _Timer()
    stats = accumulate_stats(scene, precision=detector.stats_precision, timer=timer, progress=progress,
                             arrays=arrays, workers=max(workers, preparers))
    # The scoring pass's windows are read while the detector is fitted: the fit runs on this
    # thread with the cores otherwise idle, and the first tiles waited for their windows
    # after it (grx on 1024 x 1024 x 200: fit 0.06 s, first tile 0.05 s after it).  Not for a
    # feature-pass detector, whose second statistics pass comes first.
    reader = None if detector.feature_pass else _scoring_reader(scene, detector, tiles, timer, workers, preparers)
    try:
        return _fit_and_score(scene, detector, stats, sink, arrays, tile_shape, tiles, workers, preparers, progress,
                              timer, reader)
    finally:
        if reader is not None:
            reader.close()


def _scoring_reader(scene: Scene, detector: Detector, tiles: list[Tile], timer: _Timer, workers: int,
                    preparers: int, batch: int | None = None) -> ReadAhead:
    """The scoring pass's read windows, read ahead from now on, as many as its slots allow.

    ``batch``: tiles scored per call (default the detector's ``batch_tiles``).
    """
    # Read windows alive at once: the batches being scored and the one being formed, and a
    # window per preparer (fusion on 1 to 16 MP held up to 8 windows of 35 MB, more often the
    # longer the run, before this bound).  A batch of one tile is handed on as soon as it is
    # read, never held while being formed, and a detector without an input to prepare hands
    # its windows straight on: one window read ahead is then enough (fusion's traced peak
    # 258 -> 191 MiB on 4 MP, no slower side by side; 2026-12-07).
    batch = max(1, detector.batch_tiles) if batch is None else batch
    preparing = preparers if type(detector).prepare is not Detector.prepare else 1
    slots = Slots(workers * batch + (batch if batch > 1 else 0) + preparing)
    return ReadAhead(lambda: _read_tiles(scene, tiles, timer, slots=slots), depth=max(workers, preparers) + 1,
                     slots=slots)


def _fit_and_score(scene: Scene, detector: Detector, stats: BackgroundStats, sink, arrays: ArrayLibrary, tile_shape,
                   tiles: list[Tile], workers: int, preparers: int, progress: ProgressCallback, timer: _Timer,
                   reader: ReadAhead | None) -> dict:
    """:func:`_run` from the fit on: the feature pass if any, then the scoring pass (reading ahead in ``reader``)."""
    info = scene.info
    detector.fit(stats)
    # What global RX's energy (grx, fusion, learned, the networks' input) goes through.
    triangular = isinstance(arrays, NumpyArrays) and triangular_pays(stats.count_ * len(info.bands))
    kept = None
    if detector.feature_pass:  # statistics of what it computes from the spectra
        # Features kept from this pass, when they fit the budget, spare scoring a second
        # evaluation of the network (per pixel, so the same bits either way).
        keep = info.height * info.width * detector.feature_count * 8 <= FEATURE_KEEP_BYTES
        features = DerivedScene(scene, detector.features, detector.feature_count, keep=keep)
        detector.fit_features(accumulate_stats(features, timer=timer, workers=max(workers, preparers),
                                               progress=lambda _, done, total: progress("feature statistics",
                                                                                        done, total)))
        kept = features.kept

    def consume(item):
        tile, scores = item
        start = time.perf_counter()
        sink(tile, scores)
        timer.add("write", start)

    def scores_of(group):
        if kept is None:
            return detector.score_prepared([prepared for _, prepared in group], arrays=arrays)
        (tile, (cube, valid, core)), = group  # a feature-pass detector: one tile, its features kept from that pass
        return [detector.score(cube, valid, core, arrays=arrays, features=kept[tile.read.toslices()])]

    def score(group):
        """Scores of a group of ``(tile, prepared)``: one tile, or ``batch_tiles`` of a network."""
        start = time.perf_counter()
        maps = scores_of(group)
        arrays.synchronize()
        tiles = [tile for tile, _ in group]
        group.clear()  # its windows go now, and give their slots back (the pool's task still holds the list)
        timer.add("compute", start)
        return list(zip(tiles, maps))

    def prepare(item):
        tile, cube, valid = item
        start = time.perf_counter()
        ready = (tile, detector.prepare(cube, valid, tile.core_in_read, arrays=arrays))
        timer.add("compute", start)
        return ready

    def prepared():
        """Tiles as they are read, prepared (a network's input), in order."""
        return (map(prepare, reader) if preparers <= 1
                else ordered_map(prepare, reader, preparers, "hadinfer-prepare"))

    batch = 1 if kept is not None else max(1, detector.batch_tiles)
    writer = BackgroundSink(consume)
    if reader is None:  # a feature-pass detector: its windows are read from now on
        reader = _scoring_reader(scene, detector, tiles, timer, workers, preparers, batch)
    done = 0

    def emit(results):
        nonlocal done
        for item in results:
            writer.put(item)
            done += 1
            progress("scoring", done, len(tiles))
            if done % RELEASE_EVERY_TILES == 0:
                release_free_memory()

    try:
        for results in ordered_map(score, tile_batches(prepared(), batch), workers, "hadinfer-score"):
            emit(results)
    finally:
        reader.close()
        writer.close()
    return {
        "detector": detector.name,
        "params": detector.params(),
        "device": arrays.device,
        "arrays": arrays.name,
        "ring_kernel": {True: "compiled", False: "numpy"}.get(getattr(detector, "compiled_", None)),  # None: no ring
        "energy_product": "triangular" if triangular else "dense",
        **({"runtime": detector.runtime.name} if detector.runtime is not None else {}),
        "tile_size": list(tile_shape),
        "halo": detector.halo,
        "tiles": len(tiles),
        "workers": workers,
        "preparers": preparers,
        "scene": {"path": info.path, "height": info.height, "width": info.width,
                  "bands": len(info.bands), "dtype": info.dtype, "valid_pixels": int(stats.count_)},
        "seconds": {k: round(v, 4) for k, v in timer.seconds.items()},
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
