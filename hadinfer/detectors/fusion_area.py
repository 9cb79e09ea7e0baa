"""Training-free ``fusion`` with small-object evidence: area openings and closings of its components."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..kernels.area_profile import area_profile, checked_area
from .fusion_rx import DEFAULT_COMPONENTS, DEFAULT_WINDOWS, FusionRX

#: Area threshold (pixels) and components, chosen on the five tuning files among 16, 64 and
#: 256 (design Q, ``benchmarks/results/learned-features/attribute-profile-plan.md``).
DEFAULT_AREA = 64
AREA_COMPONENTS = 3
#: Added to the area evidence before the geometric mean, in the whitened components' units
#: (background standard deviations): the median over the eight unlabelled scenes of their mean
#: area evidence (0.609), fixed without a mask.  Pixels without any (most) keep ``fusion``'s order.
AREA_OFFSET = 0.6
#: The area evidence's weight in the geometric mean (design Q: equal to ``fusion``'s).
AREA_WEIGHT = 0.5


class FusionArea(FusionRX):
    """Geometric mean of :class:`FusionRX` and the area profile of its leading components.

    Definition::

        score(p) = fusion(p)^(1 - w) * (A(p) + c)^w,   w = 1/2 by default,
        A(p) = sum_k (z_k - opening_a(z_k))(p) + (closing_a(z_k) - z_k)(p)

    over the ``k < 3`` leading whitened principal components ``z_k`` (the images ``fusion``'s
    local terms already compute), with area openings and closings of threshold ``a``
    (:mod:`hadinfer.kernels.area_profile`) and a constant ``c``.  ``fusion`` sees how a
    spectrum differs from its background; ``A`` sees connected objects smaller than ``a``
    pixels that stand out of their surroundings in the leading components, whatever their
    shape, which is what most targets in these scenes are (aircraft, vehicles, boats).

    Needs scikit-image (extra ``area``).  Exact tile by tile: the halo is the wider of
    ``fusion``'s and ``a - 1`` (the kernel's docstring says why that suffices).

    Parameters
    ----------
    windows, n_components, regularization
        As :class:`FusionRX`.
    area : int
        Area threshold ``a`` in pixels (default 64).
    offset : float
        The constant ``c`` (default 0.6).
    weight : float
        The area evidence's weight ``w`` in the geometric mean, in (0, 1) (default 1/2).
    """

    name = "fusion-area"

    def __init__(self, windows=DEFAULT_WINDOWS, n_components: int = DEFAULT_COMPONENTS,
                 regularization: float = 1e-3, area: int = DEFAULT_AREA, offset: float = AREA_OFFSET,
                 weight: float = AREA_WEIGHT):
        super().__init__(windows, n_components, regularization)
        self.area = checked_area(area)
        if not np.isfinite(offset) or offset <= 0:
            raise ParameterError(f"offset: expected a positive number, got {offset!r}")
        if not 0 < weight < 1:
            raise ParameterError(f"weight: expected a number between 0 and 1, got {weight!r}")
        self.offset = float(offset)
        self.weight = float(weight)

    @property
    def halo(self) -> int:
        """The wider of the widest local window's radius and ``area - 1``."""
        return max(super().halo, self.area - 1)

    def score(self, cube, valid, core=None, arrays=None):
        xp = self._arrays(arrays)
        fused, components = self.fused_and_components(cube, valid, core, arrays)
        leading = xp.to_numpy(components[:, :, :AREA_COMPONENTS])  # the area filters run on the host
        # The compiled max-tree where fusion's ring kernel runs compiled too (Numba loaded for it): the same bits.
        evidence = area_profile(leading, self.area, bool(getattr(self, "compiled_", False)))
        if core is not None:
            evidence = evidence[core]
        fused = fused.astype(np.float64)
        with np.errstate(invalid="ignore"):
            if self.weight == 0.5:  # the square root of the product: design Q's maps, to the bit
                return np.sqrt(fused * (evidence + self.offset)).astype(np.float32)
            return (fused ** (1.0 - self.weight) * (evidence + self.offset) ** self.weight).astype(np.float32)

    def params(self) -> dict:
        return {**super().params(), "area": self.area, "offset": self.offset, "weight": self.weight}
