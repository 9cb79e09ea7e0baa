"""Band positions for ``learned`` (issue 18, item 3): evenly spaced, or where the bands really are.

    python benchmarks/band_positions.py

Two views of every labelled file make its band spacing uneven (``gaps``: the bands at 42-48 %
and 62-70 % of the range removed, where water absorption takes them on AVIRIS-like
sensors; ``fine then coarse``: every band of the first half, every third of the second),
and the shipped ``learned-v3.npz`` scores each view twice: with the kept bands evenly spaced
on the canonical grid (``even``, the runtime's behaviour when a file has no wavelengths) and
at their true relative positions (``positions``: the labelled files carry no wavelengths,
but their bands are nearly evenly spaced, so a band's index stands in for its wavelength).
The plan and its rule were fixed before this ran:
``benchmarks/results/learned-features/band-positions-plan.md``.  The tuning files decide;
the confirmation files' figures choose nothing.  Masks are read only to score.
"""

from __future__ import annotations

import json

import numpy as np

import hadinfer
from hadinfer.detectors.learned_features import LearnedFeatureRX
from design_stages import mean, table  # benchmarks/, beside this script
from learned_features import OUT, TUNING_GROUPS, auc
from unseen import DATA, labelled_scenes

#: Rule 2 of the plan: the least gain of ``positions`` over ``even`` (mean over both views of
#: the tuning files) and the largest loss on any tuning file and view.
LEAST_GAIN, LARGEST_LOSS = 0.001, 0.005


def views(bands: int) -> dict[str, np.ndarray]:
    """0-based band indices of each uneven view of a file with ``bands`` bands."""
    index = np.arange(bands)
    where = index / (bands - 1)
    gaps = index[~(((where >= 0.42) & (where <= 0.48)) | ((where >= 0.62) & (where <= 0.70)))]
    half = bands // 2
    return {"gaps": gaps, "fine then coarse": np.concatenate([index[:half], index[half::3]])}


def score_file(scene: dict) -> dict:
    """AUC(D,F) of GRX, ``fusion`` and both arms of ``learned`` on each view of one file."""
    from hadinfer.io import open_scene

    with open_scene(scene["path"]) as opened:
        bands = opened.info.shape[2]
    row = {}
    for view, kept in views(bands).items():
        selection = ",".join(str(i + 1) for i in kept)
        arms = {"grx": "grx", "fusion": "fusion", "even": LearnedFeatureRX(),
                "positions": LearnedFeatureRX(band_centres=kept.astype(float))}
        for arm, detector in arms.items():
            scores = hadinfer.detect(scene["path"], detector=detector, device="cpu", bands=selection).scores
            row[f"{view}/{arm}"] = auc(scores, scene)
    return row


def decide(rows: dict, names: list[str]) -> list[str]:
    """Rule 2 of the plan on the tuning files."""
    pairs = [(n, v) for n in rows for v in names]
    gain = float(np.mean([rows[n][f"{v}/positions"] - rows[n][f"{v}/even"] for n, v in pairs]))
    worst = min(((rows[n][f"{v}/positions"] - rows[n][f"{v}/even"]), f"{n}, {v}") for n, v in pairs)
    passed = gain >= LEAST_GAIN and worst[0] >= -LARGEST_LOSS
    return [f"Rule 2: positions - even, mean over both views {gain:+.4f} (needs >= +{LEAST_GAIN}); worst "
            f"{worst[0]:+.4f} ({worst[1]}; needs >= -{LARGEST_LOSS}): "
            + ("**passed**: the runtime places bands at their wavelengths when a file has them" if passed
               else "**not passed**: the runtime keeps bands evenly spaced"), ""]


def main() -> int:
    scenes = labelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no labelled scenes under {DATA}")
    rows = {"tuning": {}, "confirmation": {}}
    for s in scenes:
        stage = "tuning" if s["group"] in TUNING_GROUPS else "confirmation"
        rows[stage][s["name"]] = score_file(s)
        print(s["name"], {k: round(v, 4) for k, v in rows[stage][s["name"]].items()}, flush=True)
    names = list(views(10))
    columns = [f"{v}/{arm}" for v in names for arm in ("grx", "fusion", "even", "positions")]
    lines = ["# Band positions for `learned`: evenly spaced, or at the bands' true relative positions", "",
             "`python benchmarks/band_positions.py` (plan: `band-positions-plan.md`). AUC(D,F) of the shipped "
             "`learned-v3.npz` with the kept bands evenly spaced (`even`) or at their index's relative position "
             "(`positions`), GRX and `fusion` on the same bands.", ""]
    lines += table(rows["tuning"], columns, "Tuning files (they decide; `learned-v3` trained on them, both arms alike)")
    lines += decide(rows["tuning"], names)
    lines += table(rows["confirmation"], columns, "Confirmation files (looked at once, choose nothing)")
    for stage in rows:
        for v in names:
            lines.append(f"- {stage}, {v}: positions - even {mean(rows[stage], f'{v}/positions') - mean(rows[stage], f'{v}/even'):+.4f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "band-positions.json").write_text(json.dumps(rows, indent=1) + "\n")
    (OUT / "band-positions.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
