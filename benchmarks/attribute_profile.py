"""Design Q: small objects by their shape, from area openings and closings; nothing learned.

    python benchmarks/attribute_profile.py

Each of the scene's 3 leading whitened principal components ``f`` gives the area differential
``D_a(f) = (f - opening_a(f)) + (closing_a(f) - f)``: how far a pixel stands above (below)
everything around it within a connected region smaller than ``a`` pixels (the attribute
filters of the anomaly-detection literature, e.g. AED).  ``A_a`` sums them over the
components; ``Q-a`` is the geometric mean of ``fusion`` and ``A_a + mean(A_a)``.  a = 16, 64,
256 and the rules that decide were fixed in
``benchmarks/results/learned-features/attribute-profile-plan.md`` before this script existed.
The tuning files choose; the confirmation files are scored once, only if an ``a`` passed,
with the shipped ``learned-v3.npz`` itself.  Masks are read only to score.  Needs
scikit-image (the ``bench`` extra): its max-tree area filters are exact and fast.
"""

from __future__ import annotations

import numpy as np

import hadinfer
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.kernels.whitening import pca_whitening
from hadinfer.training.scene_data import read_cube
from design_stages import run_design  # benchmarks/, beside this script
from learned_features import auc, classical_maps, feature_fusion, with_fusion
from second_view import SEEDS, untrained_network

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


def tuning_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    maps.update(attribute_maps(cube, valid))
    maps.update(combined(maps, "fusion"))
    for seed in SEEDS:
        name = f"untrained/seed{seed}"
        maps[name] = with_fusion(feature_fusion(untrained_network(seed), cube, valid), maps["fusion"])
        maps.update(combined(maps, name))
    row = {k: auc(m, scene) for k, m in maps.items()}
    for suffix in [""] + [f"x{a}" for a in AREAS]:  # the seeds averaged, for the table
        row[f"untrained{suffix}"] = float(np.mean([row[f"untrained/seed{s}{suffix}"] for s in SEEDS]))
    return row


def confirmation_row(scene: dict) -> dict:
    maps = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    maps.update(attribute_maps(cube, valid))
    maps["learned"] = hadinfer.detect(scene["path"], detector="learned", device="cpu").scores.astype(np.float64)
    maps.update(combined(maps, "fusion"))
    maps.update(combined(maps, "learned"))
    return {name: auc(m, scene) for name, m in maps.items()}


def main() -> int:
    header = ["# Design Q: attribute profiles (area openings and closings), no training", "",
              "`python benchmarks/attribute_profile.py` (plan: `attribute-profile-plan.md`). AUC(D,F); `areaA` sums, "
              "over the 3 leading whitened components, each one's area differential (opening and closing with "
              "area threshold A pixels); `fusionxA` is its geometric mean with `fusion` after adding its mean "
              "(design Q-A); `untrained` is `fusion` x an untrained feature network's fusion (the `learned` "
              "detector's form), mean over seeds 0, 1, 2.", ""]
    return run_design(
        "attribute-profile", header, tuning_row=tuning_row,
        tuning_columns=["grx", "lrx", "fusion"] + [f"area{a}" for a in AREAS] + [f"fusionx{a}" for a in AREAS]
        + ["untrained"] + [f"untrainedx{a}" for a in AREAS],
        candidates={str(a): f"fusionx{a}" for a in AREAS}, least_gain=LEAST_GAIN, largest_loss=LARGEST_LOSS,
        confirmation_row=confirmation_row,
        confirmation_columns=lambda a: ["grx", "lrx", "fusion", f"area{a}", f"fusionx{a}", "learned", f"learnedx{a}"],
        pairs=lambda a: [(f"fusionx{a}", "fusion"), (f"learnedx{a}", "fusion"), (f"learnedx{a}", "learned")],
        meta={"areas": AREAS, "components": COMPONENTS})


if __name__ == "__main__":
    raise SystemExit(main())
