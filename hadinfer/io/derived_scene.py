"""A scene whose pixels are computed from another's, window by window (e.g. learned features)."""

from __future__ import annotations

import dataclasses
import threading
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
        self._lock = threading.Lock()
        self.info = dataclasses.replace(scene.info, band_count=bands, bands=tuple(range(1, bands + 1)),
                                        dtype="float64", wavelengths=None, bad_bands=())

    def read_window(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        return self.derive(window, *self.read_source(window))

    def read_tiles(self, tiles):
        windows = self.source.read_tiles(tiles)
        for tile in tiles:
            yield self.derive(tile.read, *next(windows))

    def read_source(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """The source scene's window (the I/O half of :meth:`read_window`)."""
        return self.source.read_window(window)

    def derive(self, window: Window, cube: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of a window read by :meth:`read_source` (the compute half of :meth:`read_window`).

        Windows may be derived in several threads at once: each writes its own part of
        :attr:`kept`.
        """
        values = self.transform(cube, valid)
        if self.keep:
            with self._lock:
                if self.kept is None:  # the transform's own dtype: kept values are the same bits
                    self.kept = np.zeros((self.info.height, self.info.width, values.shape[2]), dtype=values.dtype)
            self.kept[window.toslices()] = values
        return values, valid

    def close(self) -> None:
        """Nothing to release: the source scene belongs to the caller."""
