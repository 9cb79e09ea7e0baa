"""One registry for every ``--detector`` value: the CLI and the API resolve detectors here, by the same code.

Each entry gives a factory, the options it takes and the extra it needs.  The CLI builds
its detector options and help from :data:`OPTIONS` and the entries; the API passes
keyword parameters straight to the factory, checked against its signature.  Packages
register more detectors through the ``hadinfer.detectors`` entry-point group (the
training package registers ``adapt`` that way, so the runtime never imports it).  Any
other value is a model file.

The path of a detector value
----------------------------
A ``--detector`` value is resolved once per run, by :func:`choose`, into a frozen
:class:`DetectorChoice` (entry, parameters, model files, ``needs_scene``,
``feature_pass``); everything downstream reads that object and never looks the value
up again.

From the command line (``hadinfer detect --detector V``):

1. ``cli/detector_options.py`` ``detector_choice``: :func:`choose` (V -> entry), then
   the options set on the command line are checked against ``entry.options`` and bound
   with :meth:`DetectorChoice.with_params`.
2. ``cli/detect.py``: the choice's ``model_files`` guard the outputs, its
   ``needs_scene`` adds a training bar, its ``value`` and ``report_params()`` go into
   the report's ``request``; the choice itself is passed as ``detector=`` to
   :func:`hadinfer.detect` (or, with ``--scheduler``,
   :func:`hadinfer.distributed.strip_detect.detect_strips`).

From Python (``hadinfer.detect(source, detector=V, **params)``):

1. ``api.detect``: :func:`choose` (V, params), unless V already is a choice (from the
   CLI) or a :class:`Detector` instance (used as given).
2. ``api.detect``: the choice's ``model_files`` guard the outputs;
   :meth:`DetectorChoice.build` calls the entry's factory (with the scene, for
   ``needs_scene``) and returns a :class:`Detector`.

Then, for both: :func:`hadinfer.pipeline.run_detector` asks the detector for its array
library or model runtime (:meth:`Detector.arrays_for`, e.g. a ``NetworkDetector``'s
``runtime`` opened by the factory through :func:`hadinfer.runtimes.open_runtime`),
runs the statistics pass(es) the detector declares (``stats_precision``,
``feature_pass``) and scores the tiles.  On a cluster
(:mod:`hadinfer.distributed.specs`) the choice travels to the workers inside a
``DetectorSpec`` and each worker calls :meth:`DetectorChoice.build`: no worker resolves
the value again.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import MissingDependencyError, ParameterError
from ..models.canonical_spectra import placeable_centres
from .base import DETECTOR_HOOKS, Detector

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Option:
    """A detector option as the CLI offers it.

    Attributes
    ----------
    flag : str
        ``--window``.
    kind : str
        How the CLI parses it: ``int>=0``, ``float>=0``, ``fraction``, ``window``, ``int``,
        ``path`` or ``choice``.
    help : str
    to_params : callable
        CLI value -> factory keyword parameters.
    choices : tuple of str
        For ``choice``.
    """

    flag: str
    kind: str
    help: str
    to_params: Callable[[object], dict]
    choices: tuple = ()

    @property
    def dest(self) -> str:
        """The click parameter name (``--tile-size`` -> ``tile_size``)."""
        return self.flag.lstrip("-").replace("-", "_")


#: Every detector option the CLI knows, by name.  An option set on the command line
#: that the chosen detector does not take is an error, never silently dropped.
OPTIONS: dict[str, Option] = {
    "window": Option("--window", "window", "lrx: inner,outer window widths (odd; default 5,21).",
                     lambda v: {"inner": v[0], "outer": v[1]}),
    "pca": Option("--pca", "int>=0", "lrx, fusion and its kin: keep K global principal components (default 10); 0 "
                  "keeps all bands (exact but O(B^3) per pixel).", lambda v: {"n_components": v or None}),
    "regularization": Option("--regularization", "float>=0", "lrx, fusion and its kin: ridge added to each local "
                             "covariance, in units of global variance (default 1e-3).",
                             lambda v: {"regularization": v}),
    "area": Option("--area", "int>=0", "fusion-area, fusion-peaks: area threshold in pixels (default 64): connected "
                   "regions smaller than this count as objects; set it above your targets' size in pixels.",
                   lambda v: {"area": v}),
    "shrinkage": Option("--shrinkage", "fraction", "grx: shrink the covariance toward a scaled identity (default 0 = "
                        "exact RX).", lambda v: {"shrinkage": v}),
    "precision": Option("--precision", "choice", "grx: arithmetic of the statistics and the projection (default: the "
                        "detector's).", lambda v: {"precision": v}, choices=("float32", "float64")),
    "runtime": Option("--runtime", "choice", "general, model files: what runs the network (default auto: by the "
                      "file's content; general: ONNX Runtime).", lambda v: {"runtime": v},
                      choices=("auto", "torch", "onnxruntime", "tensorrt")),
    "seed": Option("--seed", "int", "adapt: training seed (default 0).", lambda v: {"seed": v}),
    "feature_model": Option("--feature-model", "path", "learned: a feature model file from hadinfer train-features "
                            "(default: the shipped one).", lambda v: {"model": v}),
}


@dataclass(frozen=True)
class SceneRef:
    """The scene a detector that trains on it (``adapt``) reads: source, ``.mat`` key, band selection."""

    source: object
    key: str | None = None
    bands: str | None = None


def no_model_files(params: dict) -> tuple:
    """``model_files`` of a detector that reads no model file."""
    return ()


@dataclass(frozen=True)
class DetectorEntry:
    """A registered detector.

    Attributes
    ----------
    name : str
    summary : str
        One line for ``--help``.
    factory : callable
        ``factory(**params) -> Detector``; with ``needs_scene``, ``factory(scene, **params)``.
    options : tuple of str
        Keys of :data:`OPTIONS` the CLI offers for it.
    extra : str or None
        The pip extra it needs (None: the core install).
    modules : tuple of str
        Modules that extra provides (to say whether it is installed).
    needs_scene : bool
        It trains on the scene it scores.
    model_files : callable, optional
        ``model_files(params) -> tuple of paths`` it reads (no output may replace them).
    band_centres : bool
        Its factory takes ``band_centres``, the scene's band centre wavelengths, and a run
        passes them when the file has them (:func:`with_band_centres`).
    """

    name: str
    summary: str
    factory: Callable[..., Detector]
    options: tuple[str, ...] = ()
    extra: str | None = None
    modules: tuple[str, ...] = ()
    needs_scene: bool = False
    model_files: Callable[[dict], tuple] = no_model_files
    band_centres: bool = False

    def missing_modules(self) -> list[str]:
        """Modules of its extra that are not installed."""
        return [m for m in self.modules if not _installed(m)]

    def check_installed(self) -> None:
        """Raise a one-line error naming the extra when it is not installed.

        Raises
        ------
        MissingDependencyError
        """
        missing = self.missing_modules()
        if missing:
            raise MissingDependencyError(f"detector {self.name} needs {', '.join(missing)}: "
                                         f"pip install 'hadinfer[{self.extra}]'")

    def accepted_params(self) -> list[str]:
        """Keyword parameters the factory takes."""
        names = list(inspect.signature(self.factory).parameters)
        return names[1:] if self.needs_scene else names

    @property
    def feature_pass(self) -> bool:
        """Whether its detectors need a second statistics pass over their features (read from a factory class;
        a factory function's detectors are asked when built)."""
        return isinstance(self.factory, type) and bool(self.factory.feature_pass)


@dataclass(frozen=True)
class DetectorChoice:
    """A ``--detector`` value resolved once: what every later step of a run reads instead of the value.

    Made by :func:`choose`; frozen, picklable (it travels to cluster workers).

    Attributes
    ----------
    entry : DetectorEntry
    value : str
        The value as given (a registered name or a model file path), for reports.
    fixed : dict
        Parameters the value itself fixes (a model file's ``path``).
    params : dict
        The caller's factory parameters, checked against the factory's signature.
    model_files : tuple of str
        Files the detector reads (no output may replace them).
    """

    entry: DetectorEntry
    value: str
    fixed: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    model_files: tuple = ()

    @property
    def name(self) -> str:
        """The registry name (``model`` for a model file)."""
        return self.entry.name

    @property
    def needs_scene(self) -> bool:
        """It trains on the scene it scores (``adapt``)."""
        return self.entry.needs_scene

    @property
    def feature_pass(self) -> bool:
        """It needs a second statistics pass over learned features (``learned``)."""
        return self.entry.feature_pass

    def report_params(self) -> dict:
        """The caller's parameters without run-time helpers (a training progress bar)."""
        return {k: v for k, v in self.params.items() if k != "train_progress"}

    def with_params(self, **params) -> "DetectorChoice":
        """The same choice with more parameters (checked; the value is not resolved again).

        Raises
        ------
        ParameterError
            A parameter the detector does not take.
        """
        return _bind(self.entry, self.value, self.fixed, {**self.params, **params})

    def build(self, scene: SceneRef | None = None) -> Detector:
        """Build the detector.

        Parameters
        ----------
        scene : SceneRef, optional
            The scene, for detectors that train on it (``adapt``).

        Raises
        ------
        ParameterError
            ``needs_scene`` without a scene; a factory that returned something missing
            the :class:`Detector` hooks.
        MissingDependencyError
            Its extra is not installed.
        """
        chosen = self.entry
        chosen.check_installed()
        if chosen.needs_scene:
            if scene is None:
                raise ParameterError(f"detector {chosen.name} trains on the scene it scores: use hadinfer.detect or "
                                     "hadinfer detect")
            built = chosen.factory(scene, **self.fixed, **self.params)
        else:
            built = chosen.factory(**self.fixed, **self.params)
        if not isinstance(built, Detector):
            _check_hooks(chosen.name, built, type(built).__name__)
        return built


def _check_hooks(name: str, factory_or_detector, what: str) -> None:
    missing = missing_hooks(factory_or_detector)
    if missing:
        raise ParameterError(f"detector {name!r}: {what} is not a hadinfer Detector and lacks {', '.join(missing)} "
                             "(subclass hadinfer.detectors.Detector)")


def missing_hooks(obj) -> list[str]:
    """The :data:`~hadinfer.detectors.base.DETECTOR_HOOKS` that a class or object does not provide."""
    return [hook for hook in DETECTOR_HOOKS if not hasattr(obj, hook)]


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (an imported one counts, ``None`` in
    ``sys.modules`` -- a blocked import -- does not)."""
    import sys

    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


_REGISTRY: dict[str, DetectorEntry] = {}
_PLUGINS_LOADED = False


def register(entry: DetectorEntry) -> DetectorEntry:
    """Add a detector (a plugin calls this, or exposes an entry in the ``hadinfer.detectors`` group).

    Raises
    ------
    ParameterError
        The name is taken by another entry, or the factory is a class that is not a
        :class:`Detector` subclass and lacks some of its declared hooks
        (:data:`~hadinfer.detectors.base.DETECTOR_HOOKS`).
    """
    if isinstance(entry.factory, type) and not issubclass(entry.factory, Detector):
        _check_hooks(entry.name, entry.factory, f"factory {entry.factory.__name__}")
    current = _REGISTRY.get(entry.name)
    if current is not None and current != entry:
        raise ParameterError(f"detector {entry.name!r} is registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def _load_plugins() -> None:
    global _PLUGINS_LOADED  # loaded once, on first lookup: entry points cost a metadata scan
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    for point in entry_points(group="hadinfer.detectors"):
        try:
            register(point.load())
        except (ImportError, AttributeError, ParameterError) as exc:  # a broken plugin must not take the built-ins down
            log.warning("detector plugin %s (%s) could not be loaded: %s", point.name, point.value, exc)


def registered() -> dict[str, DetectorEntry]:
    """Every registered detector, by name (built-ins first, then plugins)."""
    _load_plugins()
    return dict(_REGISTRY)


def entry(name: str) -> DetectorEntry:
    """The entry of a registered name.

    Raises
    ------
    ParameterError
        Not registered (the message lists every name and says a model file path works too).
    """
    entries = registered()
    if name not in entries:
        names = ", ".join(n for n in entries if n != "model")
        raise ParameterError(f"detector: unknown {name!r} (choose from {names}, or give a model file: .pt, .onnx "
                             "or engine)")
    return entries[name]


def looks_like_model_file(value) -> bool:
    """Whether a ``--detector`` value that is no registered name means a file.

    A value naming an existing path, containing a path separator or ending in a model
    suffix is a file; a registered name always wins over a file of the same name.
    """
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    return (os.path.exists(text) or os.sep in text
            or text.lower().endswith((".pt", ".pth", ".onnx", ".engine", ".plan", ".trt")))


def resolve(value) -> tuple[DetectorEntry, dict]:
    """The entry for a ``--detector`` value, and the parameters the value itself fixes.

    Returns
    -------
    (DetectorEntry, dict)
        For a model file, the ``model`` entry and ``{"path": value}``.

    Raises
    ------
    ParameterError
        Neither a registered name nor a model file.
    """
    entries = registered()
    if isinstance(value, str) and value in entries:
        return entries[value], {}
    if isinstance(value, (str, os.PathLike)) and looks_like_model_file(value):
        return entries["model"], {"path": os.fspath(value)}
    return entry(str(value)), {}


def choose(value, params: dict | None = None) -> DetectorChoice:
    """Resolve a ``--detector`` value, once per run, into a :class:`DetectorChoice`.

    Parameters
    ----------
    value : str, PathLike or DetectorChoice
        A registered name or a model file; a choice is returned as is (with ``params``
        added).
    params : dict, optional
        Factory parameters (see each detector's class).

    Raises
    ------
    ParameterError
        Unknown name, or a parameter the detector does not take.
    """
    params = dict(params or {})
    if isinstance(value, DetectorChoice):
        return value.with_params(**params) if params else value
    chosen, fixed = resolve(value)
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    return _bind(chosen, text, fixed, params)


def _bind(chosen: DetectorEntry, value: str, fixed: dict, params: dict) -> DetectorChoice:
    accepted = chosen.accepted_params()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ParameterError(f"detector {chosen.name} does not take {', '.join(unknown)} "
                             f"(it takes {', '.join(p for p in accepted if p not in fixed) or 'no parameters'})")
    return DetectorChoice(chosen, value, dict(fixed), dict(params), tuple(chosen.model_files({**params, **fixed})))


def with_band_centres(choice: DetectorChoice, centres) -> DetectorChoice:
    """``choice`` with the scene's band centre wavelengths, for a detector that places bands by them.

    Unchanged when the detector does not read them, the caller already set them, or the
    scene has none usable (fewer than 2, non-finite, or two bands at one centre: such a
    file's bands stay evenly spaced, as every file without wavelengths).  Centres in
    decreasing or any other order are usable: bands are placed by wavelength.

    Parameters
    ----------
    choice : DetectorChoice
    centres : sequence of float or None
        The scene's selected bands' centres (``scene.info.wavelengths``, nm).

    Returns
    -------
    DetectorChoice
    """
    if not choice.entry.band_centres or "band_centres" in choice.params or centres is None:
        return choice
    if not placeable_centres(centres):
        log.debug("band centres not usable (non-finite or repeated): %s places the bands evenly", choice.entry.name)
        return choice
    return choice.with_params(band_centres=tuple(float(c) for c in centres))


def build(value, scene: SceneRef | None = None, **params) -> Detector:
    """Build the detector a ``--detector`` value names (:func:`choose`, then :meth:`DetectorChoice.build`).

    Parameters
    ----------
    value : str, PathLike or DetectorChoice
        A registered name or a model file.
    scene : SceneRef, optional
        The scene, for detectors that train on it (``adapt``).
    **params
        Factory parameters (see each detector's class).

    Raises
    ------
    ParameterError
        Unknown name, a parameter the detector does not take, or ``adapt`` without a scene.
    MissingDependencyError
        Its extra is not installed.
    """
    return choose(value, params).build(scene)


def model_files(value, params: dict) -> tuple:
    """The model files a ``--detector`` value reads with ``params`` (outputs may not replace them); () for a
    Detector instance or a value that names nothing."""
    if isinstance(value, Detector):
        return ()
    if isinstance(value, DetectorChoice):
        return value.model_files
    try:
        chosen, fixed = resolve(value)
    except ParameterError:
        return ()
    return tuple(chosen.model_files({**params, **fixed}))
