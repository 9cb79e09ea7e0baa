"""Detectors, by name."""

from __future__ import annotations

from ..errors import ParameterError
from .base import Detector
from .fusion_rx import FusionRX
from .global_rx import GlobalRX
from .local_rx import LocalRX
from .stats import BackgroundStats, whitening_basis

DETECTORS: dict[str, type[Detector]] = {"grx": GlobalRX, "lrx": LocalRX, "fusion": FusionRX}

#: What ``hadinfer detect`` and :func:`hadinfer.detect` run when no detector is named:
#: the detector that won on scenes it was not chosen on (``benchmarks/results/unseen/``).
DEFAULT_DETECTOR = "fusion"

__all__ = ["BackgroundStats", "DEFAULT_DETECTOR", "DETECTORS", "Detector", "FusionRX", "GlobalRX", "LocalRX", "make_detector", "whitening_basis"]


def make_detector(name: str, **params) -> Detector:
    """Build a registered detector.

    Parameters
    ----------
    name : str
        A key of :data:`DETECTORS`.
    **params
        Constructor parameters.

    Raises
    ------
    ParameterError
        Unknown name.
    """
    if name not in DETECTORS:
        raise ParameterError(f"detector: unknown {name!r} (choose from {', '.join(DETECTORS)})")
    return DETECTORS[name](**params)
