"""Design E: the learned features adapted to the scene at run time (test-time training), under
issue 18's protocol.

    python benchmarks/learned_adapt.py --stage tuning --seeds 0,1,2
    python benchmarks/learned_adapt.py --stage confirmation --seeds 0,1,2 --pick STEPS,LR

The shipped design (B, ``learned_features.py``) trains its feature network once, on other
scenes.  Here the trained network is then fine-tuned on the scene it is about to score, with
the same loss (implants in the scene are the only positives, RX through the features with
the scene's own statistics), before ``feat+fusion`` scores it.  Only the scene's spectra are
read (never its mask), so this is a detector, not a peek at the labels.

- ``tuning``: leave-one-group-out on the tuning scenes (``learned_features.TUNING_GROUPS``):
  each fold model trains on the unlabelled scenes and the other tuning groups, then each
  candidate fine-tuning (steps x learning rate, see ``CANDIDATES``) adapts it to each held-out
  file.  The candidate to confirm is picked here.
- ``confirmation``: the *file we would ship* (trained on the unlabelled and every tuning scene,
  never a confirmation scene) adapted with the picked candidate to each confirmation file,
  once, beside the same file unadapted.

Masks are read only to score.  Results: ``benchmarks/results/learned-features/adapt-<stage>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from hadinfer.training.feature_learning import (
    FeatureRecipe,
    feature_corpus,
    train_feature_net,
)
from hadinfer.training.scene_data import read_cube
from learned_features import (
    OUT,
    TUNING_GROUPS,
    auc,
    classical_maps,
    feature_fusion,
    protocol_runs,
    train,
)
from unseen import DATA, labelled_scenes, unlabelled_scenes

#: Fine-tuning candidates: (steps, learning rate); three implant versions of the scene.
CANDIDATES = ((100, 1e-3), (300, 1e-3), (300, 3e-3))
VERSIONS = 3


def adapt(net, scene: dict, steps: int, lr: float, seed: int):
    """``net`` fine-tuned on the scene's own pixels with implants (no mask read)."""
    recipe = FeatureRecipe(steps=steps, lr=lr, versions=VERSIONS)
    scenes = feature_corpus({scene["name"]: scene["path"]}, recipe, seed=seed + 1000, key=scene["key"])
    adapted, _ = train_feature_net(scenes, recipe, seed=seed + 1000, init=net)
    return adapted


def feat_fusion_auc(net, scene: dict, fusion_map: np.ndarray) -> float:
    cube, valid = read_cube(scene["path"], key=scene["key"])
    feat = feature_fusion(net, cube, valid)
    with np.errstate(divide="ignore", invalid="ignore"):
        fused = np.exp(0.5 * (np.log(np.maximum(feat, 1e-300)) + np.log(np.maximum(fusion_map, 1e-300))))
    return auc(fused, scene)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=("tuning", "confirmation"), required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pick", help="confirmation: the candidate STEPS,LR chosen at the tuning stage")
    args = parser.parse_args()
    scenes = labelled_scenes(DATA)
    unlabelled = unlabelled_scenes(DATA)
    tuning = [s for s in scenes if s["group"] in TUNING_GROUPS]
    held = tuning if args.stage == "tuning" else [s for s in scenes if s["group"] not in TUNING_GROUPS]
    if args.stage == "confirmation":
        if not args.pick:
            raise SystemExit("--pick STEPS,LR is required at the confirmation stage (from the tuning table)")
        steps, lr = args.pick.split(",")
        candidates = ((int(steps), float(lr)),)
    else:
        candidates = CANDIDATES
    path = OUT / f"adapt-{args.stage}.json"
    results = json.loads(path.read_text()) if path.exists() else {"rows": {}}
    fusion = {}
    for s in held:
        maps = classical_maps(s)
        fusion[s["name"]] = maps["fusion"]
        results["rows"].setdefault(s["name"], {}).update({k: auc(m, s) for k, m in maps.items()})
    recipe = FeatureRecipe()
    for seed in (int(v) for v in args.seeds.split(",")):
        runs = protocol_runs(args.stage, held, tuning, scenes, unlabelled, cv=args.stage == "tuning")
        for label, sources, test in runs:
            tag = f"{label}/seed{seed}"
            if all(tag in results["rows"][s["name"]] for s in test):
                continue
            start = time.perf_counter()
            net, _, _ = train(sources, seed, recipe)
            for s in test:
                row = {"base": feat_fusion_auc(net, s, fusion[s["name"]])}
                for steps, lr in candidates:
                    tick = time.perf_counter()
                    row[f"{steps},{lr:g}"] = feat_fusion_auc(adapt(net, s, steps, lr, seed), s, fusion[s["name"]])
                    row[f"{steps},{lr:g} s"] = round(time.perf_counter() - tick, 1)
                results["rows"][s["name"]][tag] = row
                print(s["name"], tag, {k: round(v, 4) for k, v in row.items()}, flush=True)
            path.write_text(json.dumps(results, indent=1))
            print(f"{tag} {time.perf_counter() - start:.0f}s", flush=True)
    write_table(results, held, args, candidates)


def write_table(results: dict, held: list, args, candidates) -> None:
    columns = ["base"] + [f"{steps},{lr:g}" for steps, lr in candidates]
    lines = [f"# Learned features adapted to the scene (design E), {args.stage} scenes", "",
             f"`python benchmarks/learned_adapt.py --stage {args.stage} --seeds {args.seeds}"
             + (f" --pick {args.pick}`" if args.pick else "`"), "",
             ("AUC(D,F) of feat+fusion; `base` is the network unadapted, the others fine-tuned on the scene "
              "(steps,lr); learned columns are mean ± sd over seeds."), "",
             "| scene | GRX | LRX (5,21) | fusion | " + " | ".join(columns) + " |",
             "|" + "---|" * (4 + len(columns))]
    means = {c: [] for c in ["grx", "lrx", "fusion"] + columns}
    per_seed = {c: {} for c in columns}
    for s in held:
        r = results["rows"][s["name"]]
        runs = {k: v for k, v in r.items() if "/" in k}
        cells = [f"{r[c]:.4f}" for c in ("grx", "lrx", "fusion")]
        for c in ("grx", "lrx", "fusion"):
            means[c].append(r[c])
        for c in columns:
            vals = [v[c] for v in runs.values() if c in v]
            for k, v in runs.items():
                if c in v:
                    per_seed[c].setdefault(k.split("/")[1], []).append(v[c])
            cells.append(f"{np.mean(vals):.4f} ± {np.std(vals):.4f}")
            means[c].append(np.mean(vals))
        lines.append(f"| {s['name']} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{np.mean(v):.4f}**" for v in means.values()) + " |")
    lines += ["", "Mean over scenes, per seed:", ""]
    for c in columns:
        seeds = [float(np.mean(v)) for v in per_seed[c].values()]
        lines.append(f"- {c}: " + ", ".join(f"{m:.4f}" for m in seeds) + f" (sd {np.std(seeds):.4f})")
    (OUT / f"adapt-{args.stage}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
