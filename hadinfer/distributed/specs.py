"""What travels to the workers: how to open a scene and how to build a detector, never the objects.

An open raster holds a GDAL handle and a network detector an ONNX Runtime session;
neither pickles, and shipping a cube would cost 2·B bytes a pixel.  Workers get these
small descriptions, open the file themselves (so every worker must see the same path:
a shared file system or object store), and build and fit their own detector from the
merged statistics.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ..detectors import BackgroundStats, Detector, registry
from ..errors import ParameterError
from ..io import Scene, open_scene
from ..io.read_options import direct_read_options


@dataclass(frozen=True)
class SceneSource:
    """A scene file and how to read it.

    Attributes
    ----------
    path : str
        Absolute path, the same on the client and every worker.
    key : str or None
        ``.mat`` variable.
    bands : str or None
        1-based band selection (see :func:`hadinfer.io.open_scene`).
    """

    path: str
    key: str | None = None
    bands: str | None = None

    @classmethod
    def from_path(cls, path, *, key=None, bands=None) -> "SceneSource":
        """A source for ``path`` (made absolute: workers may run in another folder).

        Raises
        ------
        ParameterError
            ``path`` is not a path (an array or an open scene cannot be shipped; use
            :func:`hadinfer.dask.detect` for arrays).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise ParameterError(f"source: expected a file path on a cluster, got {type(path).__name__}; "
                                 "score arrays with hadinfer.dask.detect")
        return cls(os.path.abspath(os.fspath(path)), key, bands)

    def open(self) -> Scene:
        """Open the scene (close it, or use it as a context manager)."""
        return open_scene(self.path, key=self.key, bands=self.bands)

    @contextmanager
    def reading(self) -> Iterator[Scene]:
        """The open scene, read as a single-process run reads it: past GDAL's block cache.

        Worker tasks read through this (:mod:`hadinfer.io.read_options`: pixel-interleaved
        GeoTIFFs pixel-major, raw files by window); the pixels are the same either way.
        """
        import rasterio

        with rasterio.Env(**direct_read_options()), self.open() as scene:
            yield scene


@dataclass(frozen=True)
class DetectorSpec:
    """A detector as the client chose it, built where it runs.

    Attributes
    ----------
    choice : DetectorChoice
        The run's one resolution of the detector value
        (:func:`hadinfer.detectors.registry.choose`), with its parameters (picklable
        values only); workers build from it without resolving the value again.
    """

    choice: registry.DetectorChoice

    @property
    def name(self) -> str:
        """The detector value (a registered name, or a model file's absolute path)."""
        return self.choice.value

    @property
    def params(self) -> dict:
        """The caller's parameters."""
        return self.choice.params

    def build(self) -> Detector:
        """An unfitted detector.

        Raises
        ------
        ParameterError, MissingDependencyError
            From :meth:`~hadinfer.detectors.registry.DetectorChoice.build`.
        """
        return self.choice.build()

    def fitted(self, stats: BackgroundStats) -> Detector:
        """A detector fitted on the scene's merged statistics."""
        return self.build().fit(stats)


def detector_spec(detector, params: dict, *, feature_pass: bool = False) -> DetectorSpec:
    """A spec for ``detector`` (a name, model path or DetectorChoice), refusing what cannot be rebuilt on a worker.

    Raises
    ------
    ParameterError
        A Detector instance (it may hold an unpicklable session: pass its name), a name
        the registry does not know, or a detector that trains on the whole scene first
        (``adapt``: one process), or one with a second statistics pass (``learned``)
        unless the caller runs that pass (``feature_pass=True``: the strip path does).
    """
    if isinstance(detector, Detector):
        raise ParameterError("detector: on a cluster pass a name or model file, which every worker builds itself, "
                             f"not a {type(detector).__name__} instance")
    choice = registry.choose(detector, params)  # a DetectorChoice (from the CLI) is not resolved again
    if choice.needs_scene:
        raise ParameterError(f"detector: {choice.value} trains on the whole scene in one process first; run it "
                             "without a scheduler, or train once and pass the checkpoint")
    if choice.feature_pass and not feature_pass:
        raise ParameterError(f"detector: {choice.value} needs a second statistics pass over its learned features, "
                             "which lazy Dask arrays do not run; pass the scene's path (strips run it), or run it "
                             "without a scheduler")
    if "path" in choice.fixed and os.path.isfile(choice.fixed["path"]):  # workers may run in another folder
        value = os.path.abspath(choice.fixed["path"])
        choice = replace(choice, value=value, fixed={**choice.fixed, "path": value})
    return DetectorSpec(choice)
