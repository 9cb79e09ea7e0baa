"""A small, band-agnostic, fully convolutional anomaly detector."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetworkConfig:
    """Everything needed to rebuild :class:`AnomalyFCN` (stored in checkpoints).

    Attributes
    ----------
    in_channels : int
        Input channels: leading whitened principal components plus one global-RX channel
        (see :mod:`hadinfer.models.input_policy`), whatever the sensor's band count.
    width : int
        Feature channels.
    dilations : tuple of int
        One residual 3x3 block per entry; together they set the receptive field.
    dropout : float
        Channel dropout in each block (student noise); 0 for teachers.
    drop_path : float
        Stochastic depth: probability of skipping a block's branch per sample.
    evidence_skip : int
        When > 0, the mean logarithm of the last ``evidence_skip`` input channels (global
        and local RX ratios under the evidence input policy, i.e. the log of their
        geometric-mean fusion) is added to the logit with a learned gain starting at 1.
        The untrained network then ranks like the training-free fusion, and training
        learns a correction to it.
    """

    in_channels: int = 17
    width: int = 32
    dilations: tuple[int, ...] = (1, 2, 3)
    dropout: float = 0.0
    drop_path: float = 0.0
    evidence_skip: int = 0

    @property
    def receptive_radius(self) -> int:
        """Pixels each side a score depends on: the runtime's halo."""
        return sum(self.dilations)

    def to_dict(self) -> dict:
        return {**asdict(self), "dilations": list(self.dilations)}

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkConfig":
        return cls(**{**data, "dilations": tuple(data["dilations"])})


#: The variance floor of :class:`PixelNorm`.
PIXEL_NORM_EPS = 1e-5


class PixelNorm(nn.Module):
    """Layer normalisation over channels at each pixel.

    Instance normalisation over space would make a pixel's score depend on which tile it
    sits in; per-pixel statistics keep the map independent of tile and batch size.  The
    scene-level "instance" normalisation happens at the input (per-scene whitening).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=1, keepdim=True, unbiased=False)
        return (x - mean) * torch.rsqrt(var + PIXEL_NORM_EPS) * self.weight + self.bias


class ResidualBlock(nn.Module):
    """3x3 dilated conv, PixelNorm, GELU, channel dropout; the branch can be dropped."""

    def __init__(self, width: int, dilation: int, dropout: float, drop_path: float):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation)
        self.norm = PixelNorm(width)
        self.act = nn.GELU()
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.dropout(self.act(self.norm(self.conv(x))))
        if self.training and self.drop_path > 0:
            keep = (torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.drop_path).to(x.dtype)
            branch = branch * keep / (1 - self.drop_path)
        return x + branch


class AnomalyFCN(nn.Module):
    """Fully convolutional detector: (N, C, H, W) whitened spectra -> (N, 1, H, W) logits.

    Any tile size works; zero padding only matters within ``receptive_radius`` of the
    input's edge, which the runtime covers with a halo.

    Parameters
    ----------
    config : NetworkConfig
    """

    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.config = config
        self.stem = nn.Sequential(nn.Conv2d(config.in_channels, config.width, 1), PixelNorm(config.width), nn.GELU())
        self.blocks = nn.Sequential(*[ResidualBlock(config.width, d, config.dropout, config.drop_path)
                                      for d in config.dilations])
        self.head = nn.Sequential(nn.Conv2d(config.width, config.width // 2, 1), nn.GELU(),
                                  nn.Conv2d(config.width // 2, 1, 1))
        if config.evidence_skip:
            self.skip_gain = nn.Parameter(torch.ones(()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # asinh compresses the huge whitened values of strong anomalies without
        # losing their order, so one network sees faint and blatant ones alike.
        out = self.body(torch.asinh(z))
        return out + self.evidence_term(z) if self.config.evidence_skip else out

    def body(self, compressed: torch.Tensor) -> torch.Tensor:
        """The convolutions, on ``asinh`` of the input (any float dtype)."""
        return self.head(self.blocks(self.stem(compressed)))

    def evidence_term(self, z: torch.Tensor) -> torch.Tensor:
        """The logit's skip term: the log of the evidence channels' geometric mean (float32 input)."""
        evidence = z[:, z.shape[1] - self.config.evidence_skip:]
        return self.skip_gain.float() * torch.log(torch.clamp(evidence, min=1e-6)).mean(dim=1, keepdim=True)


#: Above this magnitude ``a * a`` would near float32's overflow; ``asinh`` continues as ``log(2a)``.
_ASINH_SPLIT = 2.0 ** 60


def portable_asinh(z: torch.Tensor) -> torch.Tensor:
    """``asinh`` from operators every runtime has a GPU kernel for (ONNX Runtime's CUDA provider has no Asinh).

    ``asinh(a) = log(c + sqrt(c^2 + 1)) + log(max(a, T) / T)`` with ``c = min(a, T)``,
    ``T = 2**60``: below ``T`` the second term is ``log(1) = 0`` exactly; above it the first
    is ``log(2T)`` to float32 precision and the second continues it as ``log(2a)``, so
    ``c^2`` never overflows and order is kept up to float32's largest value.  No ``Where``:
    the branch-free form exports to 13 elementwise operators and took 19 ms per 268 x 268
    x 21 tile on one CPU thread in ONNX Runtime, against 58 ms for the earlier two-branch
    form (``log1p`` in ``Where`` arms), which was no more precise once exported (ONNX has no
    ``Log1p``: both lose digits below about 1e-7 in absolute terms, where no network input
    is told apart anyway).
    """
    a = z.abs()
    c = torch.clamp(a, max=_ASINH_SPLIT)
    beyond = torch.log(torch.clamp(a, min=_ASINH_SPLIT) * (1.0 / _ASINH_SPLIT))
    return torch.sign(z) * (torch.log(c + torch.sqrt(c * c + 1)) + beyond)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def flops_per_pixel(config: NetworkConfig) -> int:
    """Multiply-adds x 2 per output pixel of the convolutions (norms and activations excluded)."""
    c, w = config.in_channels, config.width
    macs = c * w + len(config.dilations) * 9 * w * w + w * (w // 2) + (w // 2)
    return 2 * macs
