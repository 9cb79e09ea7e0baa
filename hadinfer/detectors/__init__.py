"""Detectors, by name: every ``--detector`` value resolves through :mod:`.registry`."""

from __future__ import annotations

from ..kernels.statistics import BackgroundStats
from ..kernels.whitening import whitening_basis
from . import builtin  # noqa: F401  (registers the shipped detectors)
from .base import Detector
from .fusion_rx import FusionRX
from .global_rx import GlobalRX
from .local_rx import LocalRX
from .network import NetworkDetector
from .registry import SceneRef, build, registered

#: What ``hadinfer detect`` and :func:`hadinfer.detect` run when no detector is named:
#: the detector that won on scenes it was not chosen on (``benchmarks/results/unseen/``).
DEFAULT_DETECTOR = "fusion"

__all__ = ["BackgroundStats", "DEFAULT_DETECTOR", "Detector", "FusionRX", "GlobalRX", "LocalRX", "NetworkDetector",
           "SceneRef", "make_detector", "registered", "whitening_basis"]


def make_detector(name, scene: SceneRef | None = None, **params) -> Detector:
    """Build any detector a ``--detector`` value names: a registered name or a model file.

    Parameters
    ----------
    name : str or PathLike
        ``fusion``, ``grx``, ``lrx``, ``general``, ``adapt`` (with ``scene``), any
        plugin's name, or a model file path.
    scene : SceneRef, optional
        For detectors that train on the scene (``adapt``).
    **params
        The detector's parameters (e.g. ``inner=5, outer=21`` for ``lrx``,
        ``runtime="torch"`` for ``general``).

    Raises
    ------
    ParameterError
        Unknown name, or a parameter the detector does not take.
    MissingDependencyError
        The detector's extra is not installed.

    Examples
    --------
    >>> make_detector("lrx", inner=3, outer=9).name
    'lrx'
    """
    return build(name, scene, **params)
