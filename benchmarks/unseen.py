"""Accuracy on scenes a model never saw: grouped cross-validation over the labelled scenes.

    python benchmarks/unseen.py                                  # 5 folds x seeds 0,1,2
    python benchmarks/unseen.py --seeds 0 --folds 5 --out DIR    # one seed

Protocol (selection-free for the deep rows):

- The labelled scenes (``had/`` and ``had-extra/``) form 10 groups: the two HYDICE files
  show the same place and the two Salinas files share every background pixel, so each pair
  is one group.  Groups are dealt into ``--folds`` folds in name order.
- For each seed and fold, a ``general`` model is trained with the fixed evidence recipe
  (:func:`hadinfer.training.adapt.evidence_config`) on the unlabelled scenes and the
  labelled scenes of the *other* folds (their cubes only, never a mask), then scores the
  held-out files zero-shot.  ``adapt`` fine-tunes that fold model on each held-out file.
- GRX, LRX (5, 21) and the fusion baseline need no training and are scored once.  The
  fusion's windows were chosen by nested leave-one-group-out (``fusion_selection.py``);
  the fusion row here uses the default chosen on all scenes, so it is in-sample.

Masks are read only to score.  Results are written after every fold (``unseen.json``),
and a run picks up where a previous one stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

import hadinfer
from machine import machine_label  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
#: Folds whose scenes chose between recipes (``benchmarks/results/unseen-tuning/``); the
#: deep rows of the other folds are selection-free.
TUNING_FOLDS = (0, 1)
CLASSICAL = {
    "grx": {"detector": "grx"},
    "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
    "fusion": {"detector": "fusion"},
}


def labelled_scenes(data: Path) -> list[dict]:
    """Every labelled file with its data key, mask key and group."""
    rows = []
    for folder in ("had", "had-extra"):
        with open(data / folder / "MANIFEST.tsv", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                name = row["file"].removesuffix(".mat")
                rows.append({"name": name, "path": str(data / folder / row["file"]),
                             "key": row.get("data_key") or "data", "truth_key": row.get("gt_key") or "map",
                             "group": scene_unit(name)})
    return rows


def scene_unit(name: str) -> str:
    """Files that count as one scene (same place) share a unit."""
    for prefix in ("hydice-urban", "salinas"):
        if name.startswith(prefix):
            return prefix
    return name


def unlabelled_scenes(data: Path) -> dict[str, str]:
    return {p.stem: str(p) for p in sorted((data / "hsi-unlabelled").glob("*.mat"))}


def score(scores: np.ndarray, scene: dict) -> dict:
    metrics = hadinfer.evaluate(scores, scene["path"], key=scene["truth_key"])
    return {"auc_df": metrics["auc_df"], "auc_ft": metrics["auc_ft"]}


def recipe_config(recipe: str, seed: int):
    """The evidence recipe, plain or with the fusion skip (``evidence_skip``)."""
    from hadinfer.models.anomaly_fcn import NetworkConfig
    from hadinfer.training.adapt import evidence_config, evidence_policy

    policy = evidence_policy()
    skip = policy.channels - policy.components if recipe == "skip" else 0
    return evidence_config(seed=seed, network=NetworkConfig(in_channels=policy.channels, evidence_skip=skip).to_dict())


def fold_sources(scenes, held, unlabelled) -> dict:
    """A fold's training scenes: every unlabelled scene and the labelled ones not held out."""
    return dict(unlabelled) | {s["name"]: s["path"] for s in scenes if s["group"] not in held}


