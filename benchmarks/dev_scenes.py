"""Accuracy and time of hadinfer's detectors on the real dev scenes, one table.

    python benchmarks/dev_scenes.py                      # grx, lrx and the shipped model
    python benchmarks/dev_scenes.py --detectors grx --data DIR --out results/dev-scenes

``general`` is the shipped model on ONNX Runtime (CPU); ``general-fp16`` the same
checkpoint exported to FP16 on the fly (needs the ``export`` extra).

Each scene is read from its ``.mat`` file, scored by ``hadinfer.detect`` and evaluated
against its mask with ``hadinfer.evaluate`` (the mask is read only to score).
Writes ``dev_scenes.json`` and ``dev_scenes.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import hadinfer
from machine import machine_label  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
DETECTORS = {
    "grx": {"detector": "grx"},
    "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
    "fusion": {"detector": "fusion"},
    "general": {"detector": "general"},
    "general-fp16": {},  # the detector is the FP16 file fp16_model() writes
}


def fp16_model(folder: Path) -> str:
    """The shipped checkpoint exported to an FP16 ONNX model in ``folder``."""
    from hadinfer.export.onnx_export import export_onnx
    from hadinfer.weights import shipped_model

    return str(export_onnx(shipped_model("general", checkpoint=True), folder / "general-fp16.onnx", fp16=True))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "had")
    parser.add_argument("--detectors", default="grx,lrx,fusion,general")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dev-scenes")
    args = parser.parse_args(argv)
    manifest = args.data / "MANIFEST.tsv"
    if not manifest.is_file():
        print(f"no MANIFEST.tsv in {args.data}", file=sys.stderr)
        return 1
    with open(manifest, newline="") as fh:
        scenes = list(csv.DictReader(fh, delimiter="\t"))
    rows = []
    workdir = tempfile.TemporaryDirectory()  # removed when the script exits
    for name in args.detectors.split(","):
        params = dict(DETECTORS[name])
        if name == "general-fp16":
            params["detector"] = fp16_model(Path(workdir.name))
        for scene in scenes:
            path = args.data / scene["file"]
            start = time.perf_counter()
            result = hadinfer.detect(path, device="cpu", key=scene["data_key"], **params)
            seconds = time.perf_counter() - start
            metrics = hadinfer.evaluate(result.scores, path, key=scene["gt_key"])
            rows.append({"detector": name, "scene": scene["file"].removesuffix(".mat"), "seconds": seconds,
                         **{k: metrics[k] for k in ("auc_df", "auc_dt", "auc_ft", "snpr", "snpr_db")}})
            print(f"{name} {rows[-1]['scene']}: AUC {metrics['auc_df']:.4f}", file=sys.stderr)
    means = []
    for name in args.detectors.split(","):
        mine = [r for r in rows if r["detector"] == name]
        means.append({"detector": name, "scene": "mean",
                      **{k: sum(r[k] for r in mine) / len(mine)
                         for k in ("seconds", "auc_df", "auc_dt", "auc_ft", "snpr", "snpr_db")}})
    meta = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine_label(),
            "command": "python benchmarks/dev_scenes.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "params": {k: DETECTORS[k] for k in args.detectors.split(",")}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dev_scenes.json").write_text(json.dumps({"meta": meta, "rows": rows + means}, indent=2) + "\n")
    lines = [f"# Dev scenes ({meta['date']}, {meta['machine']}, CPU)", "", f"`{meta['command']}`", "",
             "| detector | scene | AUC(D,F) | AUC(D,τ) | AUC(F,τ) | SNPR | SNPR dB | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows + means:
        lines.append(f"| {r['detector']} | {r['scene']} | {r['auc_df']:.4f} | {r['auc_dt']:.4f} | {r['auc_ft']:.4f} "
                     f"| {r['snpr']:.2f} | {r['snpr_db']:.2f} | {r['seconds']:.2f} |")
    (args.out / "dev_scenes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
