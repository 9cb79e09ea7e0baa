"""Pseudo-labels from a classical detector's ranking."""

from __future__ import annotations

import numpy as np

from hadinfer.errors import ParameterError

POSITIVE, NEGATIVE, IGNORE = 1, 0, -1


def rank_scores(scores: np.ndarray) -> np.ndarray:
    """Scores to ranks in [0, 1] (ties share their average rank; NaN stays NaN).

    Parameters
    ----------
    scores : ndarray, shape (H, W)

    Returns
    -------
    ndarray of float64, shape (H, W)
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    values = scores[finite]
    ranks = np.full(scores.shape, np.nan)
    if values.size == 0:
        return ranks
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0
    per_sorted = np.repeat(average, counts)
    position = np.empty(values.size)
    position[order] = per_sorted
    ranks[finite] = position / max(values.size - 1, 1)
    return ranks


def pseudo_labels(ranks: np.ndarray, *, positive: float = 0.995, negative: float = 0.90) -> np.ndarray:
    """Turn ranks into labels: top -> anomaly, bulk -> background, band between -> ignored.

    Parameters
    ----------
    ranks : ndarray, shape (H, W)
        From :func:`rank_scores`; NaN (unscorable) pixels are ignored.
    positive : float
        Ranks at or above are labelled anomaly (default: the top 0.5 %).
    negative : float
        Ranks at or below are labelled background (default: the bottom 90 %).

    Returns
    -------
    ndarray of int8
        :data:`POSITIVE` (1), :data:`NEGATIVE` (0) or :data:`IGNORE` (-1).

    Raises
    ------
    ParameterError
        Unless ``0 <= negative < positive <= 1``.
    """
    if not 0.0 <= negative < positive <= 1.0:
        raise ParameterError(f"positive/negative: need 0 <= negative < positive <= 1, got {negative}, {positive}")
    labels = np.full(ranks.shape, IGNORE, dtype=np.int8)
    finite = np.isfinite(ranks)
    labels[finite & (ranks >= positive)] = POSITIVE
    labels[finite & (ranks <= negative)] = NEGATIVE
    return labels
