"""Training-free fusion of global RX and multi-window local RX."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..kernels.compiled import compiled_pays
from ..kernels.ring_sums import ring_rx
from ..kernels.statistics import BackgroundStats
from ..kernels.triangular_energy import energy_factor_for
from ..kernels.whitened_energy import energy_and_components_on
from ..kernels.whitening import fixed_signs
from .base import Detector
from .global_rx import GlobalRX
from .local_rx import LocalRX

#: The default windows and components, chosen by nested leave-one-scene-out on the labelled
#: dev scenes among 1-4 windows from {3-9, 3-11, 5-15, 5-21, 7-21, 7-29, 9-31, 11-41} and
#: k in {5, 10} (``benchmarks/fusion_selection.py``): inside 7 of the 10 folds this set won.
#: The left-out (selection-free) mean is in ``benchmarks/results/unseen/``.
DEFAULT_WINDOWS = ((5, 15), (11, 41))
DEFAULT_COMPONENTS = 10

#: Scores below this fraction of a component's degrees of freedom are clipped before the
#: logarithm, so a pixel sitting exactly on the background mean stays finite.
_FLOOR = 1e-12


class FusionRX(Detector):
    """Geometric mean of global RX and dual-window local RX at several window sizes.

    Definition::

        score(p) = exp( mean_i log( s_i(p) / d_i ) )

    with ``s_0`` the global RX score (:class:`GlobalRX`, ``d_0`` its rank), and ``s_i``
    for ``i >= 1`` local RX (:class:`LocalRX`) with window pair ``windows[i-1]`` on
    ``n_components`` global principal components (``d_i = n_components``).  Each ratio is
    a mean squared whitened deviation per component, so the fused score reads the same way
    as its parts (about 1 on background).

    Why a geometric mean: GRX and LRX fail on different scenes, and neither score's
    scale says how much to trust it.  Averaging logarithms is invariant to each
    detector's scale (any per-detector normalising constant only shifts the sum), so
    no calibration pass over the scene is needed, the score of a pixel depends only on
    its halo, and the map streams tile by tile like its parts.  On the dev scenes it
    ranked as well as averaging ranks or robust z-scores, which need the whole scene.

    Where a local ring holds too few valid pixels (nodata around it) that term is left
    out of the mean; invalid pixels are NaN.

    Parameters
    ----------
    windows : sequence of (int, int)
        ``(inner, outer)`` odd window widths of each local RX term.
    n_components : int
        Global principal components the local terms use.
    regularization : float
        Ridge of each local covariance (see :class:`LocalRX`).

    Attributes
    ----------
    parts_ : list of Detector
        The fitted global and local detectors.
    """

    name = "fusion"
    tile_parallel = True

    def __init__(self, windows=DEFAULT_WINDOWS, n_components: int = DEFAULT_COMPONENTS,
                 regularization: float = 1e-3):
        windows = tuple(tuple(int(v) for v in pair) for pair in windows)
        if not windows or any(len(pair) != 2 for pair in windows):
            raise ParameterError(f"windows: expected one or more (inner, outer) pairs, got {windows!r}")
        self.windows = windows
        self.n_components = n_components
        self.regularization = regularization
        # Built here so bad windows fail before the statistics pass.
        self._locals = [LocalRX(inner, outer, n_components, regularization) for inner, outer in windows]

    @property
    def halo(self) -> int:
        """The widest local window's radius."""
        return max(part.halo for part in self._locals)

    def fit(self, stats: BackgroundStats) -> "FusionRX":
        """Fit the global and every local part on the scene's statistics."""
        global_rx = GlobalRX().fit(stats)
        # Global RX whitens with every principal direction and the local parts with the
        # leading ones, sign-fixed (what LocalRX.fit gets from pca_whitening, to the bit): one
        # eigen-decomposition for all parts, and one product with the sign-fixed directions
        # gives both kinds of evidence (``energy_and_components``).
        directions = fixed_signs(global_rx.projection_)
        for part in self._locals:
            part.mean_, part.projection_ = global_rx.mean_, directions[:, :part.n_components]
        self.parts_ = [global_rx] + self._locals
        self.dof_ = [max(global_rx.projection_.shape[1], 1)] + [max(part.projection_.shape[1], 1) for part in self._locals]
        scale = global_rx.scale_
        self.directions_ = (directions if scale is None else directions / scale[:, None]).astype(np.float32)
        self.energy_factor_ = energy_factor_for(self.directions_, stats.count_)  # None: the dense product
        # The ring kernel scores every pixel of every tile, valid or not.
        self.compiled_ = compiled_pays(stats.pixels_ * len(self.windows), same_bits=True)
        return self

    def score(self, cube, valid, core=None, arrays=None):
        return self.fused_and_components(cube, valid, core, arrays)[0]

    def fused_and_components(self, cube, valid, core=None, arrays=None) -> tuple[np.ndarray, object]:
        """The fused map of the core (:meth:`score`) and the read window's leading whitened components.

        Returns
        -------
        scores : ndarray of float32, shape of the core
        components : array of float64, shape (h, w, n_components), in the array library, 0 where invalid
        """
        xp = self._arrays(arrays)
        first = self.parts_[1]
        global_rx = self.parts_[0]
        # Global RX on the core (float32) and the window's leading components, from one product.
        energy, z = energy_and_components_on(xp, cube, global_rx.mean_, self.directions_, first.projection_.shape[1],
                                             core, global_rx.scale_,
                                             getattr(self, "energy_factor_", None))
        energy[~(valid if core is None else valid[core])] = np.nan
        mask = xp.asarray(valid.astype(np.float64))
        z *= mask[:, :, None]  # in place: the components are this call's own
        # The local parts share their components and one set of integral images.
        maps = [energy] + ring_rx(xp, z, mask, valid, self.windows, self.regularization, core, first.memory_budget,
                                  getattr(self, "compiled_", None))
        logs, counts = None, None
        for scores, dof in zip(maps, self.dof_):
            term = np.log(np.maximum(scores.astype(np.float64) / dof, _FLOOR))
            usable = np.isfinite(term)
            term[~usable] = 0.0
            logs = term if logs is None else logs + term
            counts = usable.astype(np.int32) if counts is None else counts + usable
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.exp(logs / counts).astype(np.float32)
        core_valid = valid if core is None else valid[core]
        out[~core_valid | (counts == 0)] = np.nan
        return out, z

    def params(self) -> dict:
        return {"windows": [list(pair) for pair in self.windows], "n_components": self.n_components,
                "regularization": self.regularization}
