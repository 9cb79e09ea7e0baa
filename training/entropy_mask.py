"""Entropy masking of pseudo-labels: ignore the patches the teacher is least sure of.

Self-training learns from its own predictions, so the pixels where those
predictions are most uncertain (probability near 0.5, binary entropy near ln 2)
are the likeliest to teach the wrong thing.  :func:`entropy_mask` ranks
``patch x patch`` blocks by their mean binary entropy across the whole batch and
masks a fixed fraction of the most uncertain ones.  Ranking, rather than a fixed
entropy threshold, masks the same number of patches in every batch: a threshold
masks nothing once the teacher grows confident everywhere, and everything while
it is still unsure.  The mask feeds the ``weight`` argument of
:func:`hadinfer.training.losses.weighted_bce`.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

from hadinfer.errors import ParameterError
from hadinfer.pairs import as_pair

__all__ = ["binary_entropy", "patch_entropy", "entropy_mask"]


def binary_entropy(p) -> Tensor:
    """Entropy of a Bernoulli variable, element-wise, in nats.

    ``H(p) = -p ln p - (1 - p) ln(1 - p)``, from 0 at ``p`` in {0, 1} to ln 2 at 0.5.

    Parameters
    ----------
    p : Tensor or array_like, any shape
        Probabilities; values outside [0, 1] are clamped into it.  Non-floating
        input is converted to float32.

    Returns
    -------
    Tensor
        Same shape, device and (floating) dtype as ``p``.  Exactly 0 at 0 and 1,
        with a zero (not infinite) gradient there; NaN only where ``p`` is NaN.

    Examples
    --------
    >>> binary_entropy(torch.tensor([0.0, 0.5, 1.0]))
    tensor([0.0000, 0.6931, 0.0000])
    """
    p = torch.as_tensor(p)
    if not p.is_floating_point():
        p = p.to(torch.float32)
    p = p.clamp(0.0, 1.0)
    interior = (p > 0) & (p < 1)
    # Evaluate the logs at 0.5 on the boundary so that neither the value nor the
    # gradient of the discarded branch is infinite (where() would turn inf * 0 into NaN).
    safe = torch.where(interior, p, torch.full_like(p, 0.5))
    entropy = -(safe * torch.log(safe) + (1.0 - safe) * torch.log1p(-safe))
    entropy = torch.where(interior, entropy, torch.zeros_like(entropy))
    return torch.where(torch.isnan(p), p, entropy)


def _as_nhw(probabilities) -> Tensor:
    """Probabilities as a floating (N, H, W) tensor."""
    if not isinstance(probabilities, Tensor):
        raise ParameterError(f"probabilities: expected a torch.Tensor, got {type(probabilities).__name__}")
    if probabilities.ndim == 4:
        if probabilities.shape[1] != 1:
            raise ParameterError(f"probabilities: expected shape (N, 1, H, W) or (N, H, W), got "
                                 f"{tuple(probabilities.shape)}")
        probabilities = probabilities[:, 0]
    elif probabilities.ndim != 3:
        raise ParameterError(f"probabilities: expected shape (N, 1, H, W) or (N, H, W), got "
                             f"{tuple(probabilities.shape)}")
    if not probabilities.is_floating_point():
        probabilities = probabilities.to(torch.float32)
    return probabilities


def patch_entropy(probabilities: Tensor, patch) -> Tensor:
    """Mean binary entropy of each non-overlapping ``patch x patch`` block.

    Parameters
    ----------
    probabilities : Tensor, shape (N, 1, H, W) or (N, H, W)
        Anomaly probabilities in [0, 1] (e.g. a teacher's ``sigmoid(logits)``).
    patch : int or (int, int)
        Block height and width in pixels; must divide H and W.

    Returns
    -------
    Tensor, shape (N, H // ph, W // pw)
        Mean entropy per block in nats, in [0, ln 2]; floating dtype of
        ``probabilities`` (float32 for integer input), same device.

    Raises
    ------
    ParameterError
        If ``probabilities`` has another shape, ``patch`` is not a positive int or
        pair, or does not divide H and W.
    """
    probabilities = _as_nhw(probabilities)
    ph, pw = as_pair(patch, "patch", labels=("h", "w"))
    height, width = probabilities.shape[-2:]
    if height % ph or width % pw:
        raise ParameterError(f"patch: {(ph, pw)} does not divide the image size {(height, width)}")
    entropy = binary_entropy(probabilities)
    return F.avg_pool2d(entropy[:, None], kernel_size=(ph, pw), stride=(ph, pw))[:, 0]


def entropy_mask(probabilities: Tensor, patch, ratio: float) -> Tensor:
    """Mask the most uncertain patches of a batch of probability maps.

    The ``k = round(ratio * total)`` patches with the highest mean binary entropy
    over the whole batch (``total = N * (H // ph) * (W // pw)``) are set to 0 and
    every other pixel to 1.  Ties are broken by position: among equal entropies,
    the patch earlier in (n, row, column) order is masked first, so the result is
    deterministic.

    Parameters
    ----------
    probabilities : Tensor, shape (N, 1, H, W) or (N, H, W)
        Anomaly probabilities in [0, 1].  Not differentiated through.
    patch : int or (int, int)
        Patch height and width in pixels; must divide H and W.
    ratio : float
        Fraction of the batch's patches to mask, in [0, 1).  ``k`` uses Python's
        ``round`` (half to even), so a ratio close to 1 may mask every patch.

    Returns
    -------
    Tensor, shape (N, H, W)
        1.0 = keep, 0.0 = masked; floating dtype of ``probabilities`` (float32 for
        integer input), same device, no gradient.

    Raises
    ------
    ParameterError
        If ``ratio`` is not a real number in [0, 1), or as :func:`patch_entropy`.

    Examples
    --------
    >>> p = torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]]])
    >>> entropy_mask(p, 2, 0.5)
    tensor([[[0., 0., 1., 1.],
             [0., 0., 1., 1.]]])
    """
    if (isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or math.isnan(ratio)
            or not 0.0 <= ratio < 1.0):
        raise ParameterError(f"ratio: expected a real number in [0, 1), got {ratio!r}")
    ph, pw = as_pair(patch, "patch", labels=("h", "w"))
    with torch.no_grad():
        entropy = patch_entropy(probabilities.detach() if isinstance(probabilities, Tensor)
                                else probabilities, (ph, pw))
        n, rows, cols = entropy.shape
        total = n * rows * cols
        k = round(float(ratio) * total)
        keep = torch.ones(total, dtype=entropy.dtype, device=entropy.device)
        if k > 0:
            order = torch.sort(entropy.reshape(-1), descending=True, stable=True).indices
            keep[order[:k]] = 0.0
        keep = keep.reshape(n, rows, cols)
        return keep.repeat_interleave(ph, dim=1).repeat_interleave(pw, dim=2)
