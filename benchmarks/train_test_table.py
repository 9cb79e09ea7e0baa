"""Per-scene train/test timing table from an ablation run: adapt next to GRX and LRX.

    python benchmarks/train_test_table.py benchmarks/results/<machine>-<date>/ablation/ablation.json

Prints Markdown and writes ``train_test.md`` beside the JSON.  Seconds are wall time on the
machine named in the JSON; adapt's train seconds include preparing the scene (statistics,
pseudo-labels), its test seconds are the full ``hadinfer.detect`` call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ADAPT = "teacher CE+AUC-M"  # the default adapt recipe's row


def table(payload: dict) -> str:
    rows = payload["rows"]
    meta = payload["meta"]

    def cell(scene, method):
        return next(r for r in rows if r["scene"] == scene and r["method"] == method)

    scenes = list(dict.fromkeys(r["scene"] for r in rows))
    lines = [f"Train/test seconds and AUC(D,F), {meta['machine']}, {meta['device']}, {meta['date']} "
             f"(`{meta['command']}`)", "",
             "| scene | GRX s | GRX AUC | LRX s | LRX AUC | adapt train s | adapt test s | adapt AUC |",
             "|---|---|---|---|---|---|---|---|"]
    for scene in scenes:
        g, lx, a = cell(scene, "GRX"), cell(scene, "LRX"), cell(scene, ADAPT)
        bold = "**" if scene == "mean" else ""
        lines.append(f"| {bold}{scene}{bold} | {g['test_seconds']:.2f} | {g['auc_df']:.4f} | {lx['test_seconds']:.2f} "
                     f"| {lx['auc_df']:.4f} | {a['train_seconds']:.1f} | {a['test_seconds']:.2f} | {a['auc_df']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(args[0])
    text = table(json.loads(path.read_text()))
    (path.parent / "train_test.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
