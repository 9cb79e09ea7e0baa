"""``hadinfer detect --scheduler``: the same maps, reports and batch summary, computed on a Dask cluster.

Nothing here imports dask: :mod:`hadinfer.distributed` does, only when ``--scheduler``
is given, so ``hadinfer detect`` without it is unchanged and ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import ParameterError
from ..kernels.compiled import expect_scenes
from .batch import PENDING, echo_row, failed_row, finish_batch, ok_row, plan_rows


def _check_scheduler(ctx, param, value):
    if value is None:
        return None
    from ..distributed.cluster import check_scheduler

    try:
        return check_scheduler(value)
    except ParameterError as exc:
        raise click.BadParameter(str(exc).removeprefix("scheduler: "), ctx=ctx, param=param) from exc


@contextlib.contextmanager
def _cluster_logs():
    """distributed's own log lines (every worker started and closed) only with ``-vv``, as rasterio's DEBUG.

    distributed sets its loggers' levels itself, so the CLI's level for libraries does not
    reach them: unless ``-vv``, its records stop at its own logger (whose handler shows
    warnings and errors) instead of reaching the CLI's handler.  Put back afterwards.
    """
    ctx = click.get_current_context(silent=True)
    logger = logging.getLogger("distributed")
    saved = logger.propagate
    if ctx is None or (ctx.find_root().obj or {}).get("verbose", 0) < 2:
        logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = saved


def scheduler_options(command):
    """Add ``--scheduler`` and ``--workers`` to a command (values ``scheduler`` and ``workers``)."""
    command = click.option(
        "--workers", type=click.IntRange(min=1), default=None,
        help="With --scheduler local: worker processes (default one per core).")(command)
    return click.option(
        "--scheduler", default=None, metavar="local|tcp://HOST:PORT", callback=_check_scheduler,
        help="Run on a Dask cluster (extra 'dask'): 'local' starts one on this machine, an address uses a running "
             "one. Several scenes: one task per scene. One scene: row strips across the workers, written here. "
             "Scenes (and --output-dir) must be at the same path on every worker.")(command)


def check_scheduler_options(scheduler: str | None, workers: int | None) -> None:
    """Refuse ``--workers`` without ``--scheduler local`` (exit 2)."""
    if workers is not None and scheduler != "local":
        raise click.BadParameter("only with --scheduler local (a running cluster has its own workers)",
                                 param_hint="--workers")


def run_scheduled_scene(run_one: Callable, *, scheduler: str, workers: int | None):
    """Run ``run_one(detect=...)`` with ``detect`` scoring the scene in strips across the cluster.

    ``run_one`` is the single-process command body: it gets
    :func:`hadinfer.distributed.strip_detect.detect_strips` bound to a client in place of
    :func:`hadinfer.detect`, so checks, detections, report and summary line stay the same.
    """
    check_scheduler_options(scheduler, workers)
    from ..distributed.cluster import open_client
    from ..distributed.strip_detect import detect_strips

    with _cluster_logs(), open_client(scheduler, workers) as client:
        return run_one(detect=functools.partial(detect_strips, client=client))


def scene_among(count: int, run_one: Callable, *job):
    """``run_one(*job)`` in a worker told it serves a batch of ``count`` scenes.

    Workers live across scenes, so a large batch loads the compiled ring kernels once
    per worker (:func:`hadinfer.kernels.compiled.expect_scenes`), as the single-process
    batch does.
    """
    expect_scenes(count)
    return run_one(*job)


def run_scheduled_batch(scenes: list[str], folder: str, run_one: Callable[[str, Path, Path], dict], *,
                        scheduler: str, workers: int | None, overwrite: bool, quiet: bool,
                        suffixes: tuple[str, ...] = (), model_files: tuple = (), request: dict | None = None) -> int:
    """:func:`hadinfer.cli.batch.run_batch` on a Dask cluster: one task per scene.

    The rows, skip rule, ``summary.json`` and exit code are those of the single-process
    batch; lines are printed as scenes finish.  ``run_one`` is pickled to the workers,
    which write the maps and reports themselves, so ``folder`` must be at the same path
    there.  A scene whose worker dies is rescheduled by Dask; one that keeps killing
    workers, or raises, is a failed row and the others finish.
    """
    check_scheduler_options(scheduler, workers)
    from ..distributed.cluster import open_client
    from ..distributed.scene_batch import run_per_scene

    rows = plan_rows(scenes, folder, overwrite, suffixes=suffixes, model_files=model_files, request=request)
    started = time.perf_counter()
    todo = [row for row in rows if row["status"] == PENDING]
    done = 0
    for row in rows:
        if row["status"] != PENDING:
            done += 1
            echo_row(done, len(rows), row, quiet)
    if todo:
        with _cluster_logs(), open_client(scheduler, workers) as client:
            jobs = [(row["scene"], Path(row["map"]), Path(row["report"])) for row in todo]
            task = functools.partial(scene_among, len(todo), run_one)
            for index, report, error in run_per_scene(client, task, jobs):
                row = todo[index]
                row |= failed_row(error) if error is not None else ok_row(report)
                done += 1
                echo_row(done, len(rows), row, quiet)
    return finish_batch(rows, folder, scenes, started)
