"""Design C of issue 18, screened on the tuning scenes: the pixel classifier with implants as
its only positives (positive-unlabelled learning).

    python benchmarks/pu_classifier.py --seeds 0

The network, input and recipe are ``general-v3``'s (``evidence_config``); the only change is
that the scene's consensus top pixels are no longer positives, so the network cannot learn
the classical detectors' mistakes as anomalies (``adapt``'s selection found that change
helps fine-tuning).  Leave-one-group-out over the tuning groups of
``learned_features.py``, each fold model trained on the eight unlabelled scenes and the
other tuning groups' cubes; the confirmation scenes are never touched here.  Results:
``benchmarks/results/learned-features/pu_tuning.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import hadinfer
from learned_features import OUT, TUNING_GROUPS, auc  # benchmarks/, beside this script
from unseen import DATA, _policy_meta, labelled_scenes, unlabelled_scenes


def main() -> None:
    from hadinfer.detectors.network import NetworkDetector
    from hadinfer.training.adapt import evidence_config, train_general

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    tuning = [s for s in labelled_scenes(DATA) if s["group"] in TUNING_GROUPS]
    unlabelled = unlabelled_scenes(DATA)
    path = OUT / "pu_tuning.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    meta = {"input": _policy_meta(), "provenance": {"name": "pu fold model"}}
    for seed in (int(v) for v in args.seeds.split(",")):
        for group in TUNING_GROUPS:
            held = [s for s in tuning if s["group"] == group]
            if all(str(seed) in results.get(s["name"], {}) for s in held):
                continue
            sources = {**unlabelled, **{s["name"]: s["path"] for s in tuning if s["group"] != group}}
            start = time.perf_counter()
            model, _, _ = train_general(sources, config=evidence_config(seed=seed), pseudo_positives=False)
            for s in held:
                scores = hadinfer.detect(s["path"], detector=NetworkDetector.from_torch(model, meta), device="cpu").scores
                results.setdefault(s["name"], {})[str(seed)] = auc(scores, s)
            path.write_text(json.dumps(results, indent=1))
            print(f"seed {seed} {group}: {time.perf_counter() - start:.0f} s", flush=True)
    tuning_rows = json.loads((OUT / "tuning.json").read_text())["rows"] if (OUT / "tuning.json").exists() else {}
    lines = ["# Design C (implants as the only positives) on the tuning scenes", "",
             f"`python benchmarks/pu_classifier.py --seeds {args.seeds}`", "",
             "| scene | fusion | PU classifier (mean over seeds) |", "|---|---|---|"]
    for s in tuning:
        fusion = tuning_rows.get(s["name"], {}).get("fusion", float("nan"))
        lines.append(f"| {s['name']} | {fusion:.4f} | {np.mean(list(results[s['name']].values())):.4f} |")
    lines.append(f"| **mean** | {np.mean([tuning_rows.get(s['name'], {}).get('fusion', np.nan) for s in tuning]):.4f} | "
                 f"{np.mean([np.mean(list(results[s['name']].values())) for s in tuning]):.4f} |")
    (OUT / "pu_tuning.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
