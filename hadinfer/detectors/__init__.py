"""Detectors, by name."""

from __future__ import annotations

from ..errors import ParameterError
from .base import Detector
from .global_rx import GlobalRX
from .local_rx import LocalRX
from .stats import BackgroundStats, whitening_basis

DETECTORS: dict[str, type[Detector]] = {"grx": GlobalRX, "lrx": LocalRX}

__all__ = ["BackgroundStats", "DETECTORS", "Detector", "GlobalRX", "LocalRX", "make_detector", "whitening_basis"]


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
