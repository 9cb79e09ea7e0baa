"""Design Q: small objects by their shape, from area openings and closings; nothing learned.

    python benchmarks/attribute_profile.py            # the design, as its plan fixed it
    python benchmarks/attribute_profile.py --shipped  # the registered ``fusion-area`` detector, every file

Each of the scene's 3 leading whitened principal components ``f`` gives the area differential
``D_a(f) = (f - opening_a(f)) + (closing_a(f) - f)``: how far a pixel stands above (below)
everything around it within a connected region smaller than ``a`` pixels (the attribute
filters of the anomaly-detection literature, e.g. AED).  ``A_a`` sums them over the
components; ``Q-a`` is the geometric mean of ``fusion`` and ``A_a + mean(A_a)``.  a = 16, 64,
256 and the rules that decide were fixed in
``benchmarks/results/learned-features/attribute-profile-plan.md`` before this script existed.
The tuning files choose; the confirmation files are scored once, only if an ``a`` passed,
with the shipped ``learned-v3.npz`` itself.  ``--shipped`` scores the form that streams (the
offset a constant fixed from the unlabelled scenes, the plan's addendum) through
``hadinfer.detect`` on every labelled file, with rule 2 again on the tuning files.  Masks are
read only to score.  Needs scikit-image (the ``bench`` extra): its max-tree area filters are
exact and fast.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import hadinfer
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.kernels.whitening import pca_whitening
from design_stages import mean, rule_two, run_map_design, table, write_results  # benchmarks/, beside this script
from learned_features import TUNING_GROUPS, auc, classical_maps, with_fusion
from paired_uncertainty import compare, describe
from unseen import DATA, labelled_scenes

AREAS = (16, 64, 256)
COMPONENTS = 3
#: Rule 2: the least gain over plain ``fusion`` on the tuning mean, the largest loss on a tuning file.
LEAST_GAIN, LARGEST_LOSS = 0.003, 0.005


def area_differential(image: np.ndarray, area: int) -> np.ndarray:
    """``(f - opening_a(f)) + (closing_a(f) - f)`` of one image: its bright and dark regions under ``area`` pixels."""
    from skimage.morphology import area_closing, area_opening

    return (image - area_opening(image, area, connectivity=1)) + (area_closing(image, area, connectivity=1) - image)


def leading_components(cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The scene's :data:`COMPONENTS` leading whitened principal components, as images (invalid pixels 0)."""
    stats = BackgroundStats(cube.shape[2]).update_window(cube, valid)
    centre, projection = pca_whitening(stats, COMPONENTS)
    images = np.zeros(valid.shape + (COMPONENTS,))
    images[valid] = (cube[valid].astype(np.float64) - centre) @ projection
    return images


def attribute_maps(cube: np.ndarray, valid: np.ndarray) -> dict:
    """``A_a`` for every ``a`` of :data:`AREAS`: the area differentials summed over the components; nodata NaN."""
    components = leading_components(cube, valid)
    maps = {}
    for a in AREAS:
        total = sum(area_differential(components[..., k], a) for k in range(COMPONENTS))
        maps[f"area{a}"] = np.where(valid, total, np.nan)
    return maps


def combined(maps: dict, base: str) -> dict:
    """``base`` x (``A_a`` + its mean) by the geometric mean, for every ``a``."""
    return {f"{base}x{a}": with_fusion(maps[f"area{a}"] + np.nanmean(maps[f"area{a}"]), maps[base]) for a in AREAS}


def timed_auc(scene: dict, detector: str) -> tuple[float, float]:
    """AUC(D,F) of ``detector``'s map of the file through :func:`hadinfer.detect`, and the run's seconds."""
    start = time.perf_counter()
    scores = hadinfer.detect(scene["path"], detector=detector, device="cpu").scores.astype(np.float64)
    return auc(scores, scene), time.perf_counter() - start


def shipped() -> int:
    """The registered ``fusion-area`` detector against GRX, LRX, ``fusion`` and ``learned`` on every labelled file."""
    scenes = labelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no labelled scenes under {DATA}")
    detectors = ("fusion", "fusion-area", "learned")
    rows, seconds = {"tuning": {}, "confirmation": {}}, {d: 0.0 for d in detectors}
    for s in scenes:
        row = {k: auc(m, s) for k, m in classical_maps(s).items() if k != "fusion"}
        for d in detectors:
            row[d], took = timed_auc(s, d)
            seconds[d] += took
        rows["tuning" if s["group"] in TUNING_GROUPS else "confirmation"][s["name"]] = row
        print(s["name"], {k: round(v, 4) for k, v in row.items()}, flush=True)
    columns = ["grx", "lrx", "fusion", "fusion-area", "learned"]
    chosen, verdict = rule_two(rows["tuning"], {"64": "fusion-area"}, least_gain=LEAST_GAIN,
                               largest_loss=LARGEST_LOSS)
    confirmation = rows["confirmation"]
    real = {n: r for n, r in confirmation.items() if not n.startswith("salinas")}
    lines = ["# Design Q as shipped: the `fusion-area` detector, every labelled file", "",
             "`python benchmarks/attribute_profile.py --shipped` (plan: `attribute-profile-plan.md`, addendum). "
             "AUC(D,F), every map from `hadinfer.detect`; `fusion-area` is `fusion` x (`A_64` + 0.6); `learned` is "
             "the shipped `learned-v3.npz` (trained on the tuning files' cubes, never on the confirmation files).", ""]
    lines += table(rows["tuning"], columns, "Tuning files (chose the area; rule 2 again)") + verdict
    lines += table(confirmation, columns, "Confirmation files (seen a second time for this design: see the plan)")
    lines += ["- " + describe(compare(confirmation, a, b)) for a, b in
              [("fusion-area", "fusion"), ("fusion-area", "learned"), ("fusion-area", "grx"), ("fusion-area", "lrx")]]
    lines += [f"- the five real scenes (no Salinas implants): `fusion` {mean(real, 'fusion'):.4f}, `fusion-area` "
              f"{mean(real, 'fusion-area'):.4f}, `learned` {mean(real, 'learned'):.4f}",
              "- worst file against the better of GRX and LRX: " + ", ".join(
                  f"`{d}` {min(r[d] - max(r['grx'], r['lrx']) for r in confirmation.values()):+.4f}"
                  for d in detectors),
              "- seconds in this process over the twelve files (one run each, warm after the first): " + ", ".join(
                  f"`{d}` {seconds[d]:.2f}" for d in detectors), ""]
    return write_results("attribute-profile-shipped", {"passed": chosen is not None, "rows": rows, "seconds": seconds},
                         lines)


def main() -> int:
    if "--shipped" in sys.argv[1:]:
        return shipped()
    header = ["# Design Q: attribute profiles (area openings and closings), no training", "",
              "`python benchmarks/attribute_profile.py` (plan: `attribute-profile-plan.md`). AUC(D,F); `areaA` sums, "
              "over the 3 leading whitened components, each one's area differential (opening and closing with "
              "area threshold A pixels); `fusionxA` is its geometric mean with `fusion` after adding its mean "
              "(design Q-A); `untrained` is `fusion` x an untrained feature network's fusion (the `learned` "
              "detector's form), mean over seeds 0, 1, 2.", ""]
    return run_map_design("attribute-profile", header, "area", AREAS, design_maps=attribute_maps, combined=combined,
                          least_gain=LEAST_GAIN, largest_loss=LARGEST_LOSS,
                          meta={"areas": AREAS, "components": COMPONENTS})


if __name__ == "__main__":
    raise SystemExit(main())
