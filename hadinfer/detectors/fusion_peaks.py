"""Training-free ``fusion`` sharpened by its own small peaks: the map over the root of its area opening."""

from __future__ import annotations

import numpy as np

from ..kernels.area_profile import checked_area
from ..kernels.map_peaks import peak_score
from .fusion_rx import DEFAULT_COMPONENTS, DEFAULT_WINDOWS, FusionRX

#: Area threshold (pixels), chosen on the five tuning files among 16, 64 and 256 (design S,
#: ``benchmarks/results/learned-features/prominence-plan.md``).
DEFAULT_PEAK_AREA = 64


class FusionPeaks(FusionRX):
    """:class:`FusionRX`'s map divided by the square root of its own area opening.

    Definition::

        score(p) = f(p) / sqrt(opening_a(f)(p)) = f(p)^(1/2) * (f(p) / opening_a(f)(p))^(1/2)

    with ``f`` the ``fusion`` map and ``opening_a`` its area opening of threshold ``a``
    (:mod:`hadinfer.kernels.map_peaks`): the geometric mean of the map and how far each pixel
    stands above the level at which its bright region joins one of ``a`` pixels or more.
    Small regions the map lifts above their surroundings rise; parts of large lifted
    structures (edges, fields of one odd material) keep ``sqrt(f)``.  Unlike ``fusion-area``,
    which looks for small objects in the scene's leading components, it looks at the anomaly
    map itself, so a faint target the components do not show is not outranked.

    Needs scikit-image (extra ``area``); where ``fusion``'s ring kernel runs compiled (Numba),
    so does the opening, to the same bits.  Exact tile by tile: the map is computed ``a - 1``
    pixels beyond each core, so the halo is ``fusion``'s plus ``a - 1``.

    Parameters
    ----------
    windows, n_components, regularization
        As :class:`FusionRX`.
    area : int
        Area threshold ``a`` in pixels (default 64).
    """

    name = "fusion-peaks"

    def __init__(self, windows=DEFAULT_WINDOWS, n_components: int = DEFAULT_COMPONENTS,
                 regularization: float = 1e-3, area: int = DEFAULT_PEAK_AREA):
        super().__init__(windows, n_components, regularization)
        self.area = checked_area(area)

    @property
    def halo(self) -> int:
        """``fusion``'s halo plus ``area - 1``: the opening needs the map that far beyond the core."""
        return super().halo + self.area - 1

    def score(self, cube, valid, core=None, arrays=None):
        height, width = valid.shape
        rows, cols = core if core is not None else (slice(0, height), slice(0, width))
        reach = self.area - 1
        # The map on the core grown by ``reach`` (inside the read window, which holds fusion's halo around it).
        top, left = max(rows.start - reach, 0), max(cols.start - reach, 0)
        grown = (slice(top, min(rows.stop + reach, height)), slice(left, min(cols.stop + reach, width)))
        fused = super().score(cube, valid, grown, arrays)
        peaks = peak_score(fused, self.area, bool(getattr(self, "compiled_", False)))
        inner = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
        return peaks[inner].astype(np.float32)

    def params(self) -> dict:
        return {**super().params(), "area": self.area}
