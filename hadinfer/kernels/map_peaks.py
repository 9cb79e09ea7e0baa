"""Small peaks of an anomaly map: the map over the square root of its area opening (extra ``area``).

With ``f`` a positive anomaly map and ``γ_a f`` its area opening (threshold ``a`` pixels,
4-connected, :func:`.area_profile.area_opening`), ``f / γ_a f >= 1`` is how far a pixel
stands above the level at which its bright region of the map joins one of ``a`` pixels or
more: a target is a small region the map lifts above its surroundings, whatever made it
anomalous; many false alarms belong to large structures the map lifts as a whole.  The
score is the geometric mean of the map and that prominence, ``f / sqrt(γ_a f)`` (design S,
``benchmarks/results/learned-features/prominence-plan.md``).

Pixels without a score enter the opening at ``-inf``: they join no region, so a region of
scored pixels is measured by its own pixels only.  A pixel whose region never reaches ``a``
pixels (an island of fewer than ``a`` scored pixels, or an image smaller than ``a``) has no
prominence to measure and keeps prominence 1 (score ``sqrt(f)``).  A window reaching ``a - 1``
pixels beyond a core decides the core's opening as the whole image does
(:mod:`.area_profile`'s docstring).
"""

from __future__ import annotations

import numpy as np

from .area_profile import area_opening


def peak_score(scores: np.ndarray, area: int, compiled: bool = False) -> np.ndarray:
    """``f / sqrt(γ_a f)`` of a positive map ``f``, NaN where ``f`` is not finite.

    Parameters
    ----------
    scores : ndarray of float, shape (h, w)
        The map, positive where finite.
    area : int
        Area threshold ``a`` of the opening, in pixels.
    compiled : bool
        Run the compiled max-tree (the same bits; :func:`.area_profile.area_opening`).

    Returns
    -------
    ndarray of float64, shape (h, w)

    Examples
    --------
    >>> f = np.ones((6, 6)); f[2, 2] = 4.0
    >>> float(peak_score(f, 4)[2, 2]), float(peak_score(f, 4)[0, 0])
    (4.0, 1.0)
    """
    f = np.asarray(scores, dtype=np.float64)
    scored = np.isfinite(f)
    if f.size < area:  # no region can reach the area
        return np.where(scored, np.sqrt(f), np.nan)
    opening = area_opening(np.where(scored, f, -np.inf), area, compiled)
    opening = np.where(np.isfinite(opening), opening, f)  # regions that never reach the area: prominence 1
    with np.errstate(invalid="ignore"):
        return np.where(scored, f / np.sqrt(opening), np.nan)
