"""What more training scenes would buy the learned detector: a learning curve (issue 18, item 4).

    python benchmarks/learning_curve.py --seeds 0,1                        # learned-v2's recipe (G)
    python benchmarks/learning_curve.py --seeds 0,1 --objective features   # learned-v1's (B)

Feature networks are trained on the first k of the eight unlabelled scenes (k = 1, 2, 4, 8,
in a seeded random order per seed) with a shipped recipe, and ``feat+fusion`` (what the
``learned`` detector computes) is scored on the tuning scenes, which no network here trained
on; an untrained network gives k = 0.  The confirmation scenes are not used.  Results:
``benchmarks/results/learned-features/<objective>-learning_curve.json`` and ``.md`` (B's,
``--objective features``: ``learning_curve.json``).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from hadinfer.training.feature_learning import FeatureRecipe
from learned_features import OUT, TUNING_GROUPS, auc, classical_maps, train, variants  # benchmarks/, beside this script
from unseen import DATA, labelled_scenes, unlabelled_scenes

COUNTS = (1, 2, 4, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--objective", choices=("features", "fusion"), default="fusion",
                        help="the training loss: through the features' fusion (learned-v2) or RX (learned-v1)")
    args = parser.parse_args()
    recipe = FeatureRecipe(objective=args.objective)
    stem = "learning_curve" if args.objective == "features" else f"{args.objective}-learning_curve"
    tuning = [s for s in labelled_scenes(DATA) if s["group"] in TUNING_GROUPS]
    unlabelled = unlabelled_scenes(DATA)
    classical = {s["name"]: classical_maps(s) for s in tuning}
    path = OUT / f"{stem}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for seed in (int(v) for v in args.seeds.split(",")):
        order = list(np.random.default_rng(seed).permutation(sorted(unlabelled)))
        for k in COUNTS:
            tag = f"k{k}/seed{seed}"
            if tag in results:
                continue
            net, untrained, _ = train({name: unlabelled[name] for name in order[:k]}, seed, recipe)
            scores = [variants(net, untrained, s, classical[s["name"]]) for s in tuning]
            results[tag] = {"scenes": order[:k], "feat+fusion": float(np.mean([v["feat+fusion"] for v in scores])),
                            "untrained": float(np.mean([v["untrained"] for v in scores]))}
            path.write_text(json.dumps(results, indent=1))
            print(tag, results[tag]["feat+fusion"], flush=True)
    fusion = float(np.mean([auc(classical[s["name"]]["fusion"], s) for s in tuning]))
    lines = ["# Learning curve of the learned detector (tuning scenes)", "",
             f"`python benchmarks/learning_curve.py --seeds {args.seeds} --objective {args.objective}`", "",
             f"Mean AUC(D,F) of feat+fusion over the {len(tuning)} tuning files; plain fusion {fusion:.4f}.", "",
             "| unlabelled training scenes | feat+fusion, per seed | mean |", "|---|---|---|"]
    # the untrained network depends on the seed only: one value per seed (from its k = 1 run)
    untrained = [v["untrained"] for tag, v in results.items() if tag.startswith(f"k{COUNTS[0]}/")]
    lines.append(f"| 0 (untrained network) | {', '.join(f'{u:.4f}' for u in untrained)} | {np.mean(untrained):.4f} |")
    for k in COUNTS:
        vals = [v["feat+fusion"] for tag, v in results.items() if tag.startswith(f"k{k}/")]
        lines.append(f"| {k} | {', '.join(f'{v:.4f}' for v in vals)} | {np.mean(vals):.4f} |")
    (OUT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