def run_fold(scenes, held, unlabelled, seed, results, out_path, recipe):
    from hadinfer.detectors.network import NetworkDetector
    from hadinfer.training.adapt import fine_tune, train_general

    started = time.perf_counter()
    model, report, provenance = train_general(fold_sources(scenes, held, unlabelled),
                                              config=recipe_config(recipe, seed))
    train_s = time.perf_counter() - started
    meta = {"input": _policy_meta(), "provenance": {"name": f"fold-model seed {seed}"}}
    for scene in (s for s in scenes if s["group"] in held):
        t = time.perf_counter()
        general = hadinfer.detect(scene["path"], detector=NetworkDetector.from_torch(model, meta), device="cpu")
        test_s = time.perf_counter() - t
        t = time.perf_counter()
        tuned, _, _ = fine_tune(scene["path"], (model, meta))
        tune_s = time.perf_counter() - t
        t = time.perf_counter()
        adapted = hadinfer.detect(scene["path"], detector=NetworkDetector.from_torch(tuned, meta), device="cpu")
        adapt_test_s = time.perf_counter() - t
        results.setdefault(scene["name"], {}).setdefault("general", {})[str(seed)] = \
            score(general.scores, scene) | {"test_s": round(test_s, 3), "fold_train_s": round(train_s, 1)}
        results[scene["name"]].setdefault("adapt", {})[str(seed)] = \
            score(adapted.scores, scene) | {"train_s": round(tune_s, 2), "test_s": round(adapt_test_s, 3)}
        print(f"seed {seed} {scene['name']}: general {results[scene['name']]['general'][str(seed)]['auc_df']:.4f} "
              f"adapt {results[scene['name']]['adapt'][str(seed)]['auc_df']:.4f} ({tune_s:.1f} s)", flush=True)
    out_path.write_text(json.dumps(results, indent=1))


def _policy_meta():
    from hadinfer.training.adapt import evidence_policy

    return evidence_policy().metadata()


