"""Many scenes on a Dask cluster: one task per scene, results in the order they finish."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence

from ..errors import ClusterError
from .cluster import import_distributed, run_portably


def run_per_scene(client, task: Callable, jobs: Sequence[tuple]) -> Iterator[tuple[int, object, BaseException | None]]:
    """Run ``task(*job)`` for every job on the cluster; yield each outcome as it finishes.

    A task that raises is an outcome, not the end of the batch: the others keep running.
    A task whose worker dies is rescheduled by Dask on another worker.  After
    ``distributed.scheduler.allowed-failures`` deaths (3 by default) Dask gives up on
    every task that was on those workers -- the culprit and any scene that merely
    shared a worker with it -- so each of those runs once more, alone: an innocent
    scene then finishes, and the culprit fails with a one-line
    :class:`~hadinfer.errors.ClusterError`.

    Parameters
    ----------
    client : distributed.Client
    task : callable
        Pickled to the workers (cloudpickle: a closure is fine, if what it holds pickles).
    jobs : sequence of tuple
        Arguments of each call.

    Yields
    ------
    index : int
        Position of the job in ``jobs``.
    result : object
        The task's return value (None when it failed).
    error : BaseException or None
        What it raised (on the worker, re-raised here with its type), or None.
    """
    distributed = import_distributed()
    run = uuid.uuid4().hex[:8]  # readable, unique task names on a shared scheduler
    lost = []
    for index, result, error in _run_together(client, distributed, task, jobs, range(len(jobs)), f"{run}-"):
        if isinstance(error, distributed.KilledWorker):
            lost.append(index)
        else:
            yield index, result, error
    for index in lost:  # one at a time: nothing else can be on a worker this task kills
        for _, result, error in _run_together(client, distributed, task, jobs, [index], f"{run}-alone-"):
            if isinstance(error, distributed.KilledWorker):
                error = ClusterError("a worker died each time it ran this scene, also alone (out of memory, or a "
                                      "crash in a native library); see the worker logs")
            yield index, result, error


def _run_together(client, distributed, task, jobs, indices, prefix):
    futures = {}
    try:
        for index in indices:
            try:
                future = client.submit(run_portably, task, *jobs[index], key=f"hadinfer-scene-{prefix}{index}")
            except Exception as exc:  # e.g. something in the job that does not pickle: this job fails
                yield index, None, exc
                continue
            futures[future] = index
        for future in distributed.as_completed(list(futures)):
            index = futures.pop(future)
            error = future.exception()
            yield index, None if error is not None else future.result(), error
            future.release()
    finally:
        client.cancel(list(futures))  # a caller that stopped early (Ctrl-C) leaves nothing running
