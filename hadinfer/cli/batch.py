"""Many scenes in one ``hadinfer detect``: one map and report per scene, a summary, failures listed."""

from __future__ import annotations

import glob
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import HadinferError, OutputPathError, one_line, wrap_library_error
from ..io.atomic import InputIndex, check_distinct
from ..io.json_text import dumps as json_dumps
from ..kernels.compiled import expect_scenes
from .options import write_json


def expand_scenes(patterns) -> list[str]:
    """Scene arguments with shell-style patterns expanded (for shells that do not, and quoted globs).

    A pattern that matches nothing is kept, so the scene fails with its own one-line error.
    """
    scenes = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) and not os.path.exists(pattern) else []
        scenes.extend(matches or [pattern])
    return scenes


def batch_outputs(scenes: list[str], folder: str, suffix: str) -> list[Path]:
    """``folder/<scene name without extension><suffix>`` per scene; two scenes of one name are refused."""
    names = [Path(s).stem for s in scenes]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise click.BadParameter(f"several scenes are named {', '.join(clashes)}; their maps would collide in "
                                 f"{folder}", param_hint="SCENES")
    return [Path(folder) / f"{name}{suffix}" for name in names]


def batch_request(**fields) -> dict:
    """What a batch asks of every scene (detector, its parameters, bands...), as its JSON report records it.

    Each scene's report keeps it under ``request``; a rerun skips an existing map only
    when its report holds the same request (:func:`plan_rows`).  Values go through JSON
    once, so tuples compare equal to the lists read back.
    """
    return json.loads(json_dumps(fields, sort_keys=True, default=str))


def run_batch(scenes: list[str], folder: str, run_one: Callable[[str, Path, Path], dict], *,
              overwrite: bool, quiet: bool, suffixes: tuple[str, ...] = (), model_files: tuple = (),
              request: dict | None = None) -> int:
    """Run ``run_one(scene, map_path, report_path)`` per scene; a failure does not stop the others.

    Existing maps are skipped unless ``overwrite``; ``run_one`` puts a map in place only
    when its whole step (detections and report included) succeeded, so a scene that
    failed is run again next time.  Writes ``folder/summary.json`` (this batch's index,
    refreshed by every run) and returns the exit code: 0, or 1 when a scene failed.
    :func:`hadinfer.cli.scheduled.run_scheduled_batch` runs the same batch on a Dask
    cluster through the same helpers below.
    """
    rows = plan_rows(scenes, folder, overwrite, suffixes=suffixes, model_files=model_files, request=request)
    expect_scenes(sum(row["status"] == PENDING for row in rows))  # many: load the compiled kernels once for all
    started = time.perf_counter()
    for number, row in enumerate(rows, 1):
        if row["status"] == PENDING:
            try:
                row |= ok_row(run_one(row["scene"], Path(row["map"]), Path(row["report"])))
            except Exception as exc:  # a bug on one scene must not lose the others' maps
                row |= failed_row(exc)
        echo_row(number, len(rows), row, quiet)
    return finish_batch(rows, folder, scenes, started)


#: Status of a row whose scene is still to run.
PENDING = "pending"
#: The batch's own index in the output folder.
SUMMARY = "summary.json"


