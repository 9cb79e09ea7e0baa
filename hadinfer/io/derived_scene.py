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
    keep : bool
        Also keep every window's values in :attr:`kept`, a whole (H, W, bands) image, so
        a later pass can read them instead of computing them again.

    Attributes
    ----------
    kept : ndarray or None
        With ``keep``, the values of every window read so far (of ``transform``'s dtype).
    """

    def __init__(self, scene: Scene, transform: Callable[[np.ndarray, np.ndarray], np.ndarray], bands: int,
                 keep: bool = False):
        self.source = scene
        self.transform = transform
        self.keep = keep
        self.kept = None
        self.info = dataclasses.replace(scene.info, band_count=bands, bands=tuple(range(1, bands + 1)),
                                        dtype="float64", wavelengths=None, bad_bands=())

    def read_window(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        cube, valid = self.source.read_window(window)
        values = self.transform(cube, valid)
        if self.keep:
            if self.kept is None:  # the transform's own dtype: kept values are the same bits
                self.kept = np.zeros((self.info.height, self.info.width, values.shape[2]), dtype=values.dtype)
            self.kept[window.toslices()] = values
        return values, valid

    def close(self) -> None:
        """Nothing to release: the source scene belongs to the caller."""
