"""A Dask ``Client`` from a scheduler spec: ``local`` (a LocalCluster here) or ``tcp://HOST:PORT``."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from ..errors import ClusterError, MissingDependencyError, ParameterError, one_line

#: What ``pip`` needs for everything in :mod:`hadinfer.distributed`.
INSTALL_HINT = "pip install 'hadinfer[dask]'"

#: Addresses distributed understands and hadinfer accepts: scheme, host, port.
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s:/]+:\d{1,5}$")


def import_distributed():
    """The ``distributed`` module, or a one-line error naming the extra.

    Raises
    ------
    MissingDependencyError
        dask or distributed is not installed.
    """
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(f"running on a Dask cluster needs dask and distributed: {INSTALL_HINT}") from exc
    return distributed


def import_dask_array():
    """The ``dask.array`` module, or a one-line error naming the extra.

    Raises
    ------
    MissingDependencyError
        dask (with its array extra) is not installed.
    """
    try:
        import dask.array
    except ImportError as exc:
        raise MissingDependencyError(f"hadinfer.dask needs dask[array]: {INSTALL_HINT}") from exc
    return dask.array


def run_portably(task, *args, **kwargs):
    """Worker side: ``task(*args, **kwargs)``, with an exception that the client can rebuild.

    distributed pickles a task's exception with its whole cause chain, and some library
    exceptions in that chain cannot be unpickled (GDAL's, whose ``args`` is read-only):
    the client would then get a bare ``Exception`` holding a repr instead of hadinfer's
    one-line error.  hadinfer's messages already name their cause, so the chain is dropped.
    """
    try:
        return task(*args, **kwargs)
    except Exception as exc:
        exc.__cause__ = exc.__context__ = None
        raise


def check_scheduler(scheduler: str) -> str:
    """Refuse a scheduler other than ``local`` or ``tcp://HOST:PORT`` (``tls://`` too).

    Returns
    -------
    str
        The scheduler, unchanged.

    Raises
    ------
    ParameterError
        Naming the two accepted forms.

    Examples
    --------
    >>> check_scheduler("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    """
    if scheduler == "local" or _ADDRESS.match(str(scheduler)):
        return scheduler
    raise ParameterError(f"scheduler: expected 'local' or an address such as tcp://HOST:8786, got {scheduler!r}")


@contextlib.contextmanager
def open_client(scheduler: str, workers: int | None = None) -> Iterator:
    """A ``distributed.Client`` for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : str
        ``local``: start a ``LocalCluster`` of ``workers`` processes, one thread each
        (the RX kernels are NumPy, so a thread per process is what uses the cores without
        the GIL in the way; distributed's nanny already pins BLAS to one thread per worker),
        closed at the end of the block.  ``tcp://HOST:PORT``: connect to a running
        scheduler, which is left running.
    workers : int, optional
        ``local`` only: worker processes, default one per core.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ParameterError
        A malformed scheduler, ``workers`` with an address, a scheduler that cannot be
        reached.
    MissingDependencyError
        dask or distributed is not installed.
    """
    check_scheduler(scheduler)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers: expected a positive integer, got {workers!r}")
    distributed = import_distributed()
    if scheduler == "local":
        # Its own logs stay quiet: what matters (a failed scene, a worker that kept dying)
        # reaches the client as an error, and shutting a cluster down logs alarming tracebacks.
        # The scheduler's HTTP server (dashboard with bokeh) takes any free local port: the
        # default, 8787, warns when another cluster already has it.
        with distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                      processes=True, dashboard_address="127.0.0.1:0",
                                      silence_logs=logging.CRITICAL) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    if workers is not None:
        raise ParameterError("workers: only with scheduler 'local'; a running cluster has its own workers")
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"scheduler: cannot reach {scheduler} ({one_line(exc)})") from exc
    with client:
        yield client
