"""Self-training ablation on the dev scenes: classical baselines, teacher losses, students, rounds.

    python benchmarks/ablation.py                     # adapt mode, every dev scene, CPU
    python benchmarks/ablation.py --general           # also leave-one-scene-out general models
    python benchmarks/ablation.py --scenes pavia-center,san-diego --steps 100

Masks are read only to score the maps.  Writes ``ablation.json`` and ``ablation.md`` under
``benchmarks/results/<machine>-<date>/ablation/``.  The general rows use the shipped
model's recipe (:func:`hadinfer.training.adapt.general_config`), trained on the nine
other scenes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import hadinfer
from hadinfer.detectors.network import NetworkDetector
from hadinfer.training.adapt import general_config
from hadinfer.training.scene_data import prepare_scene
from hadinfer.training.trainer import TrainConfig, self_train
from machine import machine_label  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
CLASSICAL = {"GRX": {"detector": "grx"}, "LRX": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10}}
# (row label, recipe overrides, which stage of that run to score, pseudo-label source)
RUNS = [
    ("teacher CE", {"loss": "ce", "rounds": 0}, "teacher", "lrx"),
    ("teacher AUC-M", {"loss": "aucm", "rounds": 0}, "teacher", "lrx"),
    ("teacher CE+AUC-M", {"loss": "ce+aucm", "rounds": 2, "entropy_ratio": 0.2}, "teacher", "lrx"),
    ("teacher CE+AUC-M, GRX pseudo-labels", {"loss": "ce+aucm", "rounds": 0}, "teacher", "grx"),
    ("teacher CE+AUC-M, GRX+LRX pseudo-labels", {"loss": "ce+aucm", "rounds": 0}, "teacher", "both"),
    ("+ noisy student (no mask)", {"loss": "ce+aucm", "rounds": 1, "entropy_ratio": 0.0}, "student-1", "lrx"),
    ("+ entropy masks", {"loss": "ce+aucm", "rounds": 2, "entropy_ratio": 0.2}, "student-1", "lrx"),
    ("after 2 rounds", {"loss": "ce+aucm", "rounds": 2, "entropy_ratio": 0.2}, "student-2", "lrx"),
]


def score(path, detector, device, truth):
    start = time.perf_counter()
    result = hadinfer.detect(path, device=device, **detector)
    seconds = time.perf_counter() - start
    metrics = hadinfer.evaluate(result.scores, truth)
    return {**{k: metrics[k] for k in ("auc_df", "auc_dt", "auc_ft", "snpr")}, "test_seconds": seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "had")
    parser.add_argument("--scenes", default=None, help="comma list of scene names (default: all)")
    parser.add_argument("--steps", type=int, default=TrainConfig().steps)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--general", action="store_true", help="also leave-one-scene-out general models")
    parser.add_argument("--runs", default=None, help="comma list of row labels to train (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with open(args.data / "MANIFEST.tsv", newline="") as fh:
        manifest = {r["file"].removesuffix(".mat"): r for r in csv.DictReader(fh, delimiter="\t")}
    names = args.scenes.split(",") if args.scenes else list(manifest)
    rows = []
    prepared = {}
    for name in names:
        path = args.data / f"{name}.mat"
        truth, _ = hadinfer.read_mask(path, key=manifest[name]["gt_key"])
        for label, params in CLASSICAL.items():
            rows.append({"scene": name, "method": label, "train_seconds": 0.0, **score(path, params, args.device, truth)})
        scenes, prepare_seconds, cache = {}, {}, {}
        for label, overrides, stage, pseudo in RUNS:
            if args.runs and label not in args.runs.split(","):
                continue
            if pseudo not in scenes:
                start = time.perf_counter()
                scenes[pseudo] = prepare_scene(path, key=manifest[name]["data_key"], pseudo=pseudo)
                prepare_seconds[pseudo] = time.perf_counter() - start
            scene = scenes[pseudo]
            key = json.dumps([overrides, pseudo], sort_keys=True)
            if key not in cache:
                models = []
                start = time.perf_counter()
                _, report = self_train([scene], TrainConfig(steps=args.steps, **overrides), stage_models=models)
                cache[key] = (dict(models), report)
            models, report = cache[key]
            seconds = prepare_seconds[pseudo] + sum(s["seconds"] for s in report["stages"]
                                            if _stage_index(s["stage"]) <= _stage_index(stage))
            detector = {"detector": NetworkDetector.from_torch(models[stage])}
            rows.append({"scene": name, "method": label, "train_seconds": seconds,
                         **score(path, detector, args.device, truth)})
            print(f"{name:20s} {label:28s} AUC {rows[-1]['auc_df']:.4f}", file=sys.stderr)
        if args.general:  # the leave-one-out runs train on LRX-labelled scenes
            prepared[name] = scenes.get("lrx") or prepare_scene(path, key=manifest[name]["data_key"])
    if args.general:
        recipe = general_config()
        dilations = "-".join(map(str, recipe.network["dilations"]))
        label = (f"general (leave-one-out, {recipe.steps} steps x {recipe.rounds + 1} stages"
                 f"{', rotated components' if recipe.rotate else ''}, dilations {dilations}, "
                 f"{recipe.synthetic_per_patch} implants per patch)")
        for name in names:
            path = args.data / f"{name}.mat"
            truth, _ = hadinfer.read_mask(path, key=manifest[name]["gt_key"])
            others = [prepared[n] for n in names if n != name]
            start = time.perf_counter()
            model, _ = self_train(others, recipe)
            seconds = time.perf_counter() - start
            rows.append({"scene": name, "method": label, "train_seconds": seconds,
                         **score(path, {"detector": NetworkDetector.from_torch(model)}, args.device, truth)})
            print(f"{name:20s} general AUC {rows[-1]['auc_df']:.4f}", file=sys.stderr)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    means = [{"scene": "mean", "method": m, **{k: float(np.mean([r[k] for r in rows if r["method"] == m]))
                                               for k in ("auc_df", "auc_dt", "auc_ft", "snpr", "train_seconds",
                                                         "test_seconds")}} for m in methods]
    meta = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine_label(),
            "device": args.device, "torch_threads": torch.get_num_threads(), "steps": args.steps,
            "command": "python benchmarks/ablation.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    out = args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{meta['date'][:10]}" / "ablation"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps({"meta": meta, "rows": rows + means}, indent=2) + "\n")
    lines = [f"# Self-training ablation ({meta['date']}, {meta['machine']}, {args.device})", "",
             f"`{meta['command']}`", "", "Mean over scenes:", "",
             "| method | AUC(D,F) | AUC(F,τ) | SNPR | train s | test s |", "|---|---|---|---|---|---|"]
    lines += [f"| {m['method']} | {m['auc_df']:.4f} | {m['auc_ft']:.4f} | {m['snpr']:.2f} | {m['train_seconds']:.1f} "
              f"| {m['test_seconds']:.2f} |" for m in means]
    lines += ["", "AUC(D,F) per scene:", "", "| scene | " + " | ".join(methods) + " |",
              "|---" * (len(methods) + 1) + "|"]
    for name in names:
        cells = [next(r for r in rows if r["scene"] == name and r["method"] == m)["auc_df"] for m in methods]
        lines.append(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _stage_index(stage: str) -> int:
    return 0 if stage == "teacher" else int(stage.split("-")[1])


if __name__ == "__main__":
    sys.exit(main())
