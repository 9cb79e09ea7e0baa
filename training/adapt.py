"""Per-scene self-training (``adapt``) and multi-scene training (``general``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from hadinfer import __version__
from hadinfer.models.anomaly_fcn import NetworkConfig
from hadinfer.io import Scene
from hadinfer.models.input_policy import InputPolicy
from hadinfer.models.metadata import file_sha256
from hadinfer.synthetic import make_cube

from .corpus import build_corpus
from .scene_data import SceneData, prepare_scene
from .trainer import TrainConfig, self_train


#: The ``general`` recipe, chosen by leave-one-scene-out AUC on the dev scenes
#: (``benchmarks/ablation.py --general``; results under benchmarks/results/): a teacher and
#: one noisy student, 1800 steps each, with the whitened components randomly rotated.
#: Rotation took the mean from 0.9484 to 0.9656 at 900 steps (a scene's leading components
#: mean different things on another sensor), 1800 steps to 0.9683; wider dilations
#: (1, 2, 4, 8) gave 0.9665.  Without rotation, longer training had generalised worse.
GENERAL_STEPS = 1800
GENERAL_ROUNDS = 1
GENERAL_ROTATE = True


def general_config(**overrides) -> TrainConfig:
    """The recipe of ``--mode general`` and of the shipped model."""
    return TrainConfig(**{"steps": GENERAL_STEPS, "rounds": GENERAL_ROUNDS, "rotate": GENERAL_ROTATE,
                          **overrides})


#: The evidence recipe (``general-v3``): the network reads 16 rotated whitened components,
#: global RX and local RX at four windows (3-9 and 5-15 for small targets, 7-29 and 11-41
#: for larger ones and cluttered backgrounds), learns from consensus pseudo-labels plus
#: implanted foreign and band-shuffled spectra, on every scene in four versions (itself and
#: three other-sensor views), and adds the log of the evidence's geometric mean to its
#: logit (``NetworkConfig.evidence_skip``).  That skip was the one choice made on labelled
#: scenes: on the tuning folds only (``benchmarks/results/unseen-tuning/``: 0.9784 with it,
#: 0.9640 without, 3 seeds); the confirmation folds were scored once, afterwards
#: (``benchmarks/results/unseen/``).
EVIDENCE_WINDOWS = ((3, 9), (5, 15), (7, 29), (11, 41))
EVIDENCE_STEPS = 1500
EVIDENCE_VERSIONS = 4
#: ``adapt`` fine-tunes the shipped model on the scene at a low rate (three implant versions
#: of the scene, no sensor views), with only the implants as positives: the scene's own
#: consensus is used for the background only, so its errors on that scene are not learned.
#: Chosen by nested leave-one-group-out among five fine-tuning recipes
#: (``benchmarks/adapt_selection.py``, ``benchmarks/results/unseen/adapt_selection.md``):
#: picked in all 10 folds; selection-free mean 0.9706 against 0.9692 without fine-tuning.
ADAPT_STEPS = 300
ADAPT_LR = 1e-3
ADAPT_VERSIONS = 3
ADAPT_PSEUDO_POSITIVES = False


def evidence_policy() -> InputPolicy:
    """The input policy of the evidence recipe."""
    return InputPolicy(16, EVIDENCE_WINDOWS, 10)


def evidence_config(**overrides) -> TrainConfig:
    """The evidence recipe (``general-v3``): teacher only, rotated components, implants prepared up front."""
    policy = evidence_policy()
    return TrainConfig(**{"steps": EVIDENCE_STEPS, "rounds": 0, "rotate": True, "synthetic_per_patch": 0,
                          "lrx_windows": policy.lrx_windows, "lrx_components": policy.lrx_components,
                          "network": NetworkConfig(in_channels=policy.channels,
                                                   evidence_skip=policy.channels - policy.components).to_dict(),
                          **overrides})


def train_general(sources: dict, *, config: TrainConfig | None = None, versions: int = EVIDENCE_VERSIONS,
                  key: str | None = None, bands: str | None = None, progress=None, pseudo_positives: bool = True):
    """Train one network on many scenes with the evidence recipe; returns ``(model, report, provenance)``.

    Parameters
    ----------
    sources : dict
        Name -> path or (H, W, B) array.  No mask is read.
    config : TrainConfig, optional
        Default :func:`evidence_config`.
    versions : int
        Versions per scene (itself plus other-sensor views), each with its own implants.
    key, bands : str, optional
        ``.mat`` variable and band selection of path sources.
    progress : callable, optional
        ``progress(stage, step, total, record)`` every 25 steps.
    pseudo_positives : bool
        False: only the implants are positives (positive-unlabelled learning); the
        consensus still names the background.
    """
    config = config or evidence_config()
    started = time.perf_counter()
    scenes = build_corpus(sources, config.policy, versions=versions, seed=config.seed, key=key, bands=bands,
                          pseudo_positives=pseudo_positives)
    prepared = time.perf_counter() - started
    model, report = self_train(scenes, config, **({} if progress is None else {"progress": progress}))
    report["prepare_seconds"] = prepared
    report["pseudo_source"] = "consensus" if pseudo_positives else "consensus negatives, implant positives"
    provenance = _provenance(sources.values(), config, report["pseudo_source"]) | {"versions": versions}
    return model, report, provenance


def fine_tune(source, start, *, config: TrainConfig | None = None, key: str | None = None,
              bands: str | None = None, progress=None, seed: int = 0, steps: int = ADAPT_STEPS,
              lr: float = ADAPT_LR, pseudo_positives: bool = ADAPT_PSEUDO_POSITIVES, negative: float = 0.90,
              **overrides):
    """``adapt``: fine-tune a trained network on one scene; returns ``(model, report, provenance)``.

    Parameters
    ----------
    source : path or ndarray
        The scene (no mask is read).
    start : (AnomalyFCN, dict)
        The network to start from and its checkpoint metadata (for its input policy).
    config : TrainConfig, optional
        Default: :data:`ADAPT_STEPS` steps at :data:`ADAPT_LR`, the start's policy.
    key, bands : str, optional
        ``.mat`` variable and band selection of a path source.
    progress : callable, optional
        ``progress(stage, step, total, record)`` every 25 steps.
    seed, steps, lr : int, int, float
        Seed, optimiser steps and learning rate of the default config.
    pseudo_positives : bool
        Learn the scene's consensus top pixels as anomalies; off, only implants are
        positives (the scene's own consensus errors are then not learned).
    negative : float
        Consensus ranks at or below are background (lower: fewer real anomalies among them).
    **overrides
        Other :class:`TrainConfig` fields of the default config (e.g. ``rounds``, ``loss``).
    """
    model, meta = start
    policy = InputPolicy.from_metadata(meta.get("input") or {}, model.config.in_channels)
    config = config or TrainConfig(**{"steps": steps, "lr": lr, "rounds": 0, "rotate": True, "synthetic_per_patch": 0,
                                      "seed": seed, "lrx_windows": policy.lrx_windows,
                                      "lrx_components": policy.lrx_components,
                                      "network": model.config.to_dict() | {"dropout": 0.0, "drop_path": 0.0},
                                      **overrides})
    started = time.perf_counter()
    scenes = build_corpus({_source_name(source): source}, policy, versions=ADAPT_VERSIONS, seed=config.seed, key=key, bands=bands,
                          augment=False, pseudo_positives=pseudo_positives, negative=negative)
    prepared = time.perf_counter() - started
    tuned, report = self_train(scenes, config, init=model, **({} if progress is None else {"progress": progress}))
    report["prepare_seconds"] = prepared
    report["pseudo_source"] = "consensus"
    report["started_from"] = meta.get("provenance", {}).get("name", "model")
    return tuned, report, _provenance([source], config, "consensus") | {"fine_tuned_from": report["started_from"]}


def _provenance(sources, config: TrainConfig, pseudo: str) -> dict:
    scenes = []
    for s in sources:
        name = _source_name(s)
        scenes.append({"name": name, "sha256": file_sha256(name) if Path(name).is_file() else None})
    return {"scenes": scenes, "recipe": config.to_dict(), "pseudo_labels": pseudo, "seed": config.seed,
            "code_version": __version__}


def _source_name(source) -> str:
    """A path as given, an open scene's path, or ``<array>``."""
    if isinstance(source, Scene):
        return source.info.path
    return str(source) if isinstance(source, (str, os.PathLike)) else "<array>"


def synthetic_scenes(count: int, seed: int, *, pseudo: str, components: int) -> list[SceneData]:
    """Scenes from the built-in generator with varied band counts (64 to 224), for ``general``."""
    rng = np.random.default_rng(seed + 7919)
    scenes = []
    for i in range(count):
        bands = int(rng.integers(64, 225))
        cube, _ = make_cube(128, 128, bands, seed=seed * 1000 + i)  # its truth is discarded
        scenes.append(prepare_scene(cube * 10000, name=f"synthetic-{i}-{bands}b", pseudo=pseudo,
                                    components=components))
    return scenes


def train(sources, *, config: TrainConfig | None = None, pseudo: str = "lrx", synthetic: int = 0,
          key: str | None = None, bands: str | None = None, progress=None):
    """Self-train on scenes; returns ``(model, report, provenance)``.

    Parameters
    ----------
    sources : list
        Paths or (H, W, B) arrays.  One scene for ``adapt``; several for ``general``.
    config : TrainConfig, optional
    pseudo : {"lrx", "grx", "both"}
        Classical detector giving pseudo-labels.
    synthetic : int
        Extra synthetic scenes from the generator (``general`` mode).
    """
    config = config or TrainConfig()
    components = config.components
    started = time.perf_counter()
    scenes = [prepare_scene(s, key=key, bands=bands, pseudo=pseudo, components=components) for s in sources]
    scenes += synthetic_scenes(synthetic, config.seed, pseudo=pseudo, components=components)
    prepared = time.perf_counter() - started
    kwargs = {} if progress is None else {"progress": progress}
    model, report = self_train(scenes, config, **kwargs)
    report["prepare_seconds"] = prepared
    report["pseudo_source"] = pseudo
    provenance = {
        "scenes": [{"name": s.name, "shape": list(s.cube.shape),
                    "sha256": file_sha256(s.name) if Path(str(s.name)).is_file() else None} for s in scenes],
        "recipe": config.to_dict(), "pseudo_labels": pseudo, "seed": config.seed, "code_version": __version__,
    }
    return model, report, provenance
