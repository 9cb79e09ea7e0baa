"""Which ``adapt`` recipe, chosen without the scene it is judged on (nested leave-one-group-out).

    python benchmarks/adapt_selection.py [--seeds 0,1,2] [--models DIR] [--out benchmarks/results/unseen]

The fold models are those of ``unseen.py`` (same folds, seeds and recipe; retrained here
and cached in ``--models``, since CPU training is deterministic).  Each variant fine-tunes
the fold model on every held-out file.  For each left-out group the variant with the best
mean AUC(D,F) over the *other* groups (mean over seeds) is picked and scored on the
left-out group.  Masks are read only to score.  Writes ``adapt_selection.json`` and ``.md``.

Variants, fixed before any was run:

- ``consensus-150``: the recipe of the time (150 steps at 1e-3; the consensus's top pixels
  and implants are positives);
- ``implants-150``: only implants are positives (the consensus still gives the background),
  so a scene's own consensus errors are not learned;
- ``implants-300``: the same, 300 steps;
- ``consensus-50``: the recipe of the time, 50 steps;
- ``implants-neg50-150``: implants only as positives, and only the bottom half of the
  consensus as background (added after the first fold's first seed was seen: there the
  consensus's top pixels were mostly the implants themselves, so the negatives are where
  a scene's real anomalies can be mislabelled);
- ``none``: no fine-tuning at all (the fold model itself).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import hadinfer
from unseen import DATA, ROOT, fold_sources, labelled_scenes, recipe_config, score, unlabelled_scenes

VARIANTS = {
    "consensus-150": {"steps": 150, "pseudo_positives": True},
    "implants-150": {"steps": 150, "pseudo_positives": False},
    "implants-300": {"steps": 300, "pseudo_positives": False},
    "consensus-50": {"steps": 50, "pseudo_positives": True},
    "implants-neg50-150": {"steps": 150, "pseudo_positives": False, "negative": 0.5},
    "none": None,
}


def fold_model(scenes, held, unlabelled, seed, cache: Path):
    """The fold model of ``unseen.py`` (cached by fold and seed)."""
    import torch

    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
    from hadinfer.training.adapt import train_general

    config = recipe_config("skip", seed)
    path = cache / f"fold-{'+'.join(sorted(held))}-seed{seed}.pt"
    model = AnomalyFCN(NetworkConfig.from_dict(config.network))
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    trained, _, _ = train_general(fold_sources(scenes, held, unlabelled), config=config)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(trained.state_dict(), path)
    return trained


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--models", type=Path, default=Path("/tmp/hadinfer-fold-models"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "unseen")
    args = parser.parse_args(argv)
    from hadinfer.detectors.network import NetworkDetector
    from hadinfer.training.adapt import evidence_policy, fine_tune

    scenes = labelled_scenes(args.data)
    unlabelled = unlabelled_scenes(args.data)
    groups = sorted({s["group"] for s in scenes})
    folds = [groups[i::args.folds] for i in range(args.folds)]
    out_path = args.out / "adapt_selection.json"
    results = json.loads(out_path.read_text()) if out_path.is_file() else {}
    meta = {"input": evidence_policy().metadata()}
    for seed in (int(s) for s in args.seeds.split(",")):
        for held in folds:
            todo = [(s, v) for s in scenes if s["group"] in held for v in VARIANTS
                    if str(seed) not in results.get(s["name"], {}).get(v, {})]
            if not todo:
                continue
            model = fold_model(scenes, set(held), unlabelled, seed, args.models)
            for scene, variant in todo:
                started = time.perf_counter()
                tuned = model if VARIANTS[variant] is None else \
                    fine_tune(scene["path"], (model, meta), seed=seed, **VARIANTS[variant])[0]
                scores = hadinfer.detect(scene["path"], detector=NetworkDetector.from_torch(tuned, meta),
                                         device="cpu").scores
                entry = score(scores, scene) | {"seconds": round(time.perf_counter() - started, 2)}
                results.setdefault(scene["name"], {}).setdefault(variant, {})[str(seed)] = entry
                print(f"seed {seed} {scene['name']} {variant}: {entry['auc_df']:.4f}", flush=True)
            args.out.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(results, indent=1))

    unit = {s["name"]: ("salinas" if s["group"] == "salinas" else s["name"]) for s in scenes}
    group_of = {s["name"]: s["group"] for s in scenes}

    def value(name, variant):
        return float(np.mean([v["auc_df"] for v in results[name][variant].values()]))

    def mean_over(names, variant):
        per_unit = {}
        for n in names:
            per_unit.setdefault(unit[n], []).append(value(n, variant))
        return float(np.mean([np.mean(v) for v in per_unit.values()]))

    nested, picked = {}, {}
    for group in groups:
        inside = [n for n in results if group_of[n] != group]
        best = max(VARIANTS, key=lambda v: mean_over(inside, v))
        picked[group] = best
        for n in results:
            if group_of[n] == group:
                nested[n] = value(n, best)
    units = list(dict.fromkeys(unit[s["name"]] for s in scenes))
    lines = ["| scene | " + " | ".join(VARIANTS) + " | nested pick | nested AUC(D,F) |",
             "|" + "---|" * (len(VARIANTS) + 3)]
    for u in units:
        files = [n for n in results if unit[n] == u]
        cells = [f"{np.mean([value(f, v) for f in files]):.4f}" for v in VARIANTS]
        lines.append(f"| {u} | " + " | ".join(cells) + f" | {picked[group_of[files[0]]]} | "
                     f"{np.mean([nested[f] for f in files]):.4f} |")
    means = [f"{mean_over(list(results), v):.4f}" for v in VARIANTS]
    nested_mean = float(np.mean([np.mean([nested[f] for f in results if unit[f] == u]) for u in units]))
    lines.append("| **mean** | " + " | ".join(means) + f" | | **{nested_mean:.4f}** |")
    text = (f"# adapt: nested selection among fine-tuning recipes\n\n`python benchmarks/adapt_selection.py --seeds "
            f"{args.seeds}`: AUC(D,F) per scene, mean over seeds; the variant columns are each "
            "variant everywhere (in-sample as a choice); the nested column is selection-free.\n\n"
            + "\n".join(lines) + "\n")
    (args.out / "adapt_selection.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
