"""A scene whose pixels are computed from another's, window by window (e.g. learned features)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from rasterio.windows import Window

from .scene import Scene


class DerivedScene(Scene):
    """``transform(cube, valid)`` of every window another scene reads, with the same validity.

    Lets the statistics pass (:func:`hadinfer.pipeline.accumulate_stats`) run unchanged over
    per-pixel values a detector computes from the spectra, window by window, never holding
    the whole derived image.

    Parameters
    ----------
    scene : Scene
    transform : callable
        ``transform(cube, valid) -> (h, w, bands)`` float array, 0 where invalid; it must be
        per pixel (a window's values may not depend on where the window lies).
    bands : int
        What ``transform`` returns per pixel.
    """

    def __init__(self, scene: Scene, transform: Callable[[np.ndarray, np.ndarray], np.ndarray], bands: int):
        self.source = scene
        self.transform = transform
        self.info = dataclasses.replace(scene.info, band_count=bands, bands=tuple(range(1, bands + 1)),
                                        dtype="float64", wavelengths=None, bad_bands=())

    def read_window(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        cube, valid = self.source.read_window(window)
        return self.transform(cube, valid), valid

    def close(self) -> None:
        """Nothing to release: the source scene belongs to the caller."""