def summarise(scenes, results, nested: dict | None = None) -> str:
    """Markdown: one row per scene (paired files averaged), mean and spread over seeds.

    ``nested`` maps file names to the fusion's nested leave-one-group-out AUC
    (``fusion_selection.json``): the selection-free fusion figure.
    """
    nested = nested or {}
    units: dict[str, list[str]] = {}
    for s in scenes:
        units.setdefault(s["group"] if s["group"] == "salinas" else s["name"], []).append(s["name"])
    methods = ["grx", "lrx", "fusion", "general", "adapt"]

    def per_seed(name, method, metric):
        entry = results.get(name, {}).get(method, {})
        return {k: v[metric] for k, v in entry.items()}

    def unit_values(files, method, metric):
        seeds = sorted(set.intersection(*[set(per_seed(f, method, metric)) for f in files]) or [])
        return [np.mean([per_seed(f, method, metric)[s] for f in files]) for s in seeds]

    lines = ["| scene | GRX | LRX (5,21) | fusion (default windows) | fusion, nested | general (mean ± sd, seeds) | "
             "adapt (mean ± sd) | best of GRX, LRX | general − best | AUC(F,τ) GRX | AUC(F,τ) general |",
             "|" + "---|" * 11]
    columns_nested = []
    columns = {m: [] for m in methods + ["best"]}
    ft = {"grx": [], "general": []}
    for unit, files in units.items():
        cells, values = [], {}
        for m in methods:
            v = unit_values(files, m, "auc_df")
            values[m] = float(np.mean(v)) if v else float("nan")
            columns[m].append(values[m])
            cells.append("—" if not v else (f"{np.mean(v):.4f}" if len(v) == 1 and m in ("grx", "lrx", "fusion")
                                            else f"{np.mean(v):.4f} ± {np.std(v):.4f} ({len(v)})"))
            if m == "fusion":
                known = [nested[f] for f in files if f in nested]
                columns_nested.append(np.mean(known) if len(known) == len(files) else np.nan)
                cells.append(f"{columns_nested[-1]:.4f}" if np.isfinite(columns_nested[-1]) else "—")
        best = max(values["grx"], values["lrx"])
        columns["best"].append(best)
        f_grx, f_gen = unit_values(files, "grx", "auc_ft"), unit_values(files, "general", "auc_ft")
        ft["grx"].append(np.mean(f_grx) if f_grx else np.nan)
        ft["general"].append(np.mean(f_gen) if f_gen else np.nan)
        lines.append(f"| {unit} | " + " | ".join(cells) + f" | {best:.4f} | {values['general'] - best:+.4f} | "
                     f"{ft['grx'][-1]:.4f} | {ft['general'][-1]:.4f} |")
    means = [f"{np.nanmean(columns[m]):.4f}" for m in methods]
    means.insert(3, f"{np.nanmean(columns_nested):.4f}" if np.isfinite(columns_nested).any() else "—")
    lines.append("| **mean** | " + " | ".join(f"**{m}**" for m in means)
                 + f" | **{np.nanmean(columns['best']):.4f}** | | {np.nanmean(ft['grx']):.4f} | "
                   f"{np.nanmean(ft['general']):.4f} |")
    seeds = sorted({s for u in results.values() for s in u.get("general", {})})
    spread = []
    for method in ("general", "adapt"):
        per = [np.mean([np.mean([results[f][method][s]["auc_df"] for f in files]) for files in units.values()])
               for s in seeds if all(s in results.get(f, {}).get(method, {}) for fs in units.values() for f in fs)]
        if per:
            spread.append(f"- {method}: mean over scenes per seed " + ", ".join(f"{p:.4f}" for p in per)
                          + f" (sd {np.std(per):.4f})")
    return "\n".join(lines + [""] + spread) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "unseen")
    parser.add_argument("--classical-only", action="store_true")
    parser.add_argument("--recipe", choices=["plain", "skip"], default="skip",
                        help="evidence recipe without or with the fusion skip connection")
    parser.add_argument("--only-folds", default=None,
                        help="comma-separated fold indices to run (e.g. the tuning folds 0,1)")
    args = parser.parse_args(argv)
    if not (args.data / "had" / "MANIFEST.tsv").is_file():
        print(f"no labelled scenes under {args.data}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    out_path = args.out / "unseen.json"
    results = json.loads(out_path.read_text()) if out_path.is_file() else {}
    scenes = labelled_scenes(args.data)
    for scene in scenes:
        for method, params in CLASSICAL.items():
            if method not in results.get(scene["name"], {}):
                result = hadinfer.detect(scene["path"], device="cpu", **params)
                results.setdefault(scene["name"], {})[method] = {"-": score(result.scores, scene)}
    out_path.write_text(json.dumps(results, indent=1))
    groups = sorted({s["group"] for s in scenes})
    folds = [groups[i::args.folds] for i in range(args.folds)]
    chosen = range(args.folds) if args.only_folds is None else [int(i) for i in args.only_folds.split(",")]
    if not args.classical_only:
        unlabelled = unlabelled_scenes(args.data)
        for seed in (int(s) for s in args.seeds.split(",")):
            for held in (folds[i] for i in chosen):
                names = [s["name"] for s in scenes if s["group"] in held]
                if all(str(seed) in results.get(n, {}).get("adapt", {}) for n in names):
                    continue
                run_fold(scenes, set(held), unlabelled, seed, results, out_path, args.recipe)
    selection = ROOT / "benchmarks" / "results" / "unseen" / "fusion_selection.json"
    nested = json.loads(selection.read_text())["nested"] if selection.is_file() else {}
    scored = [s for s in scenes if results.get(s["name"], {}).get("general")] or scenes  # one scene set per row
    table = summarise(scored, results, nested)
    confirmation = [s for s in scored if not any(s["group"] in folds[i] for i in TUNING_FOLDS if i < len(folds))]
    if confirmation and len(confirmation) < len(scored):
        table += ("\n## Confirmation scenes only\n\nThe recipe's one labelled-scene choice (the fusion skip, "
                  f"``benchmarks/results/unseen-tuning/``) was made on folds {', '.join(map(str, TUNING_FOLDS))}; "
                  "these are the other folds, scored once, afterwards.\n\n" + summarise(confirmation, results, nested))
    header = (f"# Unseen-scene accuracy ({machine_label()})\n\nAUC(D,F) per scene (the two Salinas files averaged as one "
              "scene); fusion (default windows) is in-sample for its window choice, fusion nested is not "
              "(``fusion_selection.md``).\n\n"
              f"`python benchmarks/unseen.py --recipe {args.recipe} --seeds {args.seeds} --folds {args.folds}"
              + (f" --only-folds {args.only_folds}" if args.only_folds else "") + "`; folds: "
              + "; ".join(", ".join(f) for f in folds) + ".\n\n")
    (args.out / "unseen.md").write_text(header + table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
