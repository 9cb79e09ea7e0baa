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

import json

import numpy as np

import hadinfer
from hadinfer.training.scene_data import read_cube
from learned_features import OUT, TUNING_GROUPS, auc, classical_maps, feature_fusion, with_fusion  # beside this
from paired_uncertainty import compare, describe  # benchmarks/, beside this script
from second_view import SEEDS, untrained_network
from unseen import DATA, labelled_scenes

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
    return {k: auc(m, scene) for k, m in contextual(maps).items()}


def confirmation_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    maps["learned"] = hadinfer.detect(scene["path"], detector="learned", device="cpu").scores.astype(np.float64)
    return {k: auc(m, scene) for k, m in contextual(maps).items()}


def mean(rows: dict, key: str) -> float:
    return float(np.mean([r[key] for r in rows.values()]))


def choose(rows: dict) -> tuple[str | None, list[str]]:
    """Rule 2 of the plan, on the tuning files' ``fusion`` maps: the variant that passes, if any."""
    base = mean(rows, "fusion")
    best = max(VARIANTS, key=lambda v: mean(rows, f"fusion+{v}"))
    gain = mean(rows, f"fusion+{best}") - base
    worst = min(r[f"fusion+{best}"] - r["fusion"] for r in rows.values())
    passed = gain >= LEAST_GAIN and worst >= -LARGEST_LOSS
    lines = [f"Rule 2: best variant {best}, tuning mean {base + gain:.4f} against fusion {base:.4f} "
             f"({gain:+.4f}, needs >= +{LEAST_GAIN}); worst file {worst:+.4f} (needs >= -{LARGEST_LOSS}): "
             + ("**passed**" if passed else "**not passed**: nothing is scored on the confirmation files"), ""]
    return (best if passed else None), lines


def table(rows: dict, columns: list[str], title: str) -> list[str]:
    lines = [f"## {title}", "", "| file | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in list(rows.items()) + [("**mean**", {c: mean(rows, c) for c in columns})]:
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + " |")
    return lines + [""]


def main() -> int:
    scenes = labelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no labelled scenes under {DATA}")
    tuning = {s["name"]: s for s in scenes if s["group"] in TUNING_GROUPS}
    confirmation = {s["name"]: s for s in scenes if s["group"] not in TUNING_GROUPS}
    rows = {"tuning": {}, "confirmation": {}}
    for name, s in tuning.items():
        rows["tuning"][name] = tuning_row(s)
        print(name, {k: round(v, 4) for k, v in rows["tuning"][name].items() if "seed" not in k}, flush=True)
    chosen, verdict = choose(rows["tuning"])
    for seed in SEEDS:  # the untrained learned maps' seeds, averaged per file for the table
        for row in rows["tuning"].values():
            for suffix in [""] + [f"+{v}" for v in VARIANTS]:
                row[f"untrained{suffix}"] = float(np.mean([row[f"untrained/seed{s}{suffix}"] for s in SEEDS]))
    lines = ["# Design O: spatial context in the map, no training", "",
             "`python benchmarks/spatial_context.py` (plan: `spatial-context-plan.md`). AUC(D,F); `+O3h` is "
             "`log s' = log s / 2 + mean_3x3(log s) / 2`, `+O5h` the same over 5 x 5, `+O3` the 3 x 3 mean alone; "
             "`untrained` is `fusion` x an untrained feature network's fusion (the `learned` detector's form), "
             "mean over seeds 0, 1, 2.", ""]
    columns = ["grx", "lrx", "fusion"] + [f"fusion+{v}" for v in VARIANTS] + ["untrained"] + [
        f"untrained+{v}" for v in VARIANTS]
    lines += table(rows["tuning"], columns, "Tuning files (the variant is chosen here, on `fusion`)") + verdict
    if chosen:
        for name, s in confirmation.items():
            rows["confirmation"][name] = confirmation_row(s)
            print(name, {k: round(v, 4) for k, v in rows["confirmation"][name].items()}, flush=True)
        columns = ["grx", "lrx", "fusion", f"fusion+{chosen}", "learned", f"learned+{chosen}"]
        lines += table(rows["confirmation"], columns,
                       "Confirmation files, once (`learned` is the shipped learned-v3.npz, never trained on them)")
        for a, b in ((f"fusion+{chosen}", "fusion"), (f"learned+{chosen}", "learned"), (f"learned+{chosen}", "fusion"),
                     (f"learned+{chosen}", f"fusion+{chosen}")):
            lines.append("- " + describe(compare(rows["confirmation"], a, b)))
        lines.append("")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "spatial-context.json").write_text(json.dumps({"variants": VARIANTS, "chosen": chosen, "rows": rows},
                                                         indent=1) + "\n")
    (OUT / "spatial-context.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
