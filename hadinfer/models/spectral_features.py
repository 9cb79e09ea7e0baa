"""A per-pixel spectral feature network: what the learned-feature detector runs RX on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .canonical_spectra import CANONICAL_BANDS

#: ``network.kind`` in checkpoints and ONNX metadata.
KIND = "spectral-features"


@dataclass(frozen=True)
class FeatureNetConfig:
    """Everything needed to rebuild :class:`SpectralFeatureNet` (stored in model files).

    Attributes
    ----------
    in_bands : int
        Canonical bands it reads (:mod:`hadinfer.models.canonical_spectra`).
    width : int
        Hidden units of each layer.
    features : int
        Output features per pixel.
    depth : int
        Hidden layers.
    condition : int
        Size of the scene descriptor added to the first hidden layer
        (:mod:`hadinfer.models.scene_descriptor`); 0: none, the network sees pixels only.
    """

    in_bands: int = CANONICAL_BANDS
    width: int = 64
    features: int = 16
    depth: int = 2
    condition: int = 0

    #: A per-pixel network: no spatial context.
    receptive_radius = 0

    def to_dict(self) -> dict:
        fields = asdict(self)
        if not fields["condition"]:  # files of unconditioned networks keep their layout
            del fields["condition"]
        return {"kind": KIND, **fields}

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureNetConfig":
        fields = {k: v for k, v in data.items() if k != "kind"}
        config = cls(**fields)
        if min(config.in_bands, config.width, config.features, config.depth) < 1:
            raise ValueError(f"every size must be positive, got {fields}")
        return config


class SpectralFeatureNet(nn.Module):
    """Canonical spectrum -> ``features`` learned features, pixel by pixel.

    An MLP (GELU) plus a linear skip from input to output, so that the untrained network
    already passes the spectrum's main directions through.  Per-pixel only: a pixel's
    features do not depend on its neighbours, so any tiling gives the same features, and
    the statistical detector that follows (RX on the features, with the scene's own
    statistics of them) supplies all spatial and scene context.

    ``forward`` takes (N, in_bands, H, W) like every hadinfer network and returns
    (N, features, H, W); :meth:`embed` takes a (P, in_bands) table of pixels.
    """

    def __init__(self, config: FeatureNetConfig = FeatureNetConfig()):
        super().__init__()
        self.config = config
        layers, width = [], config.in_bands
        for _ in range(config.depth):
            layers += [nn.Linear(width, config.width), nn.GELU()]
            width = config.width
        layers.append(nn.Linear(width, config.features))
        self.mlp = nn.Sequential(*layers)
        self.skip = nn.Linear(config.in_bands, config.features, bias=False)
        if config.condition:
            # A scene's descriptor shifts the first layer's pre-activations: for one scene
            # it is a constant, so at run time it folds into that layer's bias.
            self.condition = nn.Linear(config.condition, self.mlp[0].out_features, bias=False)

    def embed(self, pixels: torch.Tensor, descriptor: torch.Tensor | None = None) -> torch.Tensor:
        """(P, in_bands) -> (P, features); ``descriptor`` (condition,): the scene's, when
        the network is conditioned."""
        if not self.config.condition:
            return self.mlp(pixels) + self.skip(pixels)
        if descriptor is None:
            raise ValueError("this network is conditioned on a scene descriptor; none was given")
        hidden = self.mlp[0](pixels) + self.condition(descriptor)
        return self.mlp[1:](hidden) + self.skip(pixels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
