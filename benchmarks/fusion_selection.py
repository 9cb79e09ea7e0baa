"""How the fusion baseline's windows were chosen, and what that choice scores on scenes it did not see.

    python benchmarks/fusion_selection.py [--out benchmarks/results/unseen]

Candidates: global RX plus 1 to 4 local RX window pairs out of
{3-9, 3-11, 5-15, 5-21, 7-21, 7-29, 9-31, 11-41}, with k in {5, 10} components, combined by
the geometric mean (:class:`hadinfer.detectors.FusionRX`; the sum of logs, so any
per-detector scale drops out).  Nested leave-one-group-out: for each left-out group (the two
HYDICE files are one group, the two Salinas files another), the candidate with the best mean
AUC(D,F) on the *other* groups is picked and scored on the left-out one.  The default
(:data:`hadinfer.detectors.fusion_rx.DEFAULT_WINDOWS`) is the candidate picked on all groups.
Masks are read only to score.  Writes ``fusion_selection.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import hadinfer
from unseen import DATA, ROOT, labelled_scenes  # benchmarks/unseen.py, beside this script

WINDOWS = [(3, 9), (3, 11), (5, 15), (5, 21), (7, 21), (7, 29), (9, 31), (11, 41)]
COMPONENTS = (5, 10)


def component_maps(scene: dict) -> dict:
    """GRX / rank and LRX / k for every window and k, on one scene."""
    with hadinfer.open_scene(scene["path"]) as s:
        cube, valid = s.read_all()
    maps = {"grx": hadinfer.GlobalRX().fit_score(cube, valid).astype(np.float64)}
    nan_cube = np.where(valid[..., None], cube, np.nan)
    for (inner, outer), k in itertools.product(WINDOWS, COMPONENTS):
        maps[(inner, outer, k)] = hadinfer.detect(nan_cube, detector="lrx", inner=inner, outer=outer, n_components=k,
                                                  device="cpu", layout="bands-last").scores.astype(np.float64)
    return maps


def candidates():
    for k in COMPONENTS:
        for r in range(1, 5):
            for windows in itertools.combinations(WINDOWS, r):
                yield k, windows


def fused_auc(maps, truth, k, windows) -> float:
    # Geometric mean = exp(mean log): the constant divisors only shift it, so raw scores rank the same.
    logs = np.mean([np.log(np.maximum(maps["grx"], 1e-300))]
                   + [np.log(np.maximum(maps[(i, o, k)], 1e-300)) for i, o in windows], axis=0)
    return hadinfer.evaluate(logs, truth)["auc_df"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "unseen")
    args = parser.parse_args(argv)
    scenes = labelled_scenes(args.data)
    table = {}
    for scene in scenes:
        maps = component_maps(scene)
        truth, _ = hadinfer.read_mask(scene["path"], key=scene["truth_key"])
        table[scene["name"]] = {(k, w): fused_auc(maps, truth, k, w) for k, w in candidates()}
        print(scene["name"], "done", flush=True)
    unit = {s["name"]: ("salinas" if s["group"] == "salinas" else s["name"]) for s in scenes}

    def mean_over(names, cand):
        per_unit = {}
        for n in names:
            per_unit.setdefault(unit[n], []).append(table[n][cand])
        return float(np.mean([np.mean(v) for v in per_unit.values()]))

    cands = list(candidates())
    groups = sorted({s["group"] for s in scenes})
    nested, picked = {}, {}
    for group in groups:
        inside = [s["name"] for s in scenes if s["group"] != group]
        best = max(cands, key=lambda c: mean_over(inside, c))
        picked[group] = best
        for s in scenes:
            if s["group"] == group:
                nested[s["name"]] = table[s["name"]][best]
    chosen = max(cands, key=lambda c: mean_over(list(table), c))
    units = sorted(set(unit.values()), key=list(unit.values()).index)
    lines = ["| scene | nested LOO pick (k; windows) | nested AUC(D,F) | default, in-sample |", "|---|---|---|---|"]
    for u in units:
        files = [n for n in table if unit[n] == u]
        pick = picked[next(s["group"] for s in scenes if s["name"] == files[0])]
        lines.append(f"| {u} | {pick[0]}; {', '.join(f'{i}-{o}' for i, o in pick[1])} | "
                     f"{np.mean([nested[f] for f in files]):.4f} | {np.mean([table[f][chosen] for f in files]):.4f} |")
    nested_mean = float(np.mean([np.mean([nested[f] for f in table if unit[f] == u]) for u in units]))
    lines.append(f"| **mean** | | **{nested_mean:.4f}** | {mean_over(list(table), chosen):.4f} |")
    counts = Counter(picked.values()).most_common(3)
    text = (f"# Fusion baseline: window selection\n\n`python benchmarks/fusion_selection.py`: {len(cands)} "
            f"candidates, nested leave-one-group-out over {len(groups)} groups.\n\n" + "\n".join(lines)
            + f"\n\nDefault (picked on all groups): k={chosen[0]}, windows {list(chosen[1])}. "
              f"Picks per fold: " + "; ".join(f"{c} x{n}" for c, n in counts) + ".\n"
              "The nested column is selection-free; the last column is in-sample.\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fusion_selection.md").write_text(text)
    (args.out / "fusion_selection.json").write_text(json.dumps(
        {"nested": nested, "picked": {g: [p[0], p[1]] for g, p in picked.items()},
         "default": [chosen[0], chosen[1]], "nested_mean": nested_mean}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
