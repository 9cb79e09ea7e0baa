"""What a run records about itself, the same for a local and a cluster run.

A local run (:func:`hadinfer.detect`) and a cluster run
(:func:`hadinfer.distributed.strip_detect.detect_strips`) score differently but frame
their work the same way, through one :class:`RunFrame`:

1. :meth:`OutputSpec.checked`, before any work: the map's path (overwrite, never an
   input) and its GDAL creation options (the writer's rule,
   :func:`hadinfer.io.creation_options.check_creation_options`).
2. :meth:`RunFrame.begin`, once the detector is built: its :func:`provenance` (the model
   and scene files are hashed here, once per run); :meth:`RunFrame.with_bands` adds the
   bands once the scene is open.
3. :meth:`RunFrame.open_writer`: the map's writer, tagged with :meth:`RunFrame.tags`.
4. :meth:`RunFrame.start_report` puts ``output`` and ``provenance`` in the scoring's
   report; :meth:`RunFrame.finish` completes it: ``provenance`` gains ``finished_utc``,
   and ``input`` records the source file's size and modification time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shlex
import sys
import threading
from dataclasses import dataclass

from .io.creation_options import check_creation_options
from .io.scene import Scene, SceneInfo
from .io.writer import ScoreMapWriter, check_output_path
from .models.metadata import file_sha256


class PendingDigest:
    """A file's SHA-256, computed in a background thread while the run reads and scores.

    Hashing a 400 MB scene took 0.36 s, 16 % of a ``grx`` run on 2 cores; beside the
    run it cost 0.19 s of it (2-core Intel VM, 2026-12-06).  ``str()`` waits for the
    digest (the map's tags are written as strings when it is committed); :meth:`value`
    gives it, or None when the file could not be read, as :func:`file_sha256` does.
    """

    def __init__(self, path):
        self._result: list = []
        self._thread = threading.Thread(target=lambda: self._result.append(file_sha256(path)),
                                        name="hadinfer-hash", daemon=True)  # a failed run need not wait for it
        self._thread.start()

    def value(self) -> str | None:
        """The hex digest (waits for it), or None."""
        self._thread.join()
        return self._result[0] if self._result else None

    def __str__(self) -> str:
        return str(self.value())

    def __repr__(self) -> str:
        return f"PendingDigest({self.value()!r})"


def resolved(entries: dict) -> dict:
    """``entries`` with every :class:`PendingDigest` replaced by its value."""
    return {k: v.value() if isinstance(v, PendingDigest) else v for k, v in entries.items()}


def provenance(model, source=None) -> dict:
    """What made a map: hadinfer version, detector, its parameters and model file's SHA-256,
    the source file and its SHA-256, and the command line.

    The bands used are added once the scene is open (``bands``, a ``--bands`` spec;
    :meth:`RunFrame.with_bands`).  The source's SHA-256 is a :class:`PendingDigest`,
    hashed while the run works; :func:`resolved` (and :meth:`RunFrame.finish`) waits for it.
    """
    from . import __version__

    out = {"version": __version__, "detector": model.name,
           "params": json.dumps(model.params(), default=str, sort_keys=True)}
    file = None if model.runtime is None else model.runtime.path  # a network's model file
    if isinstance(file, str) and os.path.isfile(file):
        out["model_sha256"] = file_sha256(file)
    if isinstance(source, (str, os.PathLike)):
        out["source"] = os.fspath(source)
        if os.path.isfile(source):
            out["source_sha256"] = PendingDigest(source)
    elif isinstance(source, Scene):
        out["source"] = source.info.path
    elif source is not None:
        out["source"] = "<array>"
    out["command"] = shlex.join(sys.argv)
    return out


@dataclass(frozen=True)
class OutputSpec:
    """Where and how a run writes its map; ``path`` None keeps the map in memory.

    Attributes
    ----------
    path : str, PathLike or None
        The map (a float32 GeoTIFF).
    overwrite, cog : bool
        Replace an existing map; write a Cloud-Optimized GeoTIFF.
    creation_options : dict of str to str, or None
        Checked GDAL creation options (None: hadinfer's defaults).
    """

    path: str | os.PathLike | None = None
    overwrite: bool = False
    cog: bool = False
    creation_options: dict[str, str] | None = None

    @classmethod
    def checked(cls, path=None, *, overwrite: bool = False, cog: bool = False, creation_options=None,
                inputs=()) -> "OutputSpec":
        """An output spec checked before any work.

        Parameters
        ----------
        path : str, PathLike or None
            The map; None for a map in memory (the creation options are checked all the same).
        overwrite, cog : bool
            As :func:`hadinfer.detect`.
        creation_options : mapping, optional
            GDAL creation options, checked by the writer's rule.
        inputs : tuple of path
            The run's input files (scene, model files): the map may replace none of them.

        Raises
        ------
        ParameterError
            A bad creation option (one line, ``creation_options: ...``).
        OutputExistsError, OutputPathError
            See :func:`hadinfer.io.atomic.check_output_path`.
        """
        options = None if creation_options is None else check_creation_options(creation_options, cog=cog)
        if path is not None:
            check_output_path(path, overwrite=overwrite, inputs=inputs)
        return cls(path, overwrite, cog, options)

    def open_writer(self, info: SceneInfo, tags: dict) -> ScoreMapWriter:
        """The map's writer (use as a context manager, or commit/abort it)."""
        return ScoreMapWriter(self.path, info, overwrite=self.overwrite, cog=self.cog, tags=tags,
                              creation_options=self.creation_options)


@dataclass(frozen=True)
class RunFrame:
    """Provenance, tags, report frame and output of one run, local or on a cluster.

    Attributes
    ----------
    provenance : dict
        :func:`provenance` of the run (with ``bands`` once :meth:`with_bands` is called).
    output : OutputSpec
        Where the map goes.
    source_file : str, PathLike or None
        The input path whose size and modification time the report records
        (``input``), when it is a file.
    """

    provenance: dict
    output: OutputSpec
    source_file: str | os.PathLike | None = None

    @classmethod
    def begin(cls, model, source, output: OutputSpec, *, with_source: bool = True) -> "RunFrame":
        """The frame of a run of ``model`` on ``source``; hashes the model file (and the source file).

        ``with_source`` False leaves the source out of the provenance (its map's tags then
        name no source; its report's ``input`` still does).
        """
        made_by = provenance(model, source if with_source else None)
        return cls(made_by, output, source if isinstance(source, (str, os.PathLike)) else None)

    def with_bands(self, bands: str) -> "RunFrame":
        """The frame with the bands used (a ``--bands`` spec) in its provenance."""
        return dataclasses.replace(self, provenance=self.provenance | {"bands": bands})

    def tags(self) -> dict:
        """The map's dataset tags: ``HADINFER_<KEY>`` for each provenance entry."""
        return {f"HADINFER_{k.upper()}": v for k, v in self.provenance.items()}

    def open_writer(self, info: SceneInfo) -> ScoreMapWriter:
        """The map's writer, tagged with this run's provenance."""
        return self.output.open_writer(info, self.tags())

    def start_report(self, report: dict, written=None) -> dict:
        """``report`` with the frame's keys in their place, in place: ``output`` (the written map, when
        one was) and ``provenance`` (completed by :meth:`finish`)."""
        if written is not None:
            report["output"] = str(written)
        report["provenance"] = self.provenance
        return report

    def finish(self, report: dict) -> dict:
        """``report`` with this run's ``provenance`` (and ``finished_utc``) and its ``input`` file; in place."""
        report["provenance"] = resolved(self.provenance) | {
            "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        if self.source_file is not None and os.path.isfile(self.source_file):
            stat = os.stat(self.source_file)
            report["input"] = {"path": os.fspath(self.source_file), "bytes": stat.st_size,
                               "mtime_utc": dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc)
                               .isoformat(timespec="seconds")}
        return report
