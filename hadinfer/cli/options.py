"""Option types and helpers shared by the commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..io.atomic import atomic_output, check_output_path


class WindowType(click.ParamType):
    """``INNER,OUTER`` odd window widths."""

    name = "INNER,OUTER"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            inner, outer = (int(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"expected two odd integers like 5,21, got {value!r}", param, ctx)
        if inner < 1 or outer < 1 or inner % 2 == 0 or outer % 2 == 0 or inner >= outer:
            self.fail(f"expected odd widths with inner < outer, got {value!r}", param, ctx)
        return inner, outer


class ProgressBars:
    """``progress(stage, done, total)`` drawn as click progress bars on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = click.progressbar(length=total, label=f"{stage:<10}", file=sys.stderr,
                                          show_pos=True, show_eta=True)
            self._bar.__enter__()
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def write_json(path: str, payload: dict, *, overwrite: bool, inputs=(), others=()) -> None:
    """Write a JSON report atomically (see :mod:`hadinfer.io.atomic`).

    It refuses to replace a file unless ``overwrite``, and never replaces one of
    ``inputs`` or ``others`` (the command's input files and its other outputs).
    """
    text = json.dumps(payload, indent=2, default=str) + "\n"
    with atomic_output(path, overwrite=overwrite, inputs=inputs, others=others) as tmp:
        tmp.write_text(text)


def check_optional_output(path: str | None, overwrite: bool, *, inputs=(), others=()) -> Path | None:
    """Validate an optional output path up front, before long work.

    ``inputs`` are the command's input files and ``others`` its other outputs: the
    output may be none of them (see :func:`hadinfer.io.atomic.check_output_path`).
    """
    return None if path is None else check_output_path(path, overwrite=overwrite, inputs=inputs, others=others)
