"""Where an untrained feature network's edge over ``fusion`` comes from (no training).

    python benchmarks/second_view.py
    python benchmarks/second_view.py --views shape   # design M, a brightness-free view

The ``learned`` detector multiplies (geometric mean) the plain fusion with the fusion of a
second view of the spectra: standardised band by band, resampled to the canonical grid,
then passed through the network.  On the confirmation files the network *untrained* gave
most of the trained file's edge (``learned-v3``'s model card).  This separates the view's
parts, each scored as the geometric mean with ``fusion``:

- ``canonical``: the canonical, standardised spectra themselves (the linear map only);
- ``projection``: those through a random linear map to 16 dimensions (seeds 0, 1, 2);
- ``untrained``: ``learned-v3``'s network before training (seeds 0, 1, 2; as
  ``learned_features.py`` scores it).

With ``--views shape`` it scores design M instead: the fusion on the unit-norm spectra
``x / ||x||`` (their shape, without their brightness), alone and with ``fusion``.

Five tuning and seven confirmation files; what the figures decide was fixed beforehand in
``benchmarks/results/learned-features/second-view-plan.md`` and ``shape-view-plan.md``.
Masks are read only to score.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from hadinfer.training.feature_learning import FeatureRecipe, canonical_pixels
from hadinfer.training.scene_data import read_cube
from learned_features import (OUT, TUNING_GROUPS, auc, classical_maps,  # benchmarks/, beside this script
                              feature_fusion, view_fusion, with_fusion)
from unseen import DATA, labelled_scenes

SEEDS = (0, 1, 2)
#: Dimensions of the random linear view: the feature network's output size.
PROJECTED = 16


def untrained_network(seed: int):
    """The feature network of the shipped recipe, initialised as the benchmark's ``train`` does."""
    import torch

    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    recipe = FeatureRecipe(objective="fusion")
    torch.manual_seed(seed)
    return SpectralFeatureNet(FeatureNetConfig(width=recipe.width, features=recipe.features,
                                               depth=recipe.depth)).eval()


def score_scene(scene: dict) -> dict:
    """AUC(D,F) of every view of one file (the classical detectors' too)."""
    classical = classical_maps(scene)
    cube, valid = read_cube(scene["path"], key=scene["key"])
    pixels = canonical_pixels(cube, valid).astype(np.float64)
    canonical = view_fusion(pixels, valid)
    row = {name: auc(m, scene) for name, m in classical.items()}
    row["canonical alone"] = auc(canonical, scene)
    row["canonical"] = auc(with_fusion(canonical, classical["fusion"]), scene)
    for seed in SEEDS:
        basis = np.random.default_rng(seed).standard_normal((pixels.shape[1], PROJECTED))
        row[f"projection/seed{seed}"] = auc(with_fusion(view_fusion(pixels @ basis, valid), classical["fusion"]), scene)
        network = feature_fusion(untrained_network(seed), cube, valid)
        row[f"untrained/seed{seed}"] = auc(with_fusion(network, classical["fusion"]), scene)
    return row


def unit_spectra(cube: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The valid spectra divided by their Euclidean norms, (P, B), and where they are (a zero spectrum has no shape)."""
    pixels = cube[valid].astype(np.float64)
    norms = np.linalg.norm(pixels, axis=1)
    shaped = valid.copy()
    shaped[valid] = norms > 0
    return pixels[norms > 0] / norms[norms > 0, None], shaped


def score_shape(scene: dict) -> dict:
    """AUC(D,F) of design M on one file: the fusion of the unit-norm spectra, alone and with ``fusion``."""
    classical = classical_maps(scene)
    shape = view_fusion(*unit_spectra(*read_cube(scene["path"], key=scene["key"])))
    row = {name: auc(m, scene) for name, m in classical.items()}
    row["shape alone"] = auc(shape, scene)
    row["shape"] = auc(with_fusion(shape, classical["fusion"]), scene)
    return row


def shape_table(rows: dict, scenes: list, title: str) -> list[str]:
    """Per-file AUCs of design M and the set's mean."""
    lines = [f"## {title}", "",
             "| file | GRX | LRX (5,21) | fusion | shape alone | **fusion × shape (M)** | M − fusion |",
             "|---|---|---|---|---|---|---|"]
    names = [s["name"] for s in scenes]
    for name in names + ["**mean**"]:
        picked = [rows[n] for n in (names if name == "**mean**" else [name])]
        mean = {k: float(np.mean([r[k] for r in picked])) for k in picked[0]}
        cells = [f"{mean[k]:.4f}" for k in ("grx", "lrx", "fusion", "shape alone", "shape")]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean['shape'] - mean['fusion']:+.4f} |")
    return lines + [""]


def seeded(row: dict, name: str) -> tuple[float, float]:
    values = [row[f"{name}/seed{s}"] for s in SEEDS]
    return float(np.mean(values)), float(np.std(values, ddof=1))


def table(rows: dict, scenes: list, title: str) -> list[str]:
    """Per-file AUCs, the set's mean, and each seeded view's per-seed means."""
    lines = [f"## {title}", "", "| file | GRX | LRX (5,21) | fusion | canonical alone | fusion × canonical | "
             "fusion × projection | fusion × untrained |", "|---|---|---|---|---|---|---|---|"]
    names = [s["name"] for s in scenes]
    for name in names + ["**mean**"]:
        picked = [rows[n] for n in (names if name == "**mean**" else [name])]
        mean = {k: float(np.mean([r[k] for r in picked])) for k in picked[0]}
        cells = [f"{mean[k]:.4f}" for k in ("grx", "lrx", "fusion", "canonical alone", "canonical")]
        for view in ("projection", "untrained"):
            cells.append("{:.4f} ± {:.4f}".format(*seeded(mean, view)))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for view in ("projection", "untrained"):
        per_seed = [np.mean([rows[n][f"{view}/seed{s}"] for n in names]) for s in SEEDS]
        lines.append(f"\n- fusion × {view}, mean per seed: " + ", ".join(f"{v:.4f}" for v in per_seed))
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--views", choices=("parts", "shape"), default="parts",
                        help="parts: the untrained network's view taken apart (design L); shape: design M")
    args = parser.parse_args()
    scenes = labelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no labelled scenes under {DATA}")
    tuning = [s for s in scenes if s["group"] in TUNING_GROUPS]
    confirmation = [s for s in scenes if s["group"] not in TUNING_GROUPS]
    rows = {}
    for s in tuning + confirmation:
        rows[s["name"]] = score_shape(s) if args.views == "shape" else score_scene(s)
        print(s["name"], {k: round(v, 4) for k, v in rows[s["name"]].items()}, flush=True)
    if args.views == "shape":
        stem, design, tabulate = "shape-view", "M", shape_table
        header = ["# Design M: the fusion of the spectra's shape as a second view, no training", "",
                  "`python benchmarks/second_view.py --views shape` (plan: `shape-view-plan.md`). AUC(D,F); "
                  "`shape` is the fusion detector on `x / ||x||`, combined with `fusion` by the geometric mean.", ""]
    else:
        stem, design, tabulate = "second-view", "L", table
        header = ["# The second view's parts, no training", "", "`python benchmarks/second_view.py` "
                  "(plan: `second-view-plan.md`). AUC(D,F); each view as the geometric mean with `fusion`; "
                  "seeded views as mean ± sd over seeds 0, 1, 2.", ""]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = header + tabulate(rows, tuning, f"Tuning files (design {design} is judged here)")
    lines += tabulate(rows, confirmation, "Confirmation files (diagnostic only, looked at once)")
    (OUT / f"{stem}.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
