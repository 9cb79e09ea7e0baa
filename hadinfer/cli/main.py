"""The ``hadinfer`` command group: logging setup and the one place errors become exit codes."""

from __future__ import annotations

import signal
import threading

import click

from .. import __version__
from ..errors import HadinferError
from .logs import configure_logging
from .options import verbosity_options


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so the same cleanup runs."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


class _Group(click.Group):
    """Maps errors to exit codes: usage 2 (click), HadinferError 1, Ctrl-C 130, SIGTERM 143.

    A traceback is shown only with ``-v``.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Terminated:
            click.echo("Terminated; no output was written.", err=True)
            ctx.exit(143)
        except KeyboardInterrupt:
            click.echo("Interrupted; no output was written.", err=True)
            ctx.exit(130)
        except HadinferError as exc:
            if (ctx.obj or {}).get("verbose"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except Exception as exc:  # bug or unwrapped library error: still one line, unless -v
            if (ctx.obj or {}).get("verbose"):
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {text} (run with -v for the traceback)") from exc


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
    from . import detect, evaluate, export, info, quicklook, synth, train

    for module in (detect, evaluate, export, info, quicklook, synth, train):
        cli.add_command(module.command)


_register()


def main() -> None:
    """Console entry point.

    SIGTERM (``kill``, a batch scheduler's time limit) is turned into
    :class:`Terminated`, a ``KeyboardInterrupt``, so it removes hidden temporary
    files exactly as Ctrl-C does, then exits 143.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_terminated)  # left alone when the caller ignores SIGTERM
    cli(prog_name="hadinfer")
