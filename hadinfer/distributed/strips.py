"""One scene as row strips: the plan (pure, no I/O) and the worker task that scores a strip.

A strip is a run of whole tile rows of the single-process tiling
(:func:`hadinfer.pipeline.plan_tiles`: same tile shape, halo and read windows).  Each tile is read and
scored exactly as :func:`hadinfer.pipeline.run_detector` would, and the global statistics
are the single-process pass's canonical windows summed exactly
(:mod:`hadinfer.distributed.stats_reduction`), so the map is the single-process map to the
bit, whatever the strips, workers or scheduler (``tests/distributed/test_identity.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..detectors import BackgroundStats
from ..errors import ParameterError
from ..pipeline import tile_batches
from ..tiling import Tile
from .specs import DetectorSpec, SceneSource


def strip_plan(tiles: list[Tile], strips: int | None = None) -> list[list[Tile]]:
    """Group a run's tiles into row strips of whole tile rows.

    Parameters
    ----------
    tiles : list of Tile
        Row-major tiles that cover the image, as :func:`hadinfer.pipeline.plan_tiles`
        plans them for a single-process run (same shape, halo and read windows).
    strips : int, optional
        How many strips; default one per tile row.  More than there are tile rows is
        capped; tile rows are spread as evenly as possible.

    Returns
    -------
    list of list of Tile
        Strips top to bottom, each a row-major run of tiles; together they are every
        tile once.

    Raises
    ------
    ParameterError
        ``strips`` below 1, or no tiles.

    Examples
    --------
    >>> from hadinfer.tiling import tile_windows
    >>> plan = strip_plan(tile_windows((100, 30), (16, 30), halo=2), strips=3)
    >>> [strip_extent(strip) for strip in plan]
    [(0, 32), (32, 48), (80, 20)]
    """
    if strips is not None and (not isinstance(strips, int) or strips < 1):
        raise ParameterError(f"strips: expected a positive integer, got {strips!r}")
    if not tiles:
        raise ParameterError("strip_plan: no tiles")
    rows: dict[int, list[Tile]] = {}
    for tile in tiles:
        rows.setdefault(tile.core.row_off, []).append(tile)
    tile_rows = list(rows.values())
    count = min(strips or len(tile_rows), len(tile_rows))
    bounds = np.linspace(0, len(tile_rows), count + 1).round().astype(int)
    return [[t for row in tile_rows[a:b] for t in row] for a, b in zip(bounds[:-1], bounds[1:])]


def strip_extent(tiles: list[Tile]) -> tuple[int, int]:
    """(first row, rows) that a strip's cores cover."""
    top = tiles[0].core.row_off
    return top, max(t.core.row_off + t.core.height for t in tiles) - top


@dataclass(frozen=True)
class StripScores:
    """What a worker sends back for one strip: 4 bytes a pixel, not the 2·B of its input.

    Attributes
    ----------
    row_off : int
        First map row.
    scores : ndarray of float32, shape (rows, width)
        NaN where not scored.
    device, arrays : str
        Where and with what array library the worker computed.
    seconds : float
        Read and score time on the worker.
    """

    row_off: int
    scores: np.ndarray
    device: str
    arrays: str
    seconds: float


def score_strip(source: SceneSource, spec: DetectorSpec, stats: BackgroundStats, tiles: list[Tile],
                device: str = "cpu", feature_stats: BackgroundStats | None = None) -> StripScores:
    """Worker task: read and score a strip's tiles (core plus halo), one tile in memory at a time.

    The detector is built and fitted here from ``spec`` and the merged ``stats``: a fit is
    an eigen-decomposition of a B×B matrix, cheap next to scoring a strip, and a network
    detector's runtime session cannot travel anyway.  A detector with a second statistics
    pass (``feature_pass``) also gets the merged ``feature_stats``.
    """
    started = time.perf_counter()
    detector = spec.fitted(stats)
    if detector.feature_pass:  # its second pass, merged on the client (strip_feature_stats)
        detector.fit_features(feature_stats)
    library = detector.arrays_for(device)
    top, rows = strip_extent(tiles)
    with source.reading() as scene:
        out = np.full((rows, scene.info.width), np.nan, dtype=np.float32)
        # Batched as one process batches them (whole rows of tiles): the same network calls.
        reads = ((tile, detector.prepare(*window, tile.core_in_read, arrays=library))
                 for tile, window in zip(tiles, scene.read_tiles(tiles)))
        for batch in tile_batches(reads, max(1, detector.batch_tiles)):
            for (tile, _), scores in zip(batch, detector.score_prepared([item for _, item in batch], library)):
                rows, cols = tile.core.toslices()
                out[rows.start - top:rows.stop - top, cols] = scores
    library.synchronize()
    return StripScores(top, out, library.device, library.name, time.perf_counter() - started)
