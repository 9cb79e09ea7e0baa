"""The shipped `learned` file (or another detector) against `fusion` when the sensor changes: fewer or other bands.

    python benchmarks/band_robustness.py                          # learned
    python benchmarks/band_robustness.py --detector fusion-area   # the training-free design Q

Each confirmation file (none of which the shipped file trained on) is scored as it is and as
other sensors would see it, by selecting bands (``hadinfer.detect(..., bands=...)``):

- ``every 2nd``: half the spectral sampling over the same range;
- ``first 60 %`` / ``last 60 %``: a sensor covering only the blue or the red end of the range;
- ``every 3rd of the middle 80 %``: coarse sampling over a narrower range.

Nothing is tuned or chosen here: the file, the fusion and the views are fixed beforehand, and
the masks are read only to score.  It asks whether `learned`'s edge over `fusion` on unseen
scenes (issue 18) survives a change of sensor, which the issue's external scenes showed
`general` did not.  Results: ``benchmarks/results/learned-features/band-robustness-<shipped file>.{json,md}``
(``band-robustness-<detector>`` for another detector).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import hadinfer
from learned_features import OUT, TUNING_GROUPS  # benchmarks/, beside this script
from unseen import DATA, labelled_scenes

#: The baselines every view scores; the candidate (``--detector``) is compared with ``fusion``.
BASELINES = ("grx", "fusion")


def views(bands: int) -> dict[str, str]:
    """1-based band selections of a file with ``bands`` bands, by view name."""
    def listed(indices) -> str:
        return ",".join(str(i + 1) for i in indices)

    keep = int(round(0.6 * bands))
    middle = range(int(0.1 * bands), int(0.9 * bands))
    return {"all bands": f"1-{bands}", "every 2nd": listed(range(0, bands, 2)),
            "first 60 %": f"1-{keep}", "last 60 %": f"{bands - keep + 1}-{bands}",
            "every 3rd of the middle 80 %": listed(list(middle)[::3])}


def main() -> None:
    from hadinfer.io import open_scene
    from hadinfer.io.bands import parse_band_spec

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="learned", help="the candidate against fusion (default learned)")
    candidate = parser.parse_args().detector

    scenes = [s for s in labelled_scenes(DATA) if s["group"] not in TUNING_GROUPS]
    rows = {}
    for s in scenes:
        with open_scene(s["path"]) as scene:
            bands = scene.info.shape[2]
        for view, selection in views(bands).items():
            row = rows.setdefault(s["name"], {}).setdefault(view, {"bands": len(parse_band_spec(selection, bands))})
            for name in BASELINES + (candidate,):
                scores = hadinfer.detect(s["path"], detector=name, device="cpu", bands=selection).scores
                row["candidate" if name == candidate else name] = hadinfer.evaluate(
                    scores, s["path"], key=s["truth_key"])["auc_df"]
        print(s["name"], {v: round(r["candidate"] - r["fusion"], 4) for v, r in rows[s["name"]].items()}, flush=True)
    write(rows, candidate)


def write(rows: dict, candidate: str) -> None:
    """Two tables: means per view, and the candidate − fusion per file and view."""
    from hadinfer.weights import shipped_model

    label = f"`{candidate}`" if candidate != "learned" else f"The shipped `learned` file ({shipped_model('learned').name})"
    names = list(next(iter(rows.values())))
    flag = "" if candidate == "learned" else f" --detector {candidate}"
    lines = [f"# {label} against `fusion` under other band sets", "",
             f"`python benchmarks/band_robustness.py{flag}`: the seven confirmation files, AUC(D,F), every map from "
             "`hadinfer.detect` with the shipped files and `bands=`.", "",
             f"| view | mean GRX | mean fusion | mean {candidate} | {candidate} − fusion | worst file ({candidate} − "
             f"fusion) | worst file ({candidate} − GRX) |", "|---|---|---|---|---|---|---|"]
    for view in names:
        mean = {d: float(np.mean([rows[s][view][d] for s in rows])) for d in BASELINES + ("candidate",)}
        gap = {s: rows[s][view]["candidate"] - rows[s][view]["fusion"] for s in rows}
        below_grx = {s: rows[s][view]["candidate"] - rows[s][view]["grx"] for s in rows}
        worst, worst_grx = min(gap, key=gap.get), min(below_grx, key=below_grx.get)
        lines.append(f"| {view} | {mean['grx']:.4f} | {mean['fusion']:.4f} | {mean['candidate']:.4f} "
                     f"| {mean['candidate'] - mean['fusion']:+.4f} | {worst} ({gap[worst]:+.4f}) "
                     f"| {worst_grx} ({below_grx[worst_grx]:+.4f}) |")
    lines += ["", f"{candidate} − fusion, per file (GRX / fusion / {candidate} as `candidate` in the `.json` beside "
              "this file):", "", "| file | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s, by_view in rows.items():
        lines.append(f"| {s} | " + " | ".join(f"{r['candidate'] - r['fusion']:+.4f}" for r in by_view.values()) + " |")
    # One table per shipped learned file, one per other detector.
    stem = f"band-robustness-{shipped_model('learned').stem if candidate == 'learned' else candidate}"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps({"candidate": candidate, "rows": rows}, indent=1))
    (OUT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
