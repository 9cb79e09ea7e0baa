"""What travels to the workers: how to open a scene and how to build a detector, never the objects.

An open raster holds a GDAL handle and a network detector an ONNX Runtime session;
neither pickles, and shipping a cube would cost 2·B bytes a pixel.  Workers get these
small descriptions, open the file themselves (so every worker must see the same path:
a shared file system or object store), and build and fit their own detector from the
merged statistics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..detectors import BackgroundStats, Detector, make_detector, registry
from ..errors import ParameterError
from ..io import Scene, open_scene


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


@dataclass(frozen=True)
class DetectorSpec:
    """A detector by name and constructor parameters, built where it runs.

    Attributes
    ----------
    name : str
        Anything :func:`hadinfer.detectors.make_detector` builds.
    params : dict
        Its parameters (picklable values only).
    """

    name: str
    params: dict = field(default_factory=dict)

    def build(self) -> Detector:
        """An unfitted detector.

        Raises
        ------
        ParameterError
            Unknown name or bad parameters (from :func:`~hadinfer.detectors.make_detector`).
        """
        return make_detector(self.name, **self.params)

    def fitted(self, stats: BackgroundStats) -> Detector:
        """A detector fitted on the scene's merged statistics."""
        return self.build().fit(stats)


def detector_spec(detector, params: dict) -> DetectorSpec:
    """A spec for ``detector`` (a name or model path), refusing what cannot be rebuilt on a worker.

    Raises
    ------
    ParameterError
        A Detector instance (it may hold an unpicklable session: pass its name), a name
        the registry does not know, or a detector that trains on the whole scene first
        (``adapt``: one process).
    """
    if isinstance(detector, Detector):
        raise ParameterError("detector: on a cluster pass a name or model file, which every worker builds itself, "
                             f"not a {type(detector).__name__} instance")
    if registry.resolve(detector)[0].needs_scene:
        raise ParameterError(f"detector: {detector} trains on the whole scene in one process first; run it without "
                             "a scheduler, or train once and pass the checkpoint")
    if getattr(registry.resolve(detector)[0].factory, "feature_pass", False):
        raise ParameterError(f"detector: {detector} needs a second statistics pass over its learned features, which "
                             "the cluster path does not run yet; run it without a scheduler")
    name = os.fspath(detector) if isinstance(detector, os.PathLike) else str(detector)
    if os.path.isfile(name):  # a model file: workers may run in another folder
        name = os.path.abspath(name)
    return DetectorSpec(name, dict(params))
