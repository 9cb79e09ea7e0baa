"""What every detector offers."""

from __future__ import annotations

import numpy as np

from ..arrays import ArrayLibrary, NumpyArrays
from .stats import BackgroundStats


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
        Whether scoring several tiles at once helps on a CPU: True for elementwise-heavy
        kernels (NumPy runs them on one core), False for BLAS-bound ones, which already
        use every core.
    """

    name = "?"
    halo = 0
    tile_parallel = False

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

    def fit_score(self, cube: np.ndarray, valid: np.ndarray | None = None,
                  arrays: ArrayLibrary | None = None) -> np.ndarray:
        """Fit on an in-memory cube and score all of it (convenience for small arrays)."""
        cube = np.asarray(cube, dtype=np.float64)
        if valid is None:
            valid = np.isfinite(cube).all(axis=2)
            cube = np.where(valid[:, :, None], cube, 0.0)
        self.fit(BackgroundStats(cube.shape[2]).update(cube[valid]))
        return self.score(cube, valid, arrays=arrays)

    def params(self) -> dict:
        """Constructor parameters, for reports and provenance."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    @staticmethod
    def _arrays(arrays):
        return arrays if arrays is not None else NumpyArrays()
