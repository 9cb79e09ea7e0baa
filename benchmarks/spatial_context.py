"""Design O: spatial context added to a finished anomaly map, nothing learned.

    python benchmarks/spatial_context.py

Each pixel's log-score is mixed with the mean log-score of its ``w`` x ``w`` neighbourhood
(valid pixels only, normalised at the edges; nodata stays nodata):
``log s' = (1 - a) log s + a mean_w(log s)``.  Variants O3h (w 3, a 1/2), O5h (w 5, a 1/2)
and O3 (w 3, a 1), fixed in ``benchmarks/results/learned-features/spatial-context-plan.md``
before this ran, with the rules that decide.  The tuning files choose, on the training-free
``fusion`` maps (and print the untrained feature networks' ``learned`` maps as a check); the
confirmation files are scored once, only if a variant passed, with the shipped
``learned-v3.npz`` itself.  Masks are read only to score.
"""

from __future__ import annotations

import numpy as np

import hadinfer
from hadinfer.training.scene_data import read_cube
from design_stages import run_design  # benchmarks/, beside this script
from learned_features import auc, classical_maps, feature_fusion, with_fusion
from second_view import SEEDS, untrained_network

#: name: (window, weight of the neighbourhood), fixed in the plan before any figure was read.
VARIANTS = {"O3h": (3, 0.5), "O5h": (5, 0.5), "O3": (3, 1.0)}
#: Rule 2: the least gain over plain ``fusion`` on the tuning mean, the largest loss on a tuning file.
LEAST_GAIN, LARGEST_LOSS = 0.002, 0.005


def box_mean(values: np.ndarray, valid: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``values`` over the valid pixels of each ``window`` x ``window`` neighbourhood."""
    from scipy.ndimage import uniform_filter

    filled = np.where(valid, values, 0.0)
    sums = uniform_filter(filled, window, mode="constant", cval=0.0)
    counts = uniform_filter(valid.astype(np.float64), window, mode="constant", cval=0.0)
    return sums / np.maximum(counts, 1e-12)


def with_context(scores: np.ndarray, window: int, weight: float) -> np.ndarray:
    """The map with spatial context: the log-score mixed with its neighbourhood's mean log-score."""
    valid = np.isfinite(scores)
    logs = np.log(np.maximum(np.where(valid, scores, 1.0), 1e-300))
    mixed = (1.0 - weight) * logs + weight * box_mean(logs, valid, window)
    return np.where(valid, np.exp(mixed), np.nan)


def contextual(maps: dict) -> dict:
    """Every map of ``maps`` and each variant of it, as ``name`` and ``name+V``."""
    out = dict(maps)
    for name, scores in maps.items():
        for v, (window, weight) in VARIANTS.items():
            out[f"{name}+{v}"] = with_context(scores.astype(np.float64), window, weight)
    return out


def tuning_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    for seed in SEEDS:
        maps[f"untrained/seed{seed}"] = with_fusion(feature_fusion(untrained_network(seed), cube, valid), maps["fusion"])
    row = {k: auc(m, scene) for k, m in contextual(maps).items()}
    for suffix in [""] + [f"+{v}" for v in VARIANTS]:  # the seeds averaged, for the table
        row[f"untrained{suffix}"] = float(np.mean([row[f"untrained/seed{s}{suffix}"] for s in SEEDS]))
    return row


def confirmation_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    maps["learned"] = hadinfer.detect(scene["path"], detector="learned", device="cpu").scores.astype(np.float64)
    return {k: auc(m, scene) for k, m in contextual(maps).items()}


def main() -> int:
    header = ["# Design O: spatial context in the map, no training", "",
              "`python benchmarks/spatial_context.py` (plan: `spatial-context-plan.md`). AUC(D,F); `+O3h` is "
              "`log s' = log s / 2 + mean_3x3(log s) / 2`, `+O5h` the same over 5 x 5, `+O3` the 3 x 3 mean alone; "
              "`untrained` is `fusion` x an untrained feature network's fusion (the `learned` detector's form), "
              "mean over seeds 0, 1, 2.", ""]
    return run_design(
        "spatial-context", header, tuning_row=tuning_row,
        tuning_columns=["grx", "lrx", "fusion"] + [f"fusion+{v}" for v in VARIANTS] + ["untrained"]
        + [f"untrained+{v}" for v in VARIANTS],
        candidates={v: f"fusion+{v}" for v in VARIANTS}, least_gain=LEAST_GAIN, largest_loss=LARGEST_LOSS,
        confirmation_row=confirmation_row,
        confirmation_columns=lambda v: ["grx", "lrx", "fusion", f"fusion+{v}", "learned", f"learned+{v}"],
        pairs=lambda v: [(f"fusion+{v}", "fusion"), (f"learned+{v}", "learned"), (f"learned+{v}", "fusion"),
                         (f"learned+{v}", f"fusion+{v}")],
        meta={"variants": VARIANTS})


if __name__ == "__main__":
    raise SystemExit(main())
