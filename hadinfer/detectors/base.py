"""What every detector offers."""

from __future__ import annotations

import inspect

import numpy as np

from ..arrays import ArrayLibrary, NumpyArrays
from ..errors import ParameterError
from ..kernels.statistics import BackgroundStats


class Detector:
    """Base class: fit on global statistics, then score tiles.

    The constructor only stores parameters.  :meth:`fit` learns state into attributes
    ending in ``_``.  :meth:`score` returns an (H, W) float32 map of the tile's core,
    higher = more anomalous, NaN where a pixel cannot be scored; it mutates nothing,
    so tiles can be scored in any order.

    Attributes
    ----------
    name : str
        Registry name (``grx``, ``lrx``).
    halo : int
        Context pixels each side that a core pixel's score depends on.
    tile_parallel : bool
        Whether tiles may be scored several at once on a CPU, each with one BLAS
        thread (:func:`hadinfer.cpu_threads.tile_workers`): True for NumPy and BLAS
        kernels (one worker per core beat one worker with every BLAS thread: ``grx``
        2.0 s against 2.2, ``fusion`` 3.6 against 5.0 on 1024 x 1024 x 200, 2 cores) and
        ONNX Runtime networks (one thread per call); False for runtimes that manage their
        own threads (PyTorch) or device.
    stats_precision : {"float64", "float32"}
        Arithmetic the statistics pass forms each window's scatter in (default
        ``float64``; :class:`GlobalRX` follows its ``precision``).
    feature_pass : bool
        Whether :func:`hadinfer.pipeline.run_detector` runs a second statistics pass
        over :meth:`features` (``feature_count`` bands) and gives it to
        :meth:`fit_features` (default False; the ``learned`` detector sets it).  Its
        :meth:`score` must also take ``features=``: the read window's :meth:`features`,
        which the pipeline passes when it kept them from that pass (or None).
    feature_count : int
        Bands of :meth:`features` (default 0: no feature pass).
    runtime : ModelRuntime or None
        The model runtime a network detector runs on (its ``name`` goes in the report,
        its ``path`` is hashed into the provenance); None for array-library detectors.
    train_report : dict or None
        What training on the scene reported (``train_seconds``, ``prepare_seconds``,
        ...), for detectors that train before scoring (``adapt``); None otherwise.
    batch_tiles : int
        Tiles :func:`hadinfer.pipeline.run_detector` hands :meth:`score_prepared` at once
        (default 1).  Network detectors stack the tiles' inputs into one runtime call.
    native_tile : int or None
        A core tile size (a side) the detector always scores with, whatever tile size
        the run asks for (default None: the run's).  Set by detectors whose kernels round
        differently with the shape of the window they are given (a network runtime picks
        its convolution blocking by input shape), so that their map is the same bits for
        every tile size, file layout and cluster strip layout.

    Notes
    -----
    Every hook the pipeline, the API and the cluster paths use is declared here with
    its default (:data:`DETECTOR_HOOKS`); they call it directly, never through
    ``getattr``.  A registered factory class that is not a subclass must provide all of
    them (:func:`hadinfer.detectors.registry.register` checks).
    """

    name = "?"
    halo = 0
    tile_parallel = False
    stats_precision = "float64"
    feature_pass = False
    feature_count = 0
    runtime = None
    train_report = None
    native_tile = None
    batch_tiles = 1

    def arrays_for(self, device: str = "auto") -> ArrayLibrary:
        """The array library scoring runs with on ``device`` (NumPy on the CPU, PyTorch on CUDA).

        Raises
        ------
        ParameterError, DeviceUnavailableError, MissingDependencyError
        """
        from ..arrays import array_library

        return array_library(device)

    def tile_limits(self) -> tuple[int, int | None]:
        """``(min_read, max_core)``: smallest read window and largest tile core it accepts (no limits)."""
        return 1, None

    def check_image(self, height: int, width: int) -> None:
        """Refuse, before the statistics pass, an image this detector cannot score (nothing by default)."""

    def fit(self, stats: BackgroundStats) -> "Detector":
        """Learn from the scene's global background statistics."""
        raise NotImplementedError

    def score(self, cube: np.ndarray, valid: np.ndarray, core=None,
              arrays: ArrayLibrary | None = None) -> np.ndarray:
        """Score a tile.

        Parameters
        ----------
        cube : ndarray, shape (h, w, B)
            The read window (core plus halo), invalid pixels zeroed.
        valid : ndarray of bool, shape (h, w)
        core : (slice, slice), optional
            Where the core lies in the read window; default the whole window.
        arrays : ArrayLibrary, optional
            Default NumPy on the CPU.

        Returns
        -------
        ndarray of float32, shape of the core
        """
        raise NotImplementedError

    def prepare(self, cube: np.ndarray, valid: np.ndarray, core=None, arrays: ArrayLibrary | None = None):
        """What :meth:`score_prepared` needs of a tile, made as soon as it is read (default: the
        tile itself).  Network detectors compute their input here, so a batch holds inputs,
        not spectra."""
        return cube, valid, core

    def score_prepared(self, items: list, arrays: ArrayLibrary | None = None) -> list:
        """Scores of several tiles, each as :meth:`prepare` made it (default: :meth:`score` of each)."""
        return [self.score(cube, valid, core, arrays=arrays) for cube, valid, core in items]

    def fit_score(self, cube: np.ndarray, valid: np.ndarray | None = None,
                  arrays: ArrayLibrary | None = None) -> np.ndarray:
        """Fit on an in-memory cube (both statistics passes when ``feature_pass``) and score all of it
        (convenience for small arrays).

        Raises
        ------
        ParameterError
            ``cube`` is not a (rows, cols, bands) array, or ``valid`` not its (rows, cols) mask.
        """
        cube = np.asarray(cube, dtype=np.float64)
        if cube.ndim != 3:
            raise ParameterError(f"cube: expected a (rows, cols, bands) array, got shape {cube.shape}")
        if valid is not None and np.shape(valid) != cube.shape[:2]:
            raise ParameterError(f"valid: expected a {cube.shape[:2]} mask, got shape {np.shape(valid)}")
        if valid is None:
            valid = np.isfinite(cube).all(axis=2)
            cube = np.where(valid[:, :, None], cube, 0.0)
        self.fit(BackgroundStats(cube.shape[2]).update(cube[valid]))
        if self.feature_pass:
            features = self.features(cube, valid)
            self.fit_features(BackgroundStats(features.shape[2]).update(features[valid]))
        return self.score(cube, valid, arrays=arrays)

    def features(self, cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """The per-pixel features of a window, (h, w, ``feature_count``) floats, for the second statistics pass.

        Only called when ``feature_pass`` is set.
        """
        raise NotImplementedError(f"{type(self).__name__} declares no feature pass")

    def fit_features(self, stats: BackgroundStats) -> "Detector":
        """Learn from the statistics of :meth:`features` over the scene (only when ``feature_pass`` is set)."""
        raise NotImplementedError(f"{type(self).__name__} declares no feature pass")

    def chi2_dof(self) -> int | None:
        """Degrees of freedom of the chi-square its fitted scores follow on Gaussian background (the ``chi2``
        threshold rule), or None when they follow none (default)."""
        return None

    def params(self) -> dict:
        """Constructor parameters, for reports and provenance.

        Read from the constructor's signature: each named parameter the constructor
        stored under its own name.  Detectors that store them otherwise override this.
        """
        names = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        stored = vars(self)
        return {name: stored[name] for name in names if name in stored}

    @staticmethod
    def _arrays(arrays):
        return arrays if arrays is not None else NumpyArrays()


#: What the pipeline, the API and the cluster paths use of a detector: a registered factory
#: class that is not a :class:`Detector` subclass must provide every one.
DETECTOR_HOOKS = ("name", "halo", "tile_parallel", "stats_precision", "feature_pass", "feature_count", "runtime",
                  "train_report", "native_tile", "batch_tiles", "arrays_for", "tile_limits", "check_image", "fit",
                  "score", "prepare", "score_prepared", "features", "fit_features", "chi2_dof", "params")
