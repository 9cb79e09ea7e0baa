"""Logging for the command line: hadinfer's own logger, quiet libraries, progress as log lines.

hadinfer logs through ``logging.getLogger("hadinfer")`` and one child per module
(``hadinfer.io.raster_scene``, ``hadinfer.cli.detect``, ...); progress off a terminal
goes to ``hadinfer.progress``.  The library never configures logging itself: only
the command line does, here, once per invocation, and undoes it when the command
ends (so running the CLI in-process, as tests do, leaves no handler behind).

===============  ==================  ============================
flags            hadinfer            rasterio, GDAL, other libraries
===============  ==================  ============================
(none)           INFO (progress)     WARNING
``-q``           WARNING             WARNING
``-v``           DEBUG               WARNING
``-vv``          DEBUG               DEBUG
===============  ==================  ============================

``-v`` beats ``-q`` for log lines (asking for debug output is explicit); ``-q``
still hides progress bars and summary lines.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import click

__all__ = ["LogSetup", "ProgressLog", "configure_logging"]

#: Loggers whose DEBUG lines hadinfer hides until ``-vv`` (rasterio alone logs hundreds per scene).
LIBRARY_LOGGERS = ("rasterio",)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record arrives (click's test runner swaps it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.setStream assigns it; the property decides
        pass


class LogSetup:
    """The logging configuration of one CLI invocation, undone by :meth:`close`.

    One handler on the root logger (so warnings of any library share the format),
    and levels on the root, ``hadinfer`` and library loggers; :meth:`apply` may be
    called again when ``-v`` or ``-q`` turn up after the subcommand.
    """

    def __init__(self) -> None:
        self.handler = _StderrHandler()
        self.handler.setFormatter(logging.Formatter(LOG_FORMAT))
        names = ("", "hadinfer", *LIBRARY_LOGGERS)
        self._saved = {name: logging.getLogger(name).level for name in names}
        self._announced = False
        logging.getLogger().addHandler(self.handler)

    def apply(self, verbosity: int, quiet: bool) -> None:
        """Set the levels for ``verbosity`` (count of ``-v``) and ``quiet``."""
        if verbosity >= 1:
            own = logging.DEBUG
        else:
            own = logging.WARNING if quiet else logging.INFO
        libraries = logging.DEBUG if verbosity >= 2 else logging.WARNING
        logging.getLogger().setLevel(libraries)
        logging.getLogger("hadinfer").setLevel(own)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(libraries)
        if verbosity >= 1 and not self._announced:
            import rasterio

            from .. import __version__

            self._announced = True
            log.debug("hadinfer %s, rasterio %s, GDAL %s", __version__, rasterio.__version__,
                      rasterio.__gdal_version__)

    def close(self) -> None:
        """Remove the handler and restore the levels found at the start."""
        logging.getLogger().removeHandler(self.handler)
        for name, level in self._saved.items():
            logging.getLogger(name).setLevel(level)


def configure_logging(ctx: click.Context) -> None:
    """(Re)configure logging from ``ctx.obj["verbose"]`` and ``ctx.obj["quiet"]``.

    The first call installs a :class:`LogSetup` that the outermost context closes
    when the command ends; later calls (``-v`` after the subcommand) only change
    levels.
    """
    obj = ctx.ensure_object(dict)
    setup = obj.get("logging")
    if setup is None:
        setup = obj["logging"] = LogSetup()
        ctx.find_root().call_on_close(setup.close)
    setup.apply(obj.get("verbose", 0), obj.get("quiet", False))


class ProgressLog:
    """Progress as periodic INFO lines on the ``hadinfer.progress`` logger (stderr not a terminal).

    A stage logs a line when it has advanced another tenth and at least ``min_gap``
    seconds have passed since its start or its last line, or when ``heartbeat``
    seconds have passed whatever its progress; and a closing line when it finishes,
    if it logged any.  A stage shorter than ``min_gap`` logs nothing: a batch job's
    log gets a few lines per long stage, not one per tile.

    Parameters
    ----------
    unit : str
        What ``done`` counts (``"tiles"``, ``"steps"``).
    min_gap, heartbeat : float
        Seconds, as above.
    clock : callable
        Monotonic seconds (tests pass a fake clock).  A stage is timed from the
        previous stage's last call, as the pipeline's stages run back to back; the
        first stage from its first call (its first tile is not counted: what ran
        before it, e.g. training, is unknown).
    logger : logging.Logger, optional
        Default ``hadinfer.progress``.
    """

    def __init__(self, unit: str = "tiles", *, min_gap: float = 5.0, heartbeat: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, logger: logging.Logger | None = None):
        self.unit = unit
        self.min_gap = min_gap
        self.heartbeat = heartbeat
        self.clock = clock
        self.logger = logger or logging.getLogger("hadinfer.progress")
        self._stage: str | None = None
        self._start = self._last = 0.0
        self._previous: float | None = None  # the last call's time: the next stage starts there
        self._tenth = self._base = 0
        self._lines = 0

    def update(self, stage: str, done: int, total: int, detail: str = "") -> None:
        """Record that ``done`` of ``total`` units of ``stage`` are finished."""
        now = self.clock()
        if stage != self._stage:
            start = now if self._previous is None else self._previous
            self._stage, self._start, self._last, self._tenth, self._lines = stage, start, start, 0, 0
            self._base = done if self._previous is None else 0  # units done before the clock started
        self._previous = now
        total = max(total, 1)
        tenth = min(10, done * 10 // total)
        extra = f", {detail}" if detail else ""
        if done >= total:
            if self._lines:
                self.logger.info("%s: done, %d %s in %.1f s%s", stage, total, self.unit, now - self._start, extra)
            self._stage = None  # a stage of the same name that follows starts afresh
            return
        since = now - self._last
        if (tenth > self._tenth and since >= self.min_gap) or since >= self.heartbeat:
            elapsed = now - self._start
            timed = done - self._base
            left = f", about {elapsed / timed * (total - done):.0f} s left" if timed > 0 else ""
            self.logger.info("%s: %d%% (%d/%d %s), %.0f s elapsed%s%s", stage, 100 * done // total, done, total,
                             self.unit, elapsed, left, extra)
            self._last, self._tenth = now, tenth
            self._lines += 1
