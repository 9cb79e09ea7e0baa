"""The ``hadinfer`` command group: logging setup and the one place errors become exit codes."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading

import click

from .. import __version__
from ..errors import HadinferError, one_line, wrap_library_error
from ..process_memory import limit_malloc_arenas
from .logs import configure_logging
from .options import verbosity_options


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same cleanup runs."""


class HungUp(KeyboardInterrupt):
    """SIGHUP (the terminal closed, an ssh connection dropped): the same cleanup as Ctrl-C."""


#: Signals turned into a KeyboardInterrupt subclass: (exception, exit code, message).
_SIGNALS = {"SIGTERM": (Terminated, 143, "Terminated; no output was written."),
            "SIGHUP": (HungUp, 129, "Hung up (terminal closed); no output was written.")}


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _raise_hung_up(signum, frame) -> None:
    raise HungUp()


def _say(text: str) -> None:
    """A line on stderr, if there still is one (after SIGHUP the terminal may be gone)."""
    try:
        click.echo(text, err=True)
    except (OSError, ValueError):
        pass


def _stdout_closed() -> None:
    """The reader of our output went away (``hadinfer info x | head -1``): stop quietly, as ``cat`` does.

    stdout is pointed at /dev/null so Python's own flush at exit does not fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


class _Group(click.Group):
    """Maps errors to exit codes: usage 2 (click), HadinferError 1, Ctrl-C 130, SIGTERM 143, SIGHUP 129.

    Library errors (GDAL's ``CPLE_*`` and rasterio's, ONNX's, an OS error naming a file,
    a file name that is not UTF-8) become one-line HadinferErrors here, in one place
    (:func:`hadinfer.errors.wrap_library_error`); only a bug says ``unexpected``.  A
    closed stdout (a pipe into ``head``) ends the command quietly with 141, as SIGPIPE
    would.  A traceback is shown only with ``-v``.
    """

    def invoke(self, ctx: click.Context):
        verbose = lambda: (ctx.obj or {}).get("verbose")  # noqa: E731 -- read after the options ran
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt as exc:
            for signalled, code, message in _SIGNALS.values():
                if isinstance(exc, signalled):
                    _say(message)
                    ctx.exit(code)
            _say("Interrupted; no output was written.")
            ctx.exit(130)
        except BrokenPipeError:
            _stdout_closed()
            ctx.exit(141)
        except HadinferError as exc:
            if verbose():
                raise
            _say(f"Error: {exc}")
            ctx.exit(1)
        except Exception as exc:
            if verbose():
                raise
            wrapped = wrap_library_error(exc)
            if wrapped is not None:
                _say(f"Error: {wrapped}")
                ctx.exit(1)
            # a bug: still one line, unless -v
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {one_line(exc)} (run with -v for the traceback)") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@verbosity_options
@click.version_option(__version__, prog_name="hadinfer")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Hyperspectral anomaly detection, streamed tile by tile.

    -v and -q work before or after the command.  hadinfer logs to stderr through the
    ``hadinfer`` logger: progress off a terminal at INFO, decisions (tile size, halo,
    device, bands) at DEBUG with -v; rasterio's and GDAL's debug lines only with -vv.
    """
    configure_logging(ctx)  # also when neither flag is given: progress lines need a handler


def _register() -> None:
    from . import detect, evaluate, export, info, quicklook, synth, train, train_features

    for module in (detect, evaluate, export, info, quicklook, synth, train, train_features):
        cli.add_command(module.command)


_register()


def main() -> None:
    """Console entry point.

    SIGTERM (``kill``, a batch scheduler's time limit) and SIGHUP (a closed terminal,
    a dropped ssh connection) are turned into :class:`Terminated` and :class:`HungUp`,
    both ``KeyboardInterrupt``, so they remove hidden temporary files exactly as Ctrl-C
    does, then exit 143 and 129.  A signal the caller ignores (``nohup``) stays ignored.
    The command owns its process, so it also limits glibc's malloc arenas before any
    thread starts (:mod:`hadinfer.process_memory`: peak memory stays flat as scenes grow),
    and once it is done, its outputs closed, it freezes the garbage collector's objects:
    the interpreter's shutdown then skips collecting them, which took 0.2 to 0.3 s after
    a run that loaded Numba (0.04 s frozen; 2-core AMD VM, 2026-12-07).  The operating
    system frees the memory either way.
    """
    limit_malloc_arenas()
    if threading.current_thread() is threading.main_thread():
        for name, handler in (("SIGTERM", _raise_terminated), ("SIGHUP", _raise_hung_up)):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) == signal.SIG_DFL:
                signal.signal(number, handler)
    try:
        cli(prog_name="hadinfer")
    finally:
        gc.freeze()
