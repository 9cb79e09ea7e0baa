"""One registry for every ``--detector`` value: the CLI and the API resolve detectors here, by the same code.

Each entry gives a factory, the options it takes and the extra it needs.  The CLI builds
its detector options and help from :data:`OPTIONS` and the entries; the API passes
keyword parameters straight to the factory, checked against its signature.  Packages
register more detectors through the ``hadinfer.detectors`` entry-point group (the
training package registers ``adapt`` that way, so the runtime never imports it).  Any
other value is a model file.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import MissingDependencyError, ParameterError
from .base import Detector

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
    "pca": Option("--pca", "int>=0", "lrx, fusion: keep K global principal components (default 10); 0 keeps all "
                  "bands (exact but O(B^3) per pixel).", lambda v: {"n_components": v or None}),
    "regularization": Option("--regularization", "float>=0", "lrx, fusion: ridge added to each local covariance, in "
                             "units of global variance (default 1e-3).", lambda v: {"regularization": v}),
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
    """

    name: str
    summary: str
    factory: Callable[..., Detector]
    options: tuple[str, ...] = ()
    extra: str | None = None
    modules: tuple[str, ...] = ()
    needs_scene: bool = False
    model_files: Callable[[dict], tuple] = field(default=lambda params: ())

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
        The name is taken by another entry.
    """
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
        except (ImportError, AttributeError) as exc:  # a broken plugin must not take the built-ins down
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


def build(value, scene: SceneRef | None = None, **params) -> Detector:
    """Build the detector a ``--detector`` value names.

    Parameters
    ----------
    value : str or PathLike
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
    chosen, fixed = resolve(value)
    accepted = chosen.accepted_params()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ParameterError(f"detector {chosen.name} does not take {', '.join(unknown)} "
                             f"(it takes {', '.join(p for p in accepted if p not in fixed) or 'no parameters'})")
    chosen.check_installed()
    if chosen.needs_scene:
        if scene is None:
            raise ParameterError(f"detector {chosen.name} trains on the scene it scores: use hadinfer.detect or "
                                 "hadinfer detect")
        return chosen.factory(scene, **fixed, **params)
    return chosen.factory(**fixed, **params)


def model_files(value, params: dict) -> tuple:
    """The model files a ``--detector`` value reads with ``params`` (outputs may not replace them)."""
    if isinstance(value, Detector):
        return ()
    try:
        chosen, fixed = resolve(value)
    except ParameterError:
        return ()
    return tuple(chosen.model_files({**params, **fixed}))
