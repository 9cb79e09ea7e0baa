"""Why the shipped file scored below its recipe: train the shipped recipe on all data with
several seeds and score each *file* on the labelled scenes (in-sample: it trained on their
cubes, never their masks), next to the cross-validated fold models (out of sample).

    python benchmarks/shipped_recipe_seeds.py --seeds 0,1,2

The recipe is exactly the one in ``hadinfer/weights/MODEL_CARD.md`` (``hadinfer train
... --mode general``).  The fold models' per-scene figures come from
``benchmarks/results/unseen/unseen.json`` (``benchmarks/unseen.py``).  Writes
``shipped_recipe.json`` and ``shipped_recipe.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import hadinfer
from unseen import DATA, ROOT, labelled_scenes, unlabelled_scenes  # benchmarks/, beside this script


def train_file(seed: int, out: Path) -> float:
    """Train the shipped recipe on every file with ``seed``; seconds taken."""
    files = [s["path"] for s in labelled_scenes(DATA)] + list(unlabelled_scenes(DATA).values())
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "hadinfer"), "-q", "train", *files, "--mode", "general",
                    "--seed", str(seed), "-o", str(out), "--overwrite"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "shipped-recipe")
    parser.add_argument("--table-only", action="store_true", help="rewrite the table from shipped_recipe.json")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scenes = labelled_scenes(DATA)
    if args.table_only:
        return write_table(json.loads((args.out / "shipped_recipe.json").read_text()), scenes, args)
    cv = json.loads((ROOT / "benchmarks" / "results" / "unseen" / "unseen.json").read_text())
    rows = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        model = args.out / f"recipe-seed{seed}.pt"
        seconds = train_file(seed, model) if not model.exists() else float("nan")
        for scene in scenes:
            scores = hadinfer.detect(scene["path"], detector=str(model), device="cpu").scores
            auc = hadinfer.evaluate(scores, scene["path"], key=scene["truth_key"])["auc_df"]
            rows.setdefault(scene["name"], {})[f"seed{seed}"] = auc
        rows.setdefault("_train_seconds", {})[f"seed{seed}"] = seconds
        model.unlink()  # 140 KB each; the figures are what matters
    shipped = {s["name"]: hadinfer.evaluate(hadinfer.detect(s["path"], detector="general", device="cpu").scores,
                                            s["path"], key=s["truth_key"])["auc_df"] for s in scenes}
    results = {"in_sample": rows, "general_v3": shipped, "cv": cv}
    (args.out / "shipped_recipe.json").write_text(json.dumps(results, indent=1))
    write_table(results, scenes, args)


def write_table(results: dict, scenes: list, args) -> None:
    """``shipped_recipe.md``: one row per file, each seed's file, the shipped file, the CV fold models."""
    rows, shipped, cv = results["in_sample"], results["general_v3"], results["cv"]
    seeds = [k for k in rows[scenes[0]["name"]]]
    lines = ["| scene | " + " | ".join(f"all-data {s}" for s in seeds) + " | general-v3 (shipped) | CV fold models |",
             "|---|" + "---|" * (len(seeds) + 2)]
    fold_means = []
    for s in scenes:
        n = s["name"]
        folds = cv.get(n, {}).get("general", {})
        fold_means.append(float(np.mean([v["auc_df"] for v in folds.values()])) if folds else np.nan)
        lines.append(f"| {n} | " + " | ".join(f"{rows[n][k]:.4f}" for k in seeds)
                     + f" | {shipped[n]:.4f} | {fold_means[-1]:.4f} |")
    means = [np.mean([rows[s['name']][k] for s in scenes]) for k in seeds]
    lines.append("| **mean** | " + " | ".join(f"{m:.4f}" for m in means)
                 + f" | {np.mean(list(shipped.values())):.4f} | {np.mean(fold_means):.4f} |")
    lines += ["", f"Spread of the files' means over seeds: sd {np.std(means):.4f}."]
    (args.out / "shipped_recipe.md").write_text(
        "# The shipped recipe, trained on all data, scored in-sample\n\n"
        f"`python benchmarks/shipped_recipe_seeds.py --seeds {args.seeds}`\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
