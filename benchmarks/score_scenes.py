"""Every detector on your own labelled scenes: one table per scene, means, and paired comparisons.

    python benchmarks/score_scenes.py scenes.tsv [--detectors fusion,fusion-area,fusion-peaks,learned,grx,lrx]
                                                 [--out DIR]

For the scenes we do not have (the team's external ones): ``scenes.tsv`` lists one scene a
line, tab-separated, with a header.  Either ``scene`` and ``truth`` (any raster GDAL reads or a
``.mat`` file, and its mask: nonzero = anomaly), with optional ``scene_key`` and ``truth_key``
for ``.mat`` variables, or the shared data's ``MANIFEST.tsv`` columns (``file``, ``data_key``,
``gt_key``: scene and mask in one ``.mat`` file).  Relative paths are read from the list's folder.

Each scene is scored by ``hadinfer.detect`` with every detector as registered (LRX at (5,21)
on 10 components, the issue tables' setting) and evaluated with ``hadinfer.evaluate``; the mask
is read only to score.  Prints and writes ``score_scenes.md`` and ``.json`` (AUC(D,F) per scene
and detector, seconds, the paired bootstrap interval and sign-flip p of each detector against
``fusion``, and each detector's worst scene against the better of GRX and LRX; the seconds
include each detector's first-call loading, e.g. Numba's).  Nothing is chosen: it says
whether what our files showed holds on yours.
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
from hadinfer.detectors import registered
from machine import machine_label  # benchmarks/, beside this script
from paired_uncertainty import compare, describe

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DETECTORS = "fusion,fusion-area,fusion-peaks,learned,grx,lrx"
PARAMS = {"lrx": {"inner": 5, "outer": 21, "n_components": 10}}


def read_list(path: Path) -> list[dict]:
    """The scenes of a list: ``{"name", "scene", "truth", "scene_key", "truth_key"}`` each.

    Raises
    ------
    SystemExit
        With a one-line message: no such list, a missing column or file.
    """
    if not path.is_file():
        raise SystemExit(f"error: no scene list at {path}")
    with open(path, newline="") as fh:
        lines = list(csv.DictReader(fh, delimiter="\t"))
    scenes = []
    for number, line in enumerate(lines, start=2):
        if line.get("file"):  # the shared data's MANIFEST.tsv: scene and mask in one .mat file
            entry = {"scene": line["file"], "truth": line["file"], "scene_key": line.get("data_key") or None,
                     "truth_key": line.get("gt_key") or None}
        elif line.get("scene") and line.get("truth"):
            entry = {"scene": line["scene"], "truth": line["truth"], "scene_key": line.get("scene_key") or None,
                     "truth_key": line.get("truth_key") or None}
        else:
            raise SystemExit(f"error: {path}, line {number}: expected columns scene and truth (or file)")
        for role in ("scene", "truth"):
            entry[role] = path.parent / entry[role]
            if not entry[role].is_file():
                raise SystemExit(f"error: {path}, line {number}: no {role} file {entry[role]}")
        entry["name"] = Path(entry["scene"]).stem
        scenes.append(entry)
    if not scenes:
        raise SystemExit(f"error: {path} lists no scenes")
    return scenes


def score(scenes: list[dict], detectors: list[str]) -> tuple[dict, dict]:
    """``({scene: {detector: AUC(D,F)}}, {scene: {detector: seconds}})``."""
    rows, seconds = {}, {}
    for s in scenes:
        rows[s["name"]], seconds[s["name"]] = {}, {}
        for name in detectors:
            start = time.perf_counter()
            result = hadinfer.detect(s["scene"], detector=name, key=s["scene_key"], device="cpu",
                                     **PARAMS.get(name, {}))
            seconds[s["name"]][name] = time.perf_counter() - start
            rows[s["name"]][name] = hadinfer.evaluate(result.scores, s["truth"], key=s["truth_key"])["auc_df"]
        print(s["name"], {k: round(v, 4) for k, v in rows[s["name"]].items()}, file=sys.stderr, flush=True)
    return rows, seconds


def paired_against_fusion(rows: dict, detectors: list[str]) -> list[dict]:
    """:func:`compare` of every other detector against ``fusion`` (none without it or with one scene)."""
    if "fusion" not in detectors or len(rows) < 2:
        return []
    return [compare(rows, d, "fusion") for d in detectors if d != "fusion"]


def report(rows: dict, seconds: dict, detectors: list[str], paired: list[dict], command: str) -> list[str]:
    """The Markdown lines: the table, the paired comparisons against ``fusion``, the worst scenes."""
    means = {d: float(np.mean([r[d] for r in rows.values()])) for d in detectors}
    lines = [f"# Detectors on {len(rows)} labelled scenes ({machine_label()}, CPU)", "", f"`{command}`", "",
             "AUC(D,F) per scene, every map from `hadinfer.detect` (LRX at (5,21) on 10 components).", "",
             "| scene | " + " | ".join(detectors) + " |", "|---" * (len(detectors) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[d]:.4f}" for d in detectors) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{means[d]:.4f}**" for d in detectors) + " |")
    lines.append("| seconds, all scenes | " + " | ".join(
        f"{sum(s[d] for s in seconds.values()):.2f}" for d in detectors) + " |")
    lines.append("")
    lines += ["- " + describe(result) for result in paired]
    if {"grx", "lrx"} <= set(detectors):
        worst = {d: min(rows.items(), key=lambda item: item[1][d] - max(item[1]["grx"], item[1]["lrx"]))
                 for d in detectors if d not in ("grx", "lrx")}
        lines.append("- worst scene against the better of GRX and LRX: " + ", ".join(
            f"`{d}` {name} ({row[d] - max(row['grx'], row['lrx']):+.4f})" for d, (name, row) in worst.items()))
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", type=Path, help="tab-separated list of scenes and masks (see the module's help)")
    parser.add_argument("--detectors", default=DEFAULT_DETECTORS, help=f"comma list (default {DEFAULT_DETECTORS})")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "score-scenes")
    args = parser.parse_args(argv)
    detectors = [d for d in args.detectors.split(",") if d]
    known = list(registered())
    unknown = sorted(set(detectors) - set(known))
    if unknown:
        raise SystemExit(f"error: unknown detector(s) {', '.join(unknown)}; "
                         f"registered: {', '.join(known)}")
    scenes = read_list(args.scenes)
    rows, seconds = score(scenes, detectors)
    command = "python benchmarks/score_scenes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    paired = paired_against_fusion(rows, detectors)
    lines = report(rows, seconds, detectors, paired, command)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"command": command, "machine": machine_label(), "detectors": detectors, "rows": rows,
               "seconds": seconds, "paired_against_fusion": paired}
    (args.out / "score_scenes.json").write_text(json.dumps(payload, indent=1) + "\n")
    (args.out / "score_scenes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