def plan_rows(scenes: list[str], folder: str, overwrite: bool, *, suffixes: tuple[str, ...] = (),
              model_files: tuple = (), request: dict | None = None) -> list[dict]:
    """One summary row per scene: ``scene``, ``map``, ``report`` and ``status``.

    The status is ``pending``, or ``skipped (...)`` when the map exists, not
    ``overwrite``, and the map's report records the same ``request``
    (:func:`batch_request`): a rerun with another detector, other parameters or bands
    never keeps the old maps as if they were its own.  Every output the batch may write
    -- each scene's map, report and ``<name><suffix>`` for ``suffixes`` (detections), and
    ``summary.json`` -- is checked first: no two are the same file, and none is a file of
    any scene (its header, a VRT's source, ...) or a model file.  A missing ``folder``
    is created (its parent must exist: a mistyped path does not grow a tree of folders),
    last, once everything else has been checked.

    Raises
    ------
    click.BadParameter
        ``folder`` is not a folder or its parent is missing, two scenes share a name, a
        scene's outputs would be ``summary.json``, or an existing map was made for
        another request.
    OutputPathError
        An output would replace one of the batch's inputs, or ``folder`` cannot be made.
    """
    create = not os.path.isdir(folder)
    if create:
        parent = os.path.dirname(os.path.abspath(folder))
        if os.path.lexists(folder):
            raise click.BadParameter(f"{folder}: not a folder", param_hint="--output-dir")
        if not os.path.isdir(parent):
            raise click.BadParameter(f"{folder}: no such folder, and its parent {parent} does not exist either "
                                     "(hadinfer creates the output folder, not its parents)", param_hint="--output-dir")
    rows = []
    summary = Path(folder) / SUMMARY
    planned: dict[str, str] = {os.path.realpath(summary): f"the batch summary {summary}"}
    inputs = InputIndex((*scenes, *model_files))
    stale = []
    for scene, target in zip(scenes, batch_outputs(scenes, folder, ".tif")):
        row = {"scene": scene, "map": str(target), "report": str(target.with_suffix(".json")), "status": PENDING}
        if target.exists() and not overwrite:
            row["status"] = "skipped (map exists; --overwrite replaces it)"
            recorded = recorded_request(target.with_suffix(".json"))
            if request is not None and not same_request(recorded, request):
                stale.append((target, recorded))
        outputs = [target, target.with_suffix(".json"), *(target.with_suffix(s) for s in suffixes)]
        for output in outputs:
            taken = planned.setdefault(os.path.realpath(output), f"an output of {scene}")
            if taken != f"an output of {scene}":
                raise click.BadParameter(f"{scene}: its output {output} would also be {taken}; rename the scene",
                                         param_hint="SCENES")
            if row["status"] == PENDING:
                check_distinct(output, inputs=inputs)
        rows.append(row)
    if stale:
        target, recorded = stale[0]
        made = "an unknown request (no report beside it records one)" if recorded is None else \
            f"{_describe(recorded)}"
        more = f" (and {len(stale) - 1} more map{'s' if len(stale) > 2 else ''})" if len(stale) > 1 else ""
        raise click.BadParameter(f"{target} exists, made by {made}; this run asks for {_describe(request)}{more}: "
                                 "pass --overwrite to replace them, or choose another --output-dir",
                                 param_hint="--output-dir")
    if create:
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass  # another batch made it meanwhile: it is a folder or the outputs' checks will say so
        except OSError as exc:
            raise OutputPathError(f"{folder}: cannot create the output folder ({exc.strerror})") from exc
    return rows


#: Request fields that only shape the detections: a rerun that asks for none keeps them.
_DETECTION_FIELDS = ("pfa", "threshold")


def same_request(recorded: dict | None, request: dict) -> bool:
    """Whether a map made for ``recorded`` is what ``request`` would make.

    Everything that shapes the map must match; ``--pfa``/``--threshold`` only when this
    run gives one (a rerun without them keeps the maps and their detections as they are).
    """
    if recorded is None:
        return False
    keys = set(recorded) | set(request)
    return all(recorded.get(key) == request.get(key) for key in keys
               if key not in _DETECTION_FIELDS or request.get(key) is not None)


def recorded_request(report: Path) -> dict | None:
    """The ``request`` a scene's report records, or None (no report, unreadable, or from before requests)."""
    try:
        recorded = json.loads(report.read_text()).get("request")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _describe(request: dict) -> str:
    """``--detector grx (shrinkage=0.1, bands=1-5)``: a request in the CLI's words, for messages."""
    settings = {**(request.get("params") or {}),
                **{k: v for k, v in request.items() if k not in ("detector", "params") and v is not None}}
    details = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
    return f"--detector {request.get('detector')}" + (f" ({details})" if details else "")


def ok_row(report: dict) -> dict:
    """The summary fields of a scene that ran."""
    return {"status": "ok", "seconds": report["seconds"]["total"]}


def failed_row(exc: BaseException) -> dict:
    """The summary fields of a scene that failed: a one-line message, ``unexpected ...`` for a bug."""
    if isinstance(exc, click.ClickException):
        return {"status": "failed", "error": str(exc.format_message())}
    if isinstance(exc, HadinferError):
        return {"status": "failed", "error": str(exc)}
    wrapped = wrap_library_error(exc)
    if wrapped is not None:
        return {"status": "failed", "error": str(wrapped)}
    return {"status": "failed", "error": f"unexpected {type(exc).__name__}: {one_line(exc)}"}


def echo_row(number: int, total: int, row: dict, quiet: bool) -> None:
    """``[n/N] scene: status`` on stderr, unless ``quiet``."""
    if not quiet:
        click.echo(f"[{number}/{total}] {row['scene']}: {row['status']}"
                   + (f" ({row['error']})" if "error" in row else ""), err=True)


def finish_batch(rows: list[dict], folder: str, scenes: list[str], started: float) -> int:
    """Write ``folder/summary.json``, list the failures; the exit code (1 when a scene failed)."""
    failed = [r for r in rows if r["status"] == "failed"]
    summary = {"scenes": rows, "ok": sum(r["status"] == "ok" for r in rows),
               "skipped": sum(r["status"].startswith("skipped") for r in rows), "failed": len(failed),
               "seconds": round(time.perf_counter() - started, 3)}
    write_json(os.path.join(folder, SUMMARY), summary, overwrite=True, inputs=scenes)
    if failed:
        click.echo(f"Error: {len(failed)} of {len(rows)} scenes failed: "
                   + "; ".join(f"{r['scene']} ({r['error']})" for r in failed), err=True)
        return 1
    return 0
