"""Losses for self-training a pixel-wise anomaly detector from pseudo-labels.

Three losses, all on raw logits (higher = more anomalous):

* :func:`weighted_bce` — class-weighted binary cross-entropy with an ignore mask,
  for (possibly soft) pseudo-labels where anomalies are rare and many pixels are
  unlabeled or too uncertain to trust.
* :class:`AUCMLoss` — the AUC-margin min-max surrogate of Yuan et al. (2021), which
  optimises the ranking of anomalies above background directly and is insensitive
  to the extreme class imbalance of anomaly maps.
* :class:`SigmoidHingeLoss` — the pairwise squared-hinge surrogate of the AUC over
  sampled anomaly/background pairs.

Label convention shared by the two AUC losses: ``labels == 1`` is a positive
(anomaly), ``labels == 0`` a negative (background), any other value (e.g. ``-1``
or ``0.5``) is ignored; an optional boolean ``valid`` mask drops more pixels.

Tensor *values* (targets in [0, 1], non-negative weights) are not checked: that
would force a device-to-host synchronisation on every training step.

References
----------
Z. Yuan, Y. Yan, M. Sonka and T. Yang, "Large-scale Robust Deep AUC Maximization:
A New Surrogate Loss and Empirical Studies on Medical Image Classification",
ICCV 2021.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hadinfer.errors import ParameterError

__all__ = ["weighted_bce", "AUCMLoss", "SigmoidHingeLoss"]


def _check_real(name: str, value, *, minimum: float | None = 0.0) -> float:
    """Return ``value`` as a finite float ``>= minimum`` or raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{name}: expected a finite real number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name}: must be >= {minimum}, got {value!r}")
    return float(value)


def _check_logits(logits) -> Tensor:
    if not isinstance(logits, Tensor) or not logits.is_floating_point():
        kind = logits.dtype if isinstance(logits, Tensor) else type(logits).__name__
        raise ParameterError(f"logits: expected a floating-point torch.Tensor, got {kind}")
    return logits


def _check_same_shape(name: str, tensor, logits: Tensor) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise ParameterError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.shape != logits.shape:
        raise ParameterError(f"{name}: shape {tuple(tensor.shape)} does not match logits shape "
                             f"{tuple(logits.shape)}")
    return tensor


def _loss_dtype(logits: Tensor) -> torch.dtype:
    """float32 at least: half-precision sums over a whole scene lose too much."""
    return torch.promote_types(logits.dtype, torch.float32)


def _split_labels(logits: Tensor, labels, valid) -> tuple[Tensor, Tensor]:
    """Boolean positive and negative masks from ``labels`` (1 / 0 / other) and ``valid``."""
    labels = _check_same_shape("labels", labels, logits)
    positive = labels == 1
    negative = labels == 0
    if valid is not None:
        valid = _check_same_shape("valid", valid, logits)
        if valid.dtype != torch.bool:
            raise ParameterError(f"valid: expected a boolean tensor, got dtype {valid.dtype}")
        positive = positive & valid
        negative = negative & valid
    return positive, negative


