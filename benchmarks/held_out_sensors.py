"""``learned``'s recipe trained without the eight unlabelled scenes, scored where they are the test.

    python benchmarks/held_out_sensors.py [--models /tmp/hos]

The networks (``held-out-sensors-seed{0,1,2}.npz``, made by the command in
``benchmarks/results/learned-features/held-out-sensors-plan.md``: the shipped recipe, sources
the five tuning files and eight generated scenes) never saw the unlabelled scenes, neither as
backgrounds nor as implants.  Each is scored through ``hadinfer.detect(detector="learned",
model=...)`` on the implanted check (``implanted_check.py``, unchanged) and on the seven
confirmation files, beside ``fusion`` and the shipped ``learned-v3``.  It chooses nothing.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

import hadinfer
from design_stages import mean, table, write_results  # benchmarks/, beside this script
from implanted_check import SIZES, implanted_rows
from learned_features import TUNING_GROUPS, auc
from unseen import DATA, labelled_scenes

SEEDS = (0, 1, 2)


def detectors(models: Path) -> dict:
    """``fusion``, the shipped ``learned`` and each held-out network, as ``hadinfer.detect`` parameters."""
    out = {"fusion": {"detector": "fusion"}, "learned-v3": {"detector": "learned"}}
    for seed in SEEDS:
        out[f"held-out/seed{seed}"] = {"detector": "learned", "model": str(models / f"held-out-sensors-seed{seed}.npz")}
    return out


def with_seed_mean(rows: dict) -> dict:
    """Each row with ``held-out`` (the mean over seeds) added."""
    for row in rows.values():
        row["held-out"] = float(np.mean([row[f"held-out/seed{s}"] for s in SEEDS]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("/tmp/hos"), help="folder of the three model files")
    models = parser.parse_args().models
    chosen = detectors(models)
    implanted = {size: with_seed_mean(rows) for size, rows in implanted_rows(chosen).items()}
    confirmation = {}
    for s in labelled_scenes(DATA):
        if s["group"] not in TUNING_GROUPS:
            confirmation[s["name"]] = {name: auc(hadinfer.detect(s["path"], device="cpu", **params).scores, s)
                                       for name, params in chosen.items()}
    with_seed_mean(confirmation)
    columns = ["fusion", "learned-v3"] + [f"held-out/seed{s}" for s in SEEDS] + ["held-out"]
    lines = ["# `learned`'s recipe without the eight unlabelled scenes (held-out sensors and places)", "",
             "`python benchmarks/held_out_sensors.py` (plan: `held-out-sensors-plan.md`). AUC(D,F). `learned-v3` "
             "trained on the unlabelled scenes with this generator's implants (in-sample on the implanted check); "
             "`held-out/seedN` never saw them.", ""]
    for size in SIZES:
        lines += table(implanted[size], columns, f"Implanted check, {size} regions (mean of three draws)")
    lines += table(confirmation, columns, "Confirmation files (no network here trained on them)")
    spread = {where: float(np.std([mean(rows, f"held-out/seed{s}") for s in SEEDS], ddof=1))
              for where, rows in [*implanted.items(), ("confirmation", confirmation)]}
    lines += ["Seeds' spread of the held-out networks' means (sd): "
              + ", ".join(f"{k} {v:.4f}" for k, v in spread.items()), ""]
    files = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(models.glob("held-out-sensors-*.npz"))}
    return write_results("held-out-sensors", {"models_sha256": files, "implanted": implanted,
                                              "confirmation": confirmation, "spread": spread}, lines)


if __name__ == "__main__":
    raise SystemExit(main())
