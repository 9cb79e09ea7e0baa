"""Design P: nearest-neighbour density in the whitened principal components, nothing learned.

    python benchmarks/knn_density.py

Each pixel is scored by its mean squared distance (over 10 dimensions) to its 2nd to
(k+1)th nearest of 2048 reference pixels (the scene's valid pixels, evenly spaced), in the
scene's leading 10 whitened principal components: a background of several materials is a
mixture, which RX's one Gaussian is not.  ``P-k`` is the geometric mean of that map and
``fusion``.  k = 5, 20, 50 and the rules that decide were fixed in
``benchmarks/results/learned-features/knn-density-plan.md`` before this script existed.  The
tuning files choose; the confirmation files are scored once, only if a k passed, with the
shipped ``learned-v3.npz`` itself.  Masks are read only to score.
"""

from __future__ import annotations

import json

import numpy as np

import hadinfer
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.kernels.whitening import pca_whitening
from hadinfer.training.scene_data import read_cube
from learned_features import OUT, TUNING_GROUPS, auc, classical_maps, feature_fusion, with_fusion  # beside this
from paired_uncertainty import compare, describe
from second_view import SEEDS, untrained_network
from spatial_context import mean, table
from unseen import DATA, labelled_scenes

NEIGHBOURS = (5, 20, 50)
COMPONENTS = 10
REFERENCE = 2048
#: Rule 2: the least gain over plain ``fusion`` on the tuning mean, the largest loss on a tuning file.
LEAST_GAIN, LARGEST_LOSS = 0.003, 0.005


def knn_maps(cube: np.ndarray, valid: np.ndarray) -> dict:
    """kNN(k) for every k of :data:`NEIGHBOURS`: mean squared whitened distance to the 2nd..(k+1)th nearest reference."""
    stats = BackgroundStats(cube.shape[2]).update_window(cube, valid)
    centre, projection = pca_whitening(stats, COMPONENTS)
    z = (cube[valid].astype(np.float64) - centre) @ projection
    reference = z[::max(1, z.shape[0] // REFERENCE)][:REFERENCE]
    squared = ((z * z).sum(axis=1)[:, None] - 2.0 * z @ reference.T + (reference * reference).sum(axis=1)[None, :])
    squared = np.maximum(squared, 0.0)
    nearest = np.sort(np.partition(squared, max(NEIGHBOURS) + 1, axis=1)[:, :max(NEIGHBOURS) + 1], axis=1)
    maps = {}
    for k in NEIGHBOURS:
        image = np.full(valid.shape, np.nan)
        image[valid] = nearest[:, 1:k + 1].mean(axis=1) / COMPONENTS
        maps[f"knn{k}"] = image
    return maps


def combined(maps: dict, base: str) -> dict:
    """``base`` x kNN(k) by the geometric mean, for every k."""
    return {f"{base}x{k}": with_fusion(maps[f"knn{k}"], maps[base]) for k in NEIGHBOURS}


def tuning_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    maps.update(knn_maps(cube, valid))
    maps.update(combined(maps, "fusion"))
    for seed in SEEDS:
        name = f"untrained/seed{seed}"
        maps[name] = with_fusion(feature_fusion(untrained_network(seed), cube, valid), maps["fusion"])
        maps.update(combined(maps, name))
    return {k: auc(m, scene) for k, m in maps.items()}


def confirmation_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    maps.update(knn_maps(cube, valid))
    maps["learned"] = hadinfer.detect(scene["path"], detector="learned", device="cpu").scores.astype(np.float64)
    maps.update(combined(maps, "fusion"))
    maps.update(combined(maps, "learned"))
    return {name: auc(m, scene) for name, m in maps.items()}


def choose(rows: dict) -> tuple[int | None, list[str]]:
    """Rule 2 of the plan, on the tuning files: the k that passes, if any."""
    base = mean(rows, "fusion")
    best = max(NEIGHBOURS, key=lambda k: mean(rows, f"fusionx{k}"))
    gain = mean(rows, f"fusionx{best}") - base
    worst = min(r[f"fusionx{best}"] - r["fusion"] for r in rows.values())
    passed = gain >= LEAST_GAIN and worst >= -LARGEST_LOSS
    lines = [f"Rule 2: best k = {best}, tuning mean {base + gain:.4f} against fusion {base:.4f} "
             f"({gain:+.4f}, needs >= +{LEAST_GAIN}); worst file {worst:+.4f} (needs >= -{LARGEST_LOSS}): "
             + ("**passed**" if passed else "**not passed**: nothing is scored on the confirmation files"), ""]
    return (best if passed else None), lines


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
    for row in rows["tuning"].values():  # the untrained networks' seeds, averaged per file for the table
        row["untrained"] = float(np.mean([row[f"untrained/seed{s}"] for s in SEEDS]))
        for k in NEIGHBOURS:
            row[f"untrainedx{k}"] = float(np.mean([row[f"untrained/seed{s}x{k}"] for s in SEEDS]))
    lines = ["# Design P: nearest-neighbour density in the whitened components, no training", "",
             "`python benchmarks/knn_density.py` (plan: `knn-density-plan.md`). AUC(D,F); `knnK` is the mean squared "
             "distance to the 2nd..(K+1)th nearest of 2048 reference pixels in the 10 leading whitened components; "
             "`fusionxK` its geometric mean with `fusion` (design P-K); `untrained` is `fusion` x an untrained feature "
             "network's fusion (the `learned` detector's form), mean over seeds 0, 1, 2.", ""]
    columns = ["grx", "lrx", "fusion"] + [f"knn{k}" for k in NEIGHBOURS] + [f"fusionx{k}" for k in NEIGHBOURS] + [
        "untrained"] + [f"untrainedx{k}" for k in NEIGHBOURS]
    lines += table(rows["tuning"], columns, "Tuning files (k is chosen here, on `fusion`)") + verdict
    if chosen:
        for name, s in confirmation.items():
            rows["confirmation"][name] = confirmation_row(s)
            print(name, {k: round(v, 4) for k, v in rows["confirmation"][name].items()}, flush=True)
        columns = ["grx", "lrx", "fusion", f"knn{chosen}", f"fusionx{chosen}", "learned", f"learnedx{chosen}"]
        lines += table(rows["confirmation"], columns,
                       "Confirmation files, once (`learned` is the shipped learned-v3.npz, never trained on them)")
        for a, b in ((f"fusionx{chosen}", "fusion"), (f"learnedx{chosen}", "fusion"), (f"learnedx{chosen}", "learned")):
            lines.append("- " + describe(compare(rows["confirmation"], a, b)))
        lines.append("")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "knn-density.json").write_text(json.dumps({"neighbours": NEIGHBOURS, "chosen": chosen, "rows": rows},
                                                     indent=1) + "\n")
    (OUT / "knn-density.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
