"""Design D of issue 18: a spectral network that reconstructs backgrounds; RX then scores what
it cannot reconstruct.

The network is a :class:`~hadinfer.models.spectral_features.SpectralFeatureNet` whose skip is
the identity, frozen, and whose MLP has a narrow hidden layer: its output
``x + mlp(x)`` is the *residual* of an autoencoder with a ``width``-wide bottleneck
(``mlp`` learns ``-reconstruction``).  Trained on the background pixels of many scenes
(implanted pixels are left out; nothing else is known about them), it learns the manifold
real standardised spectra lie on, across sensors, so the residual keeps what no background
explains: the same runtime file, detector and export as design B
(:mod:`hadinfer.training.feature_learning`), with ``features`` equal to the canonical bands.
This follows the background-enhancement idea of train-once detectors (FERS, arXiv
2510.18781) with a plain reconstruction loss instead of their reverse distillation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from hadinfer.models.canonical_spectra import CANONICAL_BANDS

from .feature_learning import FeatureScene

#: Background pixels drawn from one scene per step.
PIXELS_PER_STEP = 4096


@dataclass(frozen=True)
class ReconstructionRecipe:
    """How a background-reconstruction network is trained.

    Attributes
    ----------
    steps, lr, weight_decay
        Adam optimiser steps (one scene each), learning rate, weight decay.
    bottleneck : int
        Width of the hidden layer (the autoencoder's code).
    versions : int
        Versions of every source scene in the corpus (as :class:`FeatureRecipe`).
    """

    steps: int = 1500
    lr: float = 3e-3
    weight_decay: float = 1e-4
    bottleneck: int = 16
    versions: int = 6

    @property
    def network(self) -> dict:
        """The :class:`FeatureNetConfig` fields: one hidden layer, residual on every band."""
        return {"in_bands": CANONICAL_BANDS, "width": self.bottleneck, "features": CANONICAL_BANDS, "depth": 1}


def residual_net(recipe: ReconstructionRecipe = ReconstructionRecipe()):
    """An untrained residual network: identity skip (frozen) plus a bottleneck MLP."""
    import torch

    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    net = SpectralFeatureNet(FeatureNetConfig(**recipe.network))
    with torch.no_grad():
        net.skip.weight.copy_(torch.eye(CANONICAL_BANDS))
    net.skip.weight.requires_grad_(False)
    return net


def train_reconstruction_net(scenes: list[FeatureScene], recipe: ReconstructionRecipe = ReconstructionRecipe(), *,
                             seed: int = 0):
    """Train :func:`residual_net` to leave the smallest residual on background pixels.

    Returns
    -------
    (SpectralFeatureNet, dict)
        The network in eval mode and a report (recipe, seed, seconds, losses).
    """
    import torch

    torch.manual_seed(seed)
    net = residual_net(recipe)
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trainable, lr=recipe.lr, weight_decay=recipe.weight_decay)
    rng = np.random.default_rng(seed)
    backgrounds = [torch.from_numpy(s.pixels[~s.implanted]) for s in scenes if (~s.implanted).any()]
    started, losses = time.perf_counter(), []
    net.train()
    for _ in range(recipe.steps):
        pixels = backgrounds[rng.integers(len(backgrounds))]
        batch = pixels[torch.from_numpy(rng.integers(0, pixels.shape[0], PIXELS_PER_STEP))]
        loss = net.embed(batch).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    net.eval()
    report = {"recipe": {**recipe.__dict__, "design": "background-reconstruction"}, "seed": seed,
              "train_seconds": round(time.perf_counter() - started, 1),
              "loss_first_100": float(np.mean(losses[:100])), "loss_last_100": float(np.mean(losses[-100:]))}
    return net, report
