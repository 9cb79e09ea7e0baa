"""Design R: the area evidence's weight in ``fusion-area``, chosen so it does no harm on subtle targets.

    python benchmarks/area_weight.py

``score = fusion^(1 - w) (A_64 + 0.6)^w`` for w = 0.2 and 0.35 (w = 0.5 is design Q, for
reference), every map from ``hadinfer.detect`` (``fusion-area`` with ``weight=w``).  A weight
is eligible if it beats ``fusion`` on the tuning files (rule 2 of design Q) *and* is not more
than 0.002 below ``fusion`` on the implanted check (``implanted_check.py``) under either size
law; the eligible weight with the best tuning mean is chosen, and only then are the seven
confirmation files scored, once.  Fixed in
``benchmarks/results/learned-features/area-weight-plan.md`` before this script existed.
"""

from __future__ import annotations

import hadinfer
from design_stages import mean, table, write_results  # benchmarks/, beside this script
from implanted_check import SIZES, implanted_rows
from learned_features import TUNING_GROUPS, auc, classical_maps
from paired_uncertainty import compare, describe
from unseen import DATA, labelled_scenes

WEIGHTS = (0.2, 0.35, 0.5)
CANDIDATES = (0.2, 0.35)
LEAST_GAIN, LARGEST_LOSS, IMPLANTED_LOSS = 0.003, 0.005, 0.002


def name_of(weight: float) -> str:
    return f"area-w{weight:g}"


def detectors() -> dict:
    """``fusion`` and ``fusion-area`` at every weight, as ``hadinfer.detect`` parameters."""
    return {"fusion": {"detector": "fusion"},
            **{name_of(w): {"detector": "fusion-area", "weight": w} for w in WEIGHTS}}


def labelled_row(scene: dict) -> dict:
    row = {k: auc(m, scene) for k, m in classical_maps(scene).items()}
    for name, params in detectors().items():
        if name != "fusion":
            row[name] = auc(hadinfer.detect(scene["path"], device="cpu", **params).scores, scene)
    return row


def main() -> int:
    scenes = labelled_scenes(DATA)
    tuning = {s["name"]: labelled_row(s) for s in scenes if s["group"] in TUNING_GROUPS}
    implanted = implanted_rows(detectors())
    columns = ["grx", "lrx", "fusion"] + [name_of(w) for w in WEIGHTS]
    lines = ["# Design R: the area evidence's weight, chosen to do no harm on subtle targets", "",
             "`python benchmarks/area_weight.py` (plan: `area-weight-plan.md`). AUC(D,F); `area-wW` is `fusion-area` "
             "with weight W (0.5 is design Q).", ""]
    lines += table(tuning, columns, "Tuning files")
    for size in SIZES:
        lines += table({n: r for n, r in implanted[size].items()}, ["fusion"] + [name_of(w) for w in WEIGHTS],
                       f"Implanted check, {size} regions (mean of three draws)")
    verdicts, eligible = [], []
    for w in CANDIDATES:
        gain = mean(tuning, name_of(w)) - mean(tuning, "fusion")
        worst = min(r[name_of(w)] - r["fusion"] for r in tuning.values())
        implanted_gap = {size: mean(implanted[size], name_of(w)) - mean(implanted[size], "fusion") for size in SIZES}
        ok = gain >= LEAST_GAIN and worst >= -LARGEST_LOSS and min(implanted_gap.values()) >= -IMPLANTED_LOSS
        eligible += [w] if ok else []
        verdicts.append(f"- w = {w}: tuning {gain:+.4f} (needs >= +{LEAST_GAIN}), worst file {worst:+.4f} (needs >= "
                        f"-{LARGEST_LOSS}); implanted " + ", ".join(f"{s} {g:+.4f}" for s, g in implanted_gap.items())
                        + f" (needs >= -{IMPLANTED_LOSS} each): " + ("**eligible**" if ok else "not eligible"))
    chosen = max(eligible, key=lambda w: mean(tuning, name_of(w))) if eligible else None
    lines += ["## Rule", ""] + verdicts + ["", f"Chosen: {chosen if chosen is not None else 'none; R is dropped'}", ""]
    confirmation = {}
    if chosen is not None:
        confirmation = {s["name"]: labelled_row(s) for s in scenes if s["group"] not in TUNING_GROUPS}
        lines += table(confirmation, columns, "Confirmation files, once for this weight")
        lines += ["- " + describe(compare(confirmation, name_of(chosen), b)) for b in ("fusion", name_of(0.5))] + [""]
    return write_results("area-weight", {"weights": WEIGHTS, "chosen": chosen, "tuning": tuning,
                                         "implanted": implanted, "confirmation": confirmation}, lines)


if __name__ == "__main__":
    raise SystemExit(main())
