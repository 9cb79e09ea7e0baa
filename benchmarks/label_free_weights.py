"""Per-scene weights for the fusion's terms, chosen without labels (issue 18: "choosing per scene has headroom").

    python benchmarks/label_free_weights.py

The fusion averages the logarithms of its three terms (global RX and ring RX at (5,15) and
(11,41), each divided by its degrees of freedom) with equal weights.  Here each scene gets
weights from its own score distributions, never its mask: a term whose upper tail stands
further out from its bulk, ``(q - median) / IQR`` of its log score with ``q`` the 99th or
99.9th percentile, or whose log score has the larger kurtosis, is trusted more (weights
proportional to the statistic, or to its square).  Scored on the tuning scenes only
(abu-airport-1, abu-airport-4, abu-urban-3, HYDICE); nothing here is looked at on the
confirmation scenes unless it beats equal weights there.  Results:
``benchmarks/results/learned-features/label-free-weights.md``.
"""

from __future__ import annotations

import sys

import numpy as np

import hadinfer
from hadinfer.detectors.fusion_rx import FusionRX
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.training.scene_data import read_cube
from learned_features import OUT, TUNING_GROUPS, auc  # benchmarks/, beside this script
from unseen import DATA, labelled_scenes


def log_terms(cube: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """The fusion's three log terms, as :class:`FusionRX` averages them."""
    fusion = FusionRX().fit(BackgroundStats(cube.shape[2]).update_window(cube, valid))
    grx, *local = fusion.parts_
    maps = [grx.score(cube, valid)] + [part.score(cube, valid) for part in local]
    return [np.log(np.maximum(m.astype(np.float64) / dof, 1e-12)) for m, dof in zip(maps, fusion.dof_)]


def tail_separation(term: np.ndarray, quantile: float) -> float:
    q1, median, q3, top = np.quantile(term[np.isfinite(term)], [0.25, 0.5, 0.75, quantile])
    return float((top - median) / (q3 - q1))


def kurtosis(term: np.ndarray) -> float:
    values = term[np.isfinite(term)]
    return float(np.mean(((values - values.mean()) / values.std()) ** 4))


RULES = {
    "tail 99 %": lambda t: tail_separation(t, 0.99),
    "tail 99.9 %": lambda t: tail_separation(t, 0.999),
    "tail 99 %, squared": lambda t: tail_separation(t, 0.99) ** 2,
    "tail 99.9 %, squared": lambda t: tail_separation(t, 0.999) ** 2,
    "kurtosis": kurtosis,
}


def main() -> None:
    tuning = [s for s in labelled_scenes(DATA) if s["group"] in TUNING_GROUPS]
    names = ["equal (fusion)", "GRX", "ring (5,15)", "ring (11,41)", *RULES]
    rows = []
    for scene in tuning:
        cube, valid = read_cube(scene["path"], key=scene["key"])
        terms = log_terms(cube.astype(np.float64), valid)
        row = {"equal (fusion)": auc(np.exp(sum(terms) / 3), scene)}
        row.update({name: auc(np.exp(t), scene) for name, t in zip(names[1:4], terms)})
        for name, rule in RULES.items():
            weights = np.array([rule(t) for t in terms])
            row[name] = auc(np.exp(sum(w * t for w, t in zip(weights, terms)) / weights.sum()), scene)
        rows.append((scene["name"], row))
        print(scene["name"], {k: round(v, 4) for k, v in row.items()}, flush=True)
    lines = ["# Label-free per-scene weights of the fusion's terms (tuning scenes)", "",
             "`python benchmarks/label_free_weights.py`", "",
             "AUC(D,F). Weights from each scene's own score distributions, never its mask.", "",
             "| scene | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{row[n]:.4f}" for n in names) + " |" for name, row in rows]
    lines.append("| **mean** | " + " | ".join(f"**{np.mean([r[n] for _, r in rows]):.4f}**" for n in names) + " |")
    (OUT / "label-free-weights.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
