"""Global background statistics as a reduction: per-part statistics, merged exactly by a tree.

:meth:`BackgroundStats.merge` adds exact integer sums, so parts merged in any grouping or
order give the same bits as one accumulator that saw every window.  When the parts are
runs of the scene's canonical statistics windows (:func:`statistics_runs`), that is the
single-process pass's result to the bit.  A tree keeps the reduction's depth (and the
client's share of it) logarithmic in the number of parts; each part is a few (B, B)
int64 limb arrays (about 6 B² numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from ..detectors import BackgroundStats
from ..errors import ParameterError
from ..io.derived_scene import DerivedScene
from ..kernels.statistics import statistics_windows
from ..tiling import Tile
from .specs import DetectorSpec, SceneSource

T = TypeVar("T")


def merge_stats(*parts: BackgroundStats) -> BackgroundStats:
    """A new accumulator holding the pixels of every part; the parts are not modified.

    Never merging into an input matters on a cluster: a part is a task result that stays
    in a worker's memory and may feed a recomputation after a worker is lost, so it must
    still hold only its own pixels then.

    Raises
    ------
    ParameterError
        No parts, or parts with different band counts.
    """
    if not parts:
        raise ParameterError("merge_stats: nothing to merge")
    merged = BackgroundStats(parts[0].mean_.shape[0])
    for part in parts:
        merged.merge(part)
    return merged


def tree_reduce(items: Sequence[T], combine: Callable[..., T], split_every: int = 8) -> T:
    """Combine items level by level, ``split_every`` at a time, into one.

    ``combine`` may compute (``merge_stats``), build a graph (``dask.delayed(merge_stats)``)
    or submit a task (``lambda *a: client.submit(merge_stats, *a)``): the tree is the same.

    Parameters
    ----------
    items : sequence
        At least one.
    combine : callable
        ``combine(*group)`` for groups of 2 to ``split_every`` items.
    split_every : int
        Fan-in, at least 2.

    Returns
    -------
    The single combined item (``items[0]`` itself when there is only one).

    Raises
    ------
    ParameterError
        No items, or ``split_every < 2``.

    Examples
    --------
    >>> tree_reduce([1, 2, 3, 4, 5], lambda *g: f"({'+'.join(map(str, g))})", split_every=2)
    '(((1+2)+(3+4))+5)'
    """
    if not isinstance(split_every, int) or split_every < 2:
        raise ParameterError(f"split_every: expected an integer >= 2, got {split_every!r}")
    level = list(items)
    if not level:
        raise ParameterError("tree_reduce: nothing to reduce")
    while len(level) > 1:
        level = [level[i] if i + 1 == len(level) else combine(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    return level[0]


def cube_stats(cube: np.ndarray, valid: np.ndarray, precision: str = "float64") -> BackgroundStats:
    """Statistics of the valid pixels of an (h, w, B) cube, formed as :func:`hadinfer.pipeline.accumulate_stats` does.

    ``precision`` is the detector's ``stats_precision`` (the arithmetic of the window's
    scatter; merging is always float64).
    """
    return BackgroundStats(cube.shape[2]).update_window(cube, valid, precision=precision)


def statistics_runs(info, parts: int) -> list[list[Tile]]:
    """The scene's canonical statistics windows cut into ``parts`` runs (fewer when there are fewer windows).

    Parameters
    ----------
    info : SceneInfo
        Its height, width and block shape.
    parts : int
        At least 1.

    Returns
    -------
    list of list of Tile
        Non-empty, in row-major order; together, :func:`~hadinfer.kernels.statistics.statistics_windows`.
    """
    if parts < 1:
        raise ParameterError(f"parts: expected >= 1, got {parts}")
    windows = statistics_windows((info.height, info.width), info.block_shape)
    bounds = np.linspace(0, len(windows), min(parts, len(windows)) + 1).round().astype(int)
    return [windows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def strip_stats(source: SceneSource, tiles: Sequence[Tile], precision: str = "float64") -> BackgroundStats:
    """Worker task: statistics of the cores of ``tiles``, read one at a time.

    Each core is one window (:meth:`BackgroundStats.update_window`); given the scene's
    canonical statistics windows (:func:`statistics_runs`), merged parts equal the
    single-process statistics to the bit.  Memory is one window's read.
    """
    with source.reading() as scene:
        stats = BackgroundStats(len(scene.info.bands))
        for tile in tiles:
            stats.update_window(*scene.read_window(tile.core), precision=precision)
    return stats


def strip_feature_stats(source: SceneSource, tiles: Sequence[Tile], spec: DetectorSpec,
                        stats: BackgroundStats) -> BackgroundStats:
    """Worker task: statistics of a detector's features (its second pass) over the cores of ``tiles``.

    The detector is fitted here on the merged first-pass ``stats``, as in the single
    process, and its per-pixel features of each canonical window are accumulated exactly,
    so merged parts equal the single-process feature statistics to the bit.
    """
    detector = spec.fitted(stats)
    with source.reading() as scene:
        derived = DerivedScene(scene, detector.features, detector.feature_count)
        out = BackgroundStats(detector.feature_count)
        for tile in tiles:
            out.update_window(*derived.read_window(tile.core))
    return out
