"""Differentiable dual-window (ring) RX in PyTorch: what lets a feature network train *through*
the local half of the fusion detector it is scored with.

The runtime computes ring RX exactly and fast (:func:`hadinfer.kernels.ring_sums.ring_rx`:
a compiled kernel, and sums rounded to fixed point, whose gradient is zero even through its
PyTorch path); training needs the same definition with gradients on small crops, where plain
float64 integral images and batched Cholesky solves are cheap.  Same definition: the ring is the outer box minus the inner box, its mean and
sample covariance (ddof=1) plus ``regularization`` times the identity, and the score is the
centre pixel's Mahalanobis distance from the ring mean.
"""

from __future__ import annotations

from hadinfer.kernels.ring_sums import REGULARIZATION


def _integral(values, pad: int):
    """Zero-padded integral image of (h, w, c) ``values``: pixel (y, x) sits at (y + pad, x + pad)."""
    import torch

    padded = torch.nn.functional.pad(values, (0, 0, pad, pad, pad, pad))
    return torch.nn.functional.pad(padded.cumsum(0).cumsum(1), (0, 0, 1, 0, 1, 0))


def _ring_from_integral(integral, pad: int, outer: int, inner: int, rows: slice, cols: slice):
    """Ring sums (outer box minus inner box, radii) around the pixels ``rows, cols``."""
    def box(radius):
        top_r, bottom_r = rows.start + pad - radius, rows.stop + pad + radius + 1
        top_c, bottom_c = cols.start + pad - radius, cols.stop + pad + radius + 1
        span = 2 * radius + 1
        return (integral[top_r + span:bottom_r, top_c + span:bottom_c]
                - integral[top_r:bottom_r - span, top_c + span:bottom_c]
                - integral[top_r + span:bottom_r, top_c:bottom_c - span]
                + integral[top_r:bottom_r - span, top_c:bottom_c - span])

    return box(outer) - box(inner)


def _ring_sums(values, radii, core):
    """Ring sums of ``values`` (h, w, c) at the core's pixels for each ``(outer, inner)`` radius
    pair, zero outside the window, with gradients: a tensor (pairs, core rows, core cols, c).

    A ring sum is linear and its ring symmetric, so its adjoint is the same ring sum of the
    gradient placed at the core's pixels.  Autograd through the integral image's slices
    instead allocated a zero tensor the size of the integral image per slice (a 72 x 72
    slab of 273 channels: 0.34 s of 0.43 s per step, most of it filling zeros).
    """
    import torch

    height, width = values.shape[:2]
    pad = max(outer for outer, _ in radii)
    everywhere = (slice(0, height), slice(0, width))

    class RingSums(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            integral = _integral(x, pad)
            return torch.stack([_ring_from_integral(integral, pad, outer, inner, *core) for outer, inner in radii])

        @staticmethod
        def backward(ctx, grad):
            out = torch.zeros(values.shape, dtype=grad.dtype)
            for (outer, inner), part in zip(radii, grad):
                placed = torch.zeros(values.shape, dtype=grad.dtype)
                placed[core] = part
                out += _ring_from_integral(_integral(placed, pad), pad, outer, inner, *everywhere)
            return out

    return RingSums.apply(values)


def ring_rx_scores(z, mask, windows, regularization: float = REGULARIZATION, core=None):
    """Ring RX of every pixel of ``core`` for each ``(inner, outer)`` window pair, with gradients.

    Parameters
    ----------
    z : torch.Tensor, shape (h, w, k)
        Components (globally whitened features), zero where invalid.
    mask : torch.Tensor, shape (h, w)
        1.0 where valid, else 0.0.
    windows : sequence of (int, int)
        Odd ``(inner, outer)`` widths.
    regularization : float
        Ridge added to each ring covariance.
    core : (slice, slice), optional
        Pixels scored; default all.

    Returns
    -------
    list of torch.Tensor, one (core rows, core cols) float64 map per pair
        NaN where the ring holds fewer than 2 valid pixels.
    """
    import torch

    height, width, k = z.shape
    rows, cols = core if core is not None else (slice(0, height), slice(0, width))
    z = z.to(torch.float64) * mask.to(torch.float64)[..., None]
    upper_i, upper_j = torch.triu_indices(k, k)
    # the k (k + 1) / 2 products z_i z_j, i <= j: the ring covariance is symmetric
    channels = torch.cat([mask.to(torch.float64)[..., None], z, z[..., upper_i] * z[..., upper_j]], dim=-1)
    centre = z[rows, cols]
    eye = torch.eye(k, dtype=torch.float64)
    rings = _ring_sums(channels, [(outer // 2, inner // 2) for inner, outer in windows], (rows, cols))
    out = []
    for ring in rings:
        count = ring[..., 0]
        enough = count > 1.5
        safe = torch.where(enough, count, torch.full_like(count, 2.0))
        mean = ring[..., 1:1 + k] / safe[..., None]
        pairs = torch.zeros(*count.shape, k, k, dtype=torch.float64)
        pairs[..., upper_i, upper_j] = ring[..., 1 + k:]
        pairs[..., upper_j, upper_i] = ring[..., 1 + k:]
        covariance = (pairs - safe[..., None, None] * mean[..., :, None] * mean[..., None, :]) \
            / (safe - 1.0)[..., None, None] + regularization * eye
        diff = (centre - mean)[..., None]
        chol = torch.linalg.cholesky(covariance)
        scores = (diff * torch.cholesky_solve(diff, chol)).sum(dim=(-1, -2))
        out.append(torch.where(enough, scores, torch.full_like(scores, float("nan"))))
    return out
