"""Background feature learning: a spectral network trained, without labels, so that RX on its
features separates implanted anomalies from the scene.

The network (:class:`~hadinfer.models.spectral_features.SpectralFeatureNet`) never imitates
a classical detector's labels.  Each training scene is a real cube (or another-sensor view
of one) with anomalies implanted on about 1 % of its pixels
(:func:`hadinfer.training.corpus.implant`); those implants are the only positives, every
other pixel is unlabelled background (positive-unlabelled learning).  The loss runs
*through* a differentiable detector on the features, with the scene's own mean and
covariance of them, and asks that implants outrank background pixels (a logistic pairwise
AUC surrogate).  ``objective="fusion"`` (``learned-v2`` and ``learned-v3``): the detector the
features are scored with at run time, global RX and ring RX at the fusion's windows
(:mod:`hadinfer.training.ring_rx_loss`), on a crop around an implant each step;
``"features"`` (``learned-v1``): global RX alone.  The statistical detector keeps the
scene's own statistics at test time, which is what lets the learned features serve a
sensor nobody trained on.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hadinfer.errors import ParameterError
from hadinfer.io import scene_band_centres
from hadinfer.models.canonical_spectra import band_positions, canonical_affine, placeable_centres, resample_matrix

from .corpus import IMPLANT_MAX_SIZE, implant, spectral_library
from .scene_data import read_cube
from .sensor_augment import augment_sensor

#: Background pixels drawn per step to pair with every implant.
NEGATIVES_PER_STEP = 4096
#: Slope of the logistic pairwise loss on log-RX differences.
PAIR_SLOPE = 2.0
#: Ridge added to the feature covariance, relative to its mean variance.
RIDGE = 1e-3


@dataclass(frozen=True)
class FeatureRecipe:
    """How a feature network is trained (stored in its model file's report).

    Attributes
    ----------
    steps : int
        Optimiser steps, one training scene each.
    lr : float
        Adam learning rate.
    weight_decay : float
    versions : int
        Versions of every source scene: itself and ``versions - 1`` other-sensor views,
        each with its own implants.
    features, width, depth : int
        The network's size (:class:`~hadinfer.models.spectral_features.FeatureNetConfig`).
    objective : {"features", "combined", "fusion"}
        What the pairwise loss ranks: RX on the features alone, or the geometric mean of
        RX on the features and RX on the (canonical) spectra, as the detector combines its
        two views at run time (then the features are asked for what the spectra miss), or
        the fusion of the features, global RX and ring RX at the detector's windows, as the
        detector scores them (on a crop around an implant each step:
        :mod:`hadinfer.training.ring_rx_loss`).
    condition : int
        Leading eigenvalues of the scene descriptor the network is conditioned on
        (:mod:`hadinfer.models.scene_descriptor`); 0: not conditioned (the shipped design).
    implants : {"mixed", "foreign", "shuffled"}
        The training positives (:func:`hadinfer.training.corpus.implant`): half foreign
        spectra at sub-pixel abundances and half band-shuffled own spectra (the shipped
        recipe), foreign spectra only (design I) or band-shuffled own spectra only (J).
    implant_sizes : {"uniform", "log-uniform"}
        How the implanted regions' sizes are drawn, from 1 to ``implant_max_size`` pixels
        (:func:`hadinfer.training.synthetic_anomalies.region_size`); the shipped recipe:
        uniform, 1-9.  Larger regions come fewer, so about 1 % of the pixels stay implanted.
    implant_max_size : int
    """

    steps: int = 1500
    lr: float = 3e-3
    weight_decay: float = 1e-4
    versions: int = 6
    features: int = 16
    width: int = 64
    depth: int = 2
    objective: str = "features"
    condition: int = 0
    implants: str = "mixed"
    implant_sizes: str = "uniform"
    implant_max_size: int = IMPLANT_MAX_SIZE


@dataclass
class FeatureScene:
    """One training scene: its valid pixels on the canonical grid and which hold an implant."""

    name: str
    pixels: np.ndarray  # (P, CANONICAL_BANDS) float32
    implanted: np.ndarray  # (P,) bool
    valid: np.ndarray | None = None  # (H, W) bool: where the pixels sit (the "fusion" objective's crops)

    @cached_property
    def placement(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the pixels sit, for the ``fusion`` objective's crops (once per scene, not per step):
        ``(index, rows, cols)``: each valid pixel's row in :attr:`pixels` (-1 elsewhere), and
        the image rows and columns of the implants."""
        index = np.full(self.valid.shape, -1, dtype=np.int64)
        index[self.valid] = np.arange(int(self.valid.sum()))
        rows, cols = np.nonzero(self.valid)
        hits = np.flatnonzero(self.implanted)
        return index, rows[hits], cols[hits]

    def descriptor(self, size: int) -> np.ndarray:
        """The scene's descriptor (:mod:`hadinfer.models.scene_descriptor`) from its canonical
        pixels, implants included, as the statistics pass sees a scene."""
        from hadinfer.models.scene_descriptor import descriptor_from_canonical

        return descriptor_from_canonical(np.cov(self.pixels.astype(np.float64), rowvar=False), size)

    def spectral_log_rx(self) -> np.ndarray:
        """log of global RX of the canonical spectra with their own statistics, (P,) float32."""
        pixels = self.pixels.astype(np.float64)
        centred = pixels - pixels.mean(axis=0)
        covariance = centred.T @ centred / max(len(pixels) - 1, 1)
        covariance += RIDGE * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
        scores = np.einsum("ij,ij->i", centred @ np.linalg.inv(covariance), centred)
        return np.log(np.maximum(scores, 0.0) + 1e-6).astype(np.float32)


def canonical_pixels(cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The valid pixels of an (H, W, B) cube on the canonical grid, standardised by the
    cube's own statistics exactly as the detector does at run time, float32 (P, K)."""
    pixels = cube[valid].astype(np.float64)
    mean = pixels.mean(axis=0)
    variance = pixels.var(axis=0, ddof=1) if pixels.shape[0] > 1 else np.zeros_like(mean)
    weight, offset = canonical_affine(mean, np.diag(variance))
    return (pixels @ weight + offset).astype(np.float32)


def evenly_sampled(cube: np.ndarray, centres) -> np.ndarray:
    """``cube`` resampled onto as many bands evenly spaced in wavelength, when ``centres`` are uneven.

    At run time ``learned`` places a file's bands at their centre wavelengths
    (:class:`~hadinfer.detectors.learned_features.LearnedFeatureRX`); training places bands
    evenly, and its sensor views resample them evenly too.  A training file with uneven
    centres is therefore first interpolated (linearly, in wavelength) onto evenly spaced
    ones, so the network trains on spectra shaped as it will see them.  Files without
    usable centres (none, fewer than 2, non-finite or repeated) or evenly spaced, increasing
    ones are returned as they are, to the bit; decreasing centres come back increasing.
    """
    if centres is None or len(centres) != cube.shape[2] or not placeable_centres(centres):
        return cube
    positions = band_positions(centres)
    if np.allclose(positions, np.linspace(0.0, 1.0, positions.size), rtol=0.0, atol=1e-9):
        return cube
    return cube @ resample_matrix(positions.size, positions.size, positions)


def feature_corpus(sources: dict[str, object], recipe: FeatureRecipe = FeatureRecipe(), *, seed: int = 0,
                   key: str | None = None, bands: str | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> list[FeatureScene]:
    """Training scenes from unlabelled sources: sensor views with implanted anomalies.

    Parameters
    ----------
    sources : dict
        Name -> path or (H, W, B) array.  Masks are never read.  A path whose bands carry
        uneven centre wavelengths is resampled evenly first (:func:`evenly_sampled`).
    recipe : FeatureRecipe
    seed : int
    key : str, optional
        ``.mat`` variable of path sources.
    bands : str, optional
        1-based band selection of path sources (see :func:`hadinfer.io.open_scene`).
    progress : callable, optional
        ``progress("prepare", done, total)``.
    """
    rng = np.random.default_rng(seed + 7)
    cubes = {}
    for name, src in sources.items():
        chosen = bands if isinstance(src, (str, os.PathLike)) else None  # arrays come as they are
        cube, valid = read_cube(src, key=key, bands=chosen)
        cubes[name] = (evenly_sampled(cube, scene_band_centres(src, key=key, bands=chosen)), valid)
    library = spectral_library(cubes, rng) if len(cubes) > 1 else {}
    scenes, total = [], len(cubes) * recipe.versions
    for name, (cube, valid) in cubes.items():
        foreign = [s for other, spectra in library.items() if other != name for s in spectra]
        if not foreign:
            from .corpus import generated_spectra

            foreign = generated_spectra(rng, 200)
        for v in range(recipe.versions):
            view = augment_sensor(cube, rng) if v > 0 and cube.shape[2] >= 48 else cube
            view = np.where(valid[..., None], view, 0.0)
            view, implanted = implant(view, valid, rng, foreign, recipe.implants, max_size=recipe.implant_max_size,
                                      sizes=recipe.implant_sizes)
            scenes.append(FeatureScene(f"{name}#{v}", canonical_pixels(view, valid), implanted[valid], valid))
            if progress is not None:
                progress("prepare", len(scenes), total)
    return scenes


def whitened(features, ridge: float = RIDGE):
    """Differentiable whitening of (P, d) features by their own mean and covariance, (d, P)."""
    import torch

    centred = features - features.mean(dim=0)
    covariance = centred.T @ centred / max(features.shape[0] - 1, 1)
    d = covariance.shape[0]
    covariance = covariance + ridge * torch.trace(covariance) / d * torch.eye(d, dtype=features.dtype)
    chol = torch.linalg.cholesky(covariance)
    return torch.linalg.solve_triangular(chol, centred.T, upper=False)


def rx_scores(features, ridge: float = RIDGE):
    """Differentiable global RX of (P, d) features with their own mean and covariance."""
    white = whitened(features, ridge)
    return (white * white).sum(dim=0)


#: Side of the crop the ``fusion`` objective scores each step (its rings reach beyond it).
FUSION_CROP = 32


def fusion_logs(white, scene: FeatureScene, rng: np.random.Generator, windows):
    """log of the features' fusion score on a crop around a random implant, with gradients.

    The detector's fusion on the features (:class:`~hadinfer.detectors.FusionRX`): the mean
    of ``log(score / dof)`` over global RX and ring RX at each window pair, here on every
    whitened feature (the detector's rings use the leading 10 principal components).

    Returns
    -------
    logs : torch.Tensor, shape (n,)
        The crop's valid pixels with a finite score.
    positive : torch.Tensor of bool, shape (n,)
    """
    import torch

    from .ring_rx_loss import ring_rx_scores

    height, width = scene.valid.shape
    d = white.shape[0]
    index, implant_rows, implant_cols = scene.placement
    at = rng.integers(implant_rows.size)
    side_r, side_c = min(FUSION_CROP, height), min(FUSION_CROP, width)
    top = int(np.clip(implant_rows[at] - rng.integers(side_r), 0, height - side_r))
    left = int(np.clip(implant_cols[at] - rng.integers(side_c), 0, width - side_c))
    pad = max(outer for _, outer in windows) // 2
    lo, hi = max(0, top - pad), min(height, top + side_r + pad)
    lf, rt = max(0, left - pad), min(width, left + side_c + pad)
    slab_index = torch.from_numpy(index[lo:hi, lf:rt])
    inside = slab_index >= 0
    z = torch.zeros(hi - lo, rt - lf, d, dtype=white.dtype)
    z[inside] = white.T[slab_index[inside]]
    core = (slice(top - lo, top - lo + side_r), slice(left - lf, left - lf + side_c))
    local = ring_rx_scores(z, inside.to(z.dtype), windows, core=core)
    core_index = slab_index[core]
    keep = core_index >= 0
    for scores in local:
        keep = keep & torch.isfinite(scores)
    picked = core_index[keep]
    global_rx = (white.T[picked] ** 2).sum(dim=1)
    terms = [torch.log(global_rx / d + 1e-12)] + [torch.log(s[keep] / d + 1e-12) for s in local]
    return torch.stack(terms).mean(dim=0), torch.from_numpy(scene.implanted)[picked]


def pairwise_auc_loss(scores, positive, rng: np.random.Generator, logs=None):
    """Logistic surrogate of 1 - AUC between implants and sampled background, on log scores
    (or on ``logs`` directly)."""
    import torch

    logs = torch.log(scores + 1e-6) if logs is None else logs
    pos, neg = logs[positive], logs[~positive]
    neg = neg[torch.from_numpy(rng.integers(0, neg.shape[0], NEGATIVES_PER_STEP))]
    return torch.nn.functional.softplus((neg[None, :] - pos[:, None]) * PAIR_SLOPE).mean()


def train_feature_net(scenes: list[FeatureScene], recipe: FeatureRecipe = FeatureRecipe(), *, seed: int = 0,
                      progress: Callable[[str, int, int], None] | None = None, init=None):
    """Train a :class:`SpectralFeatureNet` on ``scenes``; returns (network in eval mode, report).

    Each step takes one scene (drawn with the seed's generator), embeds all its pixels,
    and lowers :func:`pairwise_auc_loss` of :func:`rx_scores`.  Deterministic for a seed
    on one machine and library stack (single-threaded torch is not required, but the
    scene order, negatives and initialisation all come from ``seed``).  ``init``, a trained
    :class:`SpectralFeatureNet`, is copied and trained further instead of a fresh network
    (its size then overrides the recipe's).
    """
    import torch

    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    scenes = [s for s in scenes if s.implanted.any() and (~s.implanted).sum() > s.pixels.shape[1]]
    if not scenes:
        raise ParameterError("scenes: none has both implants and enough background pixels to train on")
    torch.manual_seed(seed)
    if init is None:
        net = SpectralFeatureNet(FeatureNetConfig(width=recipe.width, features=recipe.features, depth=recipe.depth,
                                                  condition=recipe.condition))
    else:
        net = copy.deepcopy(init)
    optimiser = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    rng = np.random.default_rng(seed)
    combined = recipe.objective == "combined"
    if recipe.objective not in ("features", "combined", "fusion"):
        raise ParameterError(f"objective: expected features, combined or fusion, got {recipe.objective!r}")
    if recipe.objective == "fusion":
        from hadinfer.detectors.fusion_rx import DEFAULT_WINDOWS

        if any(s.valid is None for s in scenes):
            raise ParameterError("objective fusion: every scene needs its valid mask (feature_corpus gives it)")
    size = net.config.condition
    tensors = [(torch.from_numpy(s.pixels), torch.from_numpy(s.implanted),
                torch.from_numpy(s.spectral_log_rx()) if combined else None,
                torch.from_numpy(s.descriptor(size)) if size else None, s) for s in scenes]
    started, losses, sources = time.perf_counter(), [], []
    net.train()
    for step in range(recipe.steps):
        pixels, positive, spectral, descriptor, scene = tensors[rng.integers(len(tensors))]
        if recipe.objective == "fusion":
            logs, positive = fusion_logs(whitened(net.embed(pixels, descriptor)), scene, rng, DEFAULT_WINDOWS)
            if not positive.any() or positive.all():  # a crop whose rings are all too small: no pairs
                continue
            loss = pairwise_auc_loss(None, positive, rng, logs)
        else:
            scores = rx_scores(net.embed(pixels, descriptor))
            logs = 0.5 * (torch.log(scores + 1e-6) + spectral) if combined else None
            loss = pairwise_auc_loss(scores, positive, rng, logs)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        sources.append(scene.name.split("#")[0])
        if progress is not None:
            progress("train", step + 1, recipe.steps)
    net.eval()
    report = {"recipe": recipe.__dict__, "seed": seed, "scenes": [s.name for s in scenes],
              "train_seconds": round(time.perf_counter() - started, 1),
              "loss_first_100": float(np.mean(losses[:100])), "loss_last_100": float(np.mean(losses[-100:])),
              "loss_by_source": loss_by_source(losses, sources)}
    return net, report


def loss_by_source(losses: list[float], sources: list[str]) -> dict[str, dict]:
    """Each source scene's steps and mean loss in the first and second half of training.

    The overall loss mixes scenes of very different difficulty, one scene a step, so its
    first and last 100 steps say little on their own (``learned-v3``'s did not fall); per
    source, the halves show which scenes the network learned and which it did not.

    Parameters
    ----------
    losses : list of float
        The loss of every step, in order.
    sources : list of str
        The source scene of every step (the scene name before its ``#version``).

    Returns
    -------
    dict
        Source -> ``{"steps", "first_half", "second_half"}``; a half with no step of that
        source is None.
    """
    half = len(losses) // 2
    halves: dict[str, tuple[list, list]] = {}
    for step, (value, name) in enumerate(zip(losses, sources)):
        halves.setdefault(name, ([], []))[step >= half].append(value)

    def mean(values):
        return round(float(np.mean(values)), 5) if values else None

    return {name: {"steps": len(first) + len(second), "first_half": mean(first), "second_half": mean(second)}
            for name, (first, second) in sorted(halves.items())}