def weighted_bce(logits: Tensor, targets: Tensor, weight: Tensor | None = None, *,
                 pos_weight: float = 1.0, neg_weight: float = 0.1) -> Tensor:
    """Class-weighted binary cross-entropy on logits, averaged over the weight.

    Each element gets the loss ``l = BCEWithLogits(logit, target)`` and the weight
    ``w = (pos_weight * target + neg_weight * (1 - target)) * weight``; the result
    is ``sum(w * l) / sum(w)``, or 0 when ``sum(w) == 0``.

    Parameters
    ----------
    logits : Tensor, floating point, any shape
        Raw scores; ``sigmoid(logits)`` is the anomaly probability.
    targets : Tensor, same shape as ``logits``
        Pseudo-labels in [0, 1]; soft values interpolate both the loss and the class
        weight.  Cast to the dtype of ``logits`` (bool and integer are accepted).
    weight : Tensor, optional, broadcastable to ``logits``
        Extra non-negative per-element weight; 0 ignores an element (unlabeled or
        entropy-masked pixels, see :func:`hadinfer.training.entropy_mask.entropy_mask`).
        Bool masks are accepted.  Default: all ones.
    pos_weight, neg_weight : float, keyword-only
        Non-negative weights of an anomaly (target 1) and a background (target 0)
        element.  The default 1 : 0.1 makes the rare anomalies count more.

    Returns
    -------
    Tensor
        0-d tensor, dtype of ``logits`` promoted to at least float32.  When every
        weight is zero it is exactly 0 and its gradient is zero, never NaN.

    Raises
    ------
    ParameterError
        If ``logits`` is not a floating-point tensor, ``targets`` has another shape,
        ``weight`` does not broadcast to ``logits``, or a class weight is negative
        or not finite.

    Notes
    -----
    Values are not validated (targets outside [0, 1], negative ``weight``) to
    avoid a device synchronisation per step.

    Examples
    --------
    >>> logits = torch.tensor([0.0, 0.0])
    >>> float(weighted_bce(logits, torch.tensor([1.0, 0.0])))  # both losses are ln 2
    0.6931471824645996
    """
    logits = _check_logits(logits)
    targets = _check_same_shape("targets", targets, logits)
    pos_weight = _check_real("pos_weight", pos_weight)
    neg_weight = _check_real("neg_weight", neg_weight)
    dtype = _loss_dtype(logits)
    logits = logits.to(dtype)
    targets = targets.to(dtype)

    elementwise = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    w = pos_weight * targets + neg_weight * (1.0 - targets)
    if weight is not None:
        if not isinstance(weight, Tensor):
            raise ParameterError(f"weight: expected a torch.Tensor, got {type(weight).__name__}")
        try:
            broadcast = torch.broadcast_shapes(weight.shape, logits.shape)
        except RuntimeError as exc:
            raise ParameterError(f"weight: shape {tuple(weight.shape)} does not broadcast to logits "
                                 f"shape {tuple(logits.shape)}") from exc
        if broadcast != logits.shape:
            raise ParameterError(f"weight: shape {tuple(weight.shape)} does not broadcast to logits "
                                 f"shape {tuple(logits.shape)}")
        w = w * weight.to(dtype)
    total = (w * elementwise).sum()
    w_sum = w.sum()
    # Divide by 1 rather than 0 when nothing is weighted: total is then exactly 0, and
    # its gradient w / 1 is 0, whereas a where() around total / 0 back-propagates NaN.
    denominator = torch.where(w_sum > 0, w_sum, torch.ones_like(w_sum))
    return total / denominator


