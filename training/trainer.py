"""Teacher / noisy-student self-training rounds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from hadinfer.errors import ParameterError
from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
from hadinfer.models.input_policy import InputPolicy

from .entropy_mask import entropy_mask
from .losses import AUCMLoss, SigmoidHingeLoss, weighted_bce
from .scene_data import SceneData
from .synthetic_anomalies import implant_anomalies

LOSSES = ("ce", "aucm", "ce+aucm", "ce+hinge")


@dataclass
class TrainConfig:
    """The recipe (stored in checkpoints as provenance).

    Attributes
    ----------
    loss : {"ce", "aucm", "ce+aucm", "ce+hinge"}
        Teacher loss: weighted cross-entropy (anomaly 1 : background 0.1), the AUC-M
        min-max margin loss, their sum, or cross-entropy plus the sigmoid-hinge variant.
    rounds : int
        Noisy-student rounds after the teacher (0 = teacher only, the default: in the
        dev-scene ablation, ``benchmarks/results/amd-epyc-2cpu-2026-11-23/ablation``,
        students lowered the mean AUC).
    entropy_ratio : float
        Fraction of patches (most uncertain teacher first) hidden from the student.
    student_noise : bool
        Dropout, stochastic depth and input noise (Gaussian ``input_noise`` plus a
        per-channel gain jitter of ``gain_jitter`` on the network input) for students;
        off = plain distillation.
    steps, batch, patch : int
        Optimiser steps per round, patches per step, patch edge in pixels.
    sign_flip, rotate : bool
        Augment each patch by flipping the signs of its whitened components, or by mixing
        them with a random orthogonal matrix.  Either keeps the background white, so the
        network cannot lean on what one scene's components mean; ``rotate`` is part of the
        ``general`` recipe (see :data:`hadinfer.training.adapt.GENERAL_ROTATE`).
    lrx_windows, lrx_components : tuple of (int, int), int
        Local RX evidence channels of the input policy (empty: whitened components and
        global RX only); ``network["in_channels"]`` counts them.
    """

    loss: str = "ce+aucm"
    rounds: int = 0
    steps: int = 300
    batch: int = 8
    patch: int = 32
    lr: float = 3e-3
    aucm_weight: float = 1.0
    aucm_margin: float = 1.0
    alpha_lr: float = 0.05
    synthetic_per_patch: int = 2
    entropy_ratio: float = 0.2
    entropy_patch: int = 8
    student_noise: bool = True
    dropout: float = 0.1
    drop_path: float = 0.1
    input_noise: float = 0.1
    gain_jitter: float = 0.02
    sign_flip: bool = False
    rotate: bool = False
    network: dict = field(default_factory=lambda: NetworkConfig().to_dict())
    lrx_windows: tuple = ()
    lrx_components: int = 10
    seed: int = 0

    @property
    def components(self) -> int:
        """Whitened components fed to the network (its channels minus the RX and local RX channels)."""
        return self.network["in_channels"] - 1 - len(self.lrx_windows)

    @property
    def policy(self) -> InputPolicy:
        """The input policy this recipe trains for."""
        return InputPolicy(self.components, tuple(tuple(w) for w in self.lrx_windows), self.lrx_components)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ParameterError(f"loss: expected one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.rounds < 0 or self.steps < 1 or self.batch < 1:
            raise ParameterError("rounds must be >= 0, steps and batch >= 1")
        if self.components < 1:
            raise ParameterError(f"network in_channels ({self.network['in_channels']}) leave no whitened component "
                                 f"beside {len(self.lrx_windows)} local RX windows")
        if self.patch % self.entropy_patch:
            raise ParameterError(f"patch ({self.patch}) must be a multiple of entropy_patch ({self.entropy_patch})")

    def to_dict(self) -> dict:
        return asdict(self)


def _augment(array: np.ndarray, flip: int, turns: int) -> np.ndarray:
    if flip:
        array = array[:, ::-1]
    return np.rot90(array, turns, axes=(0, 1))


class BatchSampler:
    """Random patches with flips, rotations and implanted synthetic anomalies."""

    def __init__(self, scenes: list[SceneData], config: TrainConfig, rng: np.random.Generator):
        self.scenes, self.config, self.rng = scenes, config, rng

    def sample(self, noisy: bool = False):
        """Returns clean z, noisy z (or the same), labels (1/0/-1), synthetic mask; all (N, ...)."""
        cfg, rng = self.config, self.rng
        size = min([cfg.patch] + [min(s.shape) for s in self.scenes])
        size -= size % cfg.entropy_patch
        clean, noisy_z, labels, synthetic = [], [], [], []
        for _ in range(cfg.batch):
            scene = self.scenes[rng.integers(len(self.scenes))]
            height, width = scene.shape
            y, x = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
            flip, turns = int(rng.integers(2)), int(rng.integers(4))
            window = (slice(y, y + size), slice(x, x + size))
            valid = _augment(scene.valid[window], flip, turns)
            z = _augment(scene.inputs[window], flip, turns).astype(np.float64)
            label = _augment(scene.labels[window], flip, turns).astype(np.float32)
            implanted = (np.zeros(valid.shape, bool) if scene.implanted is None
                         else _augment(scene.implanted[window], flip, turns).copy())
            if cfg.synthetic_per_patch and scene.cube is not None and not scene.encoder.policy.lrx_windows:
                # Pointwise channels only: a policy with local evidence implants before preparation.
                raw = _augment(scene.cube[window], flip, turns)
                raw, implanted = implant_anomalies(raw, rng, count=cfg.synthetic_per_patch, valid=valid)
                z[implanted, :scene.components + 1] = scene.whiten(raw[implanted])
                label[implanted] = 1.0
            label[~valid] = -1.0
            if cfg.rotate:  # a random orthogonal mix of the whitened components keeps the background white
                q, r = np.linalg.qr(rng.standard_normal((scene.components, scene.components)))
                z[..., :scene.components] = z[..., :scene.components] @ (q * np.sign(np.diag(r)))
            if cfg.sign_flip:
                z[..., :scene.components] *= rng.choice([-1.0, 1.0], size=scene.components)
            clean.append(z)
            if noisy:  # per-channel gain jitter and additive noise on the network input
                gain = 1.0 + cfg.gain_jitter * rng.standard_normal(z.shape[-1])
                zn = z * gain + cfg.input_noise * rng.standard_normal(z.shape)
                noisy_z.append(np.where(valid[..., None], zn, 0.0))
            labels.append(label)
            synthetic.append(implanted)

        def stack(items):
            return torch.from_numpy(np.ascontiguousarray(np.stack(items).transpose(0, 3, 1, 2), dtype=np.float32))

        clean_t = stack(clean)
        return (clean_t, stack(noisy_z) if noisy else clean_t, torch.from_numpy(np.stack(labels)),
                torch.from_numpy(np.stack(synthetic)))


def _losses(config: TrainConfig, generator: torch.Generator):
    aucm = AUCMLoss(margin=config.aucm_margin)
    hinge = SigmoidHingeLoss(margin=config.aucm_margin, generator=generator)
    return aucm, hinge


def _train_one(scenes, config: TrainConfig, rng, generator, *, teacher: AnomalyFCN | None,
               progress: Callable[[str, int, int, dict], None], stage: str,
               init: AnomalyFCN | None = None) -> tuple[AnomalyFCN, dict]:
    student = teacher is not None
    noisy = student and config.student_noise
    net = NetworkConfig.from_dict(config.network)
    if noisy:
        net = NetworkConfig(**{**net.to_dict(), "dilations": net.dilations, "dropout": config.dropout,
                               "drop_path": config.drop_path})
    model = AnomalyFCN(net)
    if init is not None:  # fine-tuning: start from these weights (same architecture)
        model.load_state_dict(init.state_dict())
    aucm, hinge = _losses(config, generator)
    use_ce = config.loss != "aucm"
    margin_loss = None if config.loss == "ce" else (hinge if config.loss == "ce+hinge" else aucm)
    params = list(model.parameters()) + (list(margin_loss.parameters()) if margin_loss is not None else [])
    optimizer = torch.optim.Adam(params, lr=config.lr)
    sampler = BatchSampler(scenes, config, rng)
    history = []
    started = time.perf_counter()
    model.train()
    for step in range(1, config.steps + 1):
        clean, inputs, labels, synthetic = sampler.sample(noisy=noisy)
        if student:
            with torch.no_grad():
                probs = torch.sigmoid(teacher(clean))[:, 0]
            targets = torch.where(synthetic, torch.ones_like(probs), probs)
            weight = (labels >= 0).float()
            if config.entropy_ratio > 0:
                weight = weight * entropy_mask(probs, config.entropy_patch, config.entropy_ratio)
            hard = torch.where(weight > 0, (targets >= 0.5).float(), torch.full_like(targets, -1.0))
        else:
            weight = (labels >= 0).float()
            targets = labels.clamp(min=0)
            hard = labels
        logits = model(inputs)[:, 0]
        loss = torch.zeros((), requires_grad=True)
        parts = {}
        if use_ce:
            parts["ce"] = weighted_bce(logits, targets, weight)
            loss = loss + parts["ce"]
        if margin_loss is not None:
            parts["margin"] = margin_loss(logits, hard)
            loss = loss + config.aucm_weight * parts["margin"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if margin_loss is aucm:
            aucm.ascend(config.alpha_lr)
        if step % 25 == 0 or step == config.steps:
            record = {"step": step, "seconds": round(time.perf_counter() - started, 3), "loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()},
                      "positives": int((hard == 1).sum()), "negatives": int((hard == 0).sum())}
            if margin_loss is aucm:
                record["alpha"] = float(aucm.alpha)
            history.append(record)
            progress(stage, step, config.steps, record)
    model.eval()
    rebuilt = AnomalyFCN(NetworkConfig.from_dict(config.network))  # same weights, no noise layers active
    rebuilt.load_state_dict(model.state_dict())
    rebuilt.eval()
    return rebuilt, {"stage": stage, "seconds": time.perf_counter() - started, "history": history,
                     "final": history[-1] if history else {}}


def _no_progress(stage, step, total, record):
    pass


def self_train(scenes: list[SceneData], config: TrainConfig,
               progress: Callable[[str, int, int, dict], None] = _no_progress,
               stage_models: list | None = None, init: AnomalyFCN | None = None) -> tuple[AnomalyFCN, dict]:
    """Train a teacher on pseudo-labels and synthetic anomalies, then noisy students.

    Parameters
    ----------
    scenes : list of SceneData
        One (``adapt``) or many (``general``).
    config : TrainConfig
    progress : callable, optional
        ``progress(stage, step, total, record)`` every 25 steps.
    stage_models : list, optional
        When given, ``(stage, model)`` of every round is appended (for ablations).
    init : AnomalyFCN, optional
        Start the teacher from these weights instead of a random initialisation
        (``adapt`` fine-tunes the shipped model this way).

    Returns
    -------
    model : AnomalyFCN
        The last round's network, in eval mode on the CPU.
    report : dict
        Seconds per stage, loss history, pseudo-label counts, seed.
    """
    if not scenes:
        raise ParameterError("scenes: at least one scene is needed")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    stages = []
    model = None
    for round_ in range(config.rounds + 1):
        stage = "teacher" if round_ == 0 else f"student-{round_}"
        model, info = _train_one(scenes, config, rng, generator, teacher=model, progress=progress, stage=stage,
                                 init=init if round_ == 0 else None)
        stages.append(info)
        if stage_models is not None:
            stage_models.append((stage, model))
    report = {
        "stages": [{k: v for k, v in s.items() if k != "history"} for s in stages],
        "history": {s["stage"]: s["history"] for s in stages},
        "train_seconds": sum(s["seconds"] for s in stages),
        "pseudo_labels": {s.name: {"positive": int((s.labels == 1).sum()), "negative": int((s.labels == 0).sum()),
                                   "ignored": int((s.labels == -1).sum())} for s in scenes},
        "samples": config.steps * config.batch * (config.rounds + 1),
        "config": config.to_dict(),
        "torch_threads": torch.get_num_threads(),
    }
    return model, report