class AUCMLoss(nn.Module):
    """AUC-margin (AUC-M) min-max loss of Yuan et al. (ICCV 2021).

    With ``h = sigmoid(logits)``, positives P and negatives N,

    ``L(θ, a, b, α) = E_P[(h - a)²] + E_N[(h - b)²] + 2α(m + E_N[h] - E_P[h]) - α²``

    is minimised over the network θ and ``a``, ``b`` (``nn.Parameter`` s: give them
    to the same optimiser as the network) and maximised over ``α >= 0``, a buffer
    updated by :meth:`ascend` after each backward pass::

        loss = criterion(model(x), labels)
        loss.backward()
        optimiser.step()              # network, criterion.a, criterion.b
        criterion.ascend(lr)          # α ← max(0, α + lr · ∂L/∂α)

    Parameters
    ----------
    margin : float
        Margin m >= 0 between the mean positive and mean negative score.  Scores
        are in [0, 1], so the default 1.0 asks for full separation, as in LibAUC.
    a, b : float, keyword-only
        Initial values of the two centres; at the optimum ``a = E_P[h]`` and
        ``b = E_N[h]``.  Default 0, as in the paper's code.
    alpha : float, keyword-only
        Initial dual variable α >= 0.  Default 0: the ranking term switches on as
        :meth:`ascend` raises α while the margin is violated.

    Attributes
    ----------
    a, b : nn.Parameter
        0-d float32 centres of the positive and negative scores.
    alpha : Tensor
        0-d float32 buffer (saved in ``state_dict``, not a parameter).

    Raises
    ------
    ParameterError
        If ``margin`` or ``alpha`` is negative, or any argument is not a finite
        real number.

    Notes
    -----
    :meth:`ascend` uses the class means of the *last* :meth:`forward` call, so call
    it before evaluating the loss on another batch.  A batch without a positive or
    without a negative gives a zero loss (still attached to ``logits``, so
    ``backward`` works) and makes the next :meth:`ascend` leave α unchanged.  The
    forward pass never synchronises with the device.
    """

    def __init__(self, margin: float = 1.0, *, a: float = 0.0, b: float = 0.0, alpha: float = 0.0):
        super().__init__()
        self.margin = _check_real("margin", margin)
        self.a = nn.Parameter(torch.tensor(_check_real("a", a, minimum=None), dtype=torch.float32))
        self.b = nn.Parameter(torch.tensor(_check_real("b", b, minimum=None), dtype=torch.float32))
        self.register_buffer("alpha", torch.tensor(_check_real("alpha", alpha), dtype=torch.float32))
        # m + E_N[h] - E_P[h] and whether both classes were present, from the last forward.
        self._last_gap: Tensor | None = None
        self._last_both: Tensor | None = None

    def forward(self, logits: Tensor, labels: Tensor, valid: Tensor | None = None) -> Tensor:
        """Evaluate the loss on one batch.

        Parameters
        ----------
        logits : Tensor, floating point, any shape
            Raw scores; ``sigmoid(logits)`` is the anomaly probability.
        labels : Tensor, same shape as ``logits``
            1 = positive, 0 = negative, anything else = ignored.
        valid : Tensor of bool, same shape as ``logits``, optional
            False drops an element whatever its label.

        Returns
        -------
        Tensor
            0-d tensor, dtype of ``logits`` promoted to at least float32.

        Raises
        ------
        ParameterError
            If ``logits`` is not floating point, ``labels`` or ``valid`` has another
            shape, or ``valid`` is not boolean.
        """
        logits = _check_logits(logits)
        positive, negative = _split_labels(logits, labels, valid)
        dtype = _loss_dtype(logits)
        h = torch.sigmoid(logits.to(dtype))
        positive = positive.to(dtype)
        negative = negative.to(dtype)
        n_pos = positive.sum()
        n_neg = negative.sum()
        both = (n_pos > 0) & (n_neg > 0)
        # Safe denominators keep every term finite when a class is empty, so the
        # where() below back-propagates zeros instead of NaN.
        n_pos = n_pos.clamp_min(1.0)
        n_neg = n_neg.clamp_min(1.0)
        mean_pos = (positive * h).sum() / n_pos
        mean_neg = (negative * h).sum() / n_neg
        var_pos = (positive * (h - self.a) ** 2).sum() / n_pos
        var_neg = (negative * (h - self.b) ** 2).sum() / n_neg
        gap = self.margin + mean_neg - mean_pos
        alpha = self.alpha.to(dtype)
        loss = var_pos + var_neg + 2.0 * alpha * gap - alpha ** 2
        self._last_gap = gap.detach()
        self._last_both = both.detach()
        return torch.where(both, loss, loss * 0.0)

    @torch.no_grad()
    def ascend(self, lr: float) -> None:
        """One projected gradient-ascent step on α, from the last forward pass.

        ``α ← max(0, α + lr · (2(m + E_N[h] - E_P[h]) - 2α))``.  Leaves α unchanged
        if the last batch lacked a positive or a negative, or if :meth:`forward`
        has not been called yet.

        Parameters
        ----------
        lr : float
            Step size >= 0.

        Raises
        ------
        ParameterError
            If ``lr`` is negative or not a finite real number.
        """
        lr = _check_real("lr", lr)
        if self._last_gap is None:
            return
        alpha = self.alpha
        grad = 2.0 * self._last_gap.to(alpha.device, alpha.dtype) - 2.0 * alpha
        stepped = (alpha + lr * grad).clamp_min(0.0)
        alpha.copy_(torch.where(self._last_both.to(alpha.device), stepped, alpha))


class SigmoidHingeLoss(nn.Module):
    """Pairwise squared-hinge surrogate of the AUC on sigmoid scores.

    ``L = mean over pairs (p, n) of relu(margin - (h_p - h_n))²`` with
    ``h = sigmoid(logits)``, p a positive and n a negative element.

    Parameters
    ----------
    margin : float
        Margin >= 0 by which a positive should outscore a negative; scores lie in
        [0, 1], so the default 1.0 penalises every pair short of perfect.
    max_pairs : int, keyword-only
        When a batch has more than ``max_pairs`` pairs, ``max_pairs`` pairs are
        drawn uniformly with replacement (an unbiased estimate of the full mean),
        which bounds memory to O(max_pairs).  Default 65536.
    generator : torch.Generator, optional, keyword-only
        Source of the pair sampling; the indices are drawn on its device.
    seed : int, keyword-only
        Seed of a CPU generator created when ``generator`` is None.  Default 0.

    Raises
    ------
    ParameterError
        If ``margin`` is negative, ``max_pairs`` is not a positive integer, or
        ``generator`` is not a ``torch.Generator``.

    Notes
    -----
    Same label convention and empty-batch behaviour as :class:`AUCMLoss`.  Selecting
    the positives and negatives synchronises with the device once per call.
    """

    def __init__(self, margin: float = 1.0, *, max_pairs: int = 65536,
                 generator: torch.Generator | None = None, seed: int = 0):
        super().__init__()
        self.margin = _check_real("margin", margin)
        if isinstance(max_pairs, bool) or not isinstance(max_pairs, numbers.Integral) or max_pairs < 1:
            raise ParameterError(f"max_pairs: expected a positive integer, got {max_pairs!r}")
        self.max_pairs = int(max_pairs)
        if generator is None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
                raise ParameterError(f"seed: expected an integer, got {seed!r}")
            generator = torch.Generator().manual_seed(int(seed))
        elif not isinstance(generator, torch.Generator):
            raise ParameterError(f"generator: expected a torch.Generator, got {type(generator).__name__}")
        self.generator = generator

    def forward(self, logits: Tensor, labels: Tensor, valid: Tensor | None = None) -> Tensor:
        """Evaluate the loss on one batch.

        Parameters
        ----------
        logits : Tensor, floating point, any shape
            Raw scores; ``sigmoid(logits)`` is the anomaly probability.
        labels : Tensor, same shape as ``logits``
            1 = positive, 0 = negative, anything else = ignored.
        valid : Tensor of bool, same shape as ``logits``, optional
            False drops an element whatever its label.

        Returns
        -------
        Tensor
            0-d tensor, dtype of ``logits`` promoted to at least float32; a zero
            still attached to ``logits`` when there is no positive or no negative.

        Raises
        ------
        ParameterError
            If ``logits`` is not floating point, ``labels`` or ``valid`` has another
            shape, or ``valid`` is not boolean.
        """
        logits = _check_logits(logits)
        positive, negative = _split_labels(logits, labels, valid)
        h = torch.sigmoid(logits.to(_loss_dtype(logits)))
        h_pos = h[positive]
        h_neg = h[negative]
        n_pos, n_neg = h_pos.numel(), h_neg.numel()
        if n_pos == 0 or n_neg == 0:
            return h.sum() * 0.0
        if n_pos * n_neg <= self.max_pairs:
            differences = h_pos[:, None] - h_neg[None, :]
        else:
            device = self.generator.device
            i = torch.randint(n_pos, (self.max_pairs,), generator=self.generator, device=device)
            j = torch.randint(n_neg, (self.max_pairs,), generator=self.generator, device=device)
            differences = h_pos[i.to(h.device)] - h_neg[j.to(h.device)]
        return F.relu(self.margin - differences).square().mean()
