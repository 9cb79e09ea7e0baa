"""Design Q on the eight unlabelled scenes with implanted targets: a check that chooses nothing.

    python benchmarks/implanted_check.py

Each unlabelled scene (other places and sensors than the labelled files) gets 12 regions of
real spectra from the *other* unlabelled scenes mixed in at sub-pixel abundances, by the
training code's own generator at its defaults
(:func:`hadinfer.training.synthetic_anomalies.implant_spectra`), with two of its size laws
("small": 1 to 9 pixels uniformly; "large": log-uniform 1 to 64), three draws each; GRX, LRX
(5,21), ``fusion``, ``fusion-area`` and ``learned`` score the implanted cube through
``hadinfer.detect``.  Everything was fixed in
``benchmarks/results/learned-features/implanted-check-plan.md`` before this script existed.
The implanted pixels are the mask, read only to score.
"""

from __future__ import annotations

import numpy as np

import hadinfer
from hadinfer.training.scene_data import read_cube
from hadinfer.training.synthetic_anomalies import implant_spectra
from design_stages import write_results  # benchmarks/, beside this script
from unseen import DATA, unlabelled_scenes

DETECTORS = {"grx": {"detector": "grx"}, "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
             "fusion": {"detector": "fusion"}, "fusion-area": {"detector": "fusion-area"},
             "learned": {"detector": "learned"}}
#: Size law name: (max_size, the generator's law).
SIZES = {"small": (9, "uniform"), "large": (64, "log-uniform")}
SEEDS = (0, 1, 2)
REGIONS = 12
LIBRARY_PER_SCENE = 64


def library_without(cubes: dict, name: str, rng: np.random.Generator) -> list[np.ndarray]:
    """:data:`LIBRARY_PER_SCENE` valid pixels of every scene but ``name``."""
    spectra = []
    for other, (cube, valid) in cubes.items():
        if other != name:
            pixels = cube[valid]
            spectra += list(pixels[rng.choice(len(pixels), size=LIBRARY_PER_SCENE, replace=False)])
    return spectra


def score_draw(cube: np.ndarray, valid: np.ndarray, library: list, size: str, seed: int,
               detectors: dict = DETECTORS) -> dict:
    """AUC(D,F) of every detector on one implanted version of a scene.

    ``detectors`` maps a name to ``hadinfer.detect`` parameters, or to a function of the maps
    named before it (``{name: map}``) that derives a map from them.
    """
    max_size, law = SIZES[size]
    implanted, mask = implant_spectra(cube, np.random.default_rng(seed), library, count=REGIONS, max_size=max_size,
                                      valid=valid, sizes=law)
    implanted = np.where(valid[:, :, None], implanted, np.nan)
    row, maps = {"implanted_pixels": int(mask.sum())}, {}
    for name, params in detectors.items():
        if callable(params):  # a map derived from those before it
            maps[name] = params(maps)
        else:
            maps[name] = np.asarray(hadinfer.detect(implanted, device="cpu", layout="bands-last", **params).scores)
        row[name] = hadinfer.evaluate(maps[name], mask)["auc_df"]
    return row


def implanted_rows(detectors: dict = DETECTORS) -> dict:
    """``{size law: {scene: AUC(D,F) of each detector, mean of the draws, and the draws}}``."""
    scenes = unlabelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no unlabelled scenes under {DATA}")
    cubes = {name: read_cube(path) for name, path in scenes.items()}
    rows = {size: {} for size in SIZES}
    for name, (cube, valid) in cubes.items():
        library = library_without(cubes, name, np.random.default_rng(1000))
        cube = cube.astype(np.float64)
        for size in SIZES:
            draws = [score_draw(cube, valid, library, size, seed, detectors) for seed in SEEDS]
            rows[size][name] = {k: float(np.mean([d[k] for d in draws])) for k in draws[0]}
            rows[size][name]["draws"] = draws
            print(size, name, {k: round(v, 4) for k, v in rows[size][name].items() if k != "draws"}, flush=True)
    return rows


def main() -> int:
    rows = implanted_rows()
    lines = ["# Design Q on the eight unlabelled scenes with implanted targets (a check; it chooses nothing)", "",
             "`python benchmarks/implanted_check.py` (plan: `implanted-check-plan.md`). AUC(D,F), mean of three "
             "draws (seeds 0, 1, 2) of 12 implanted regions; `learned`'s network trained on these scenes' cubes "
             "with implants of this very generator, so its column is in-sample.", ""]
    for size, (max_size, law) in SIZES.items():
        lines += [f"## {size}: regions of 1 to {max_size} pixels, {law}", "",
                  "| scene | implanted px | " + " | ".join(DETECTORS) + " | fusion-area − fusion |",
                  "|---|---|" + "---|" * (len(DETECTORS) + 1)]
        table = rows[size]
        for name, row in list(table.items()) + [("**mean**", {k: float(np.mean([r[k] for r in table.values()]))
                                                              for k in ["implanted_pixels", *DETECTORS]})]:
            lines.append(f"| {name} | {row['implanted_pixels']:.0f} | " + " | ".join(f"{row[d]:.4f}" for d in DETECTORS)
                         + f" | {row['fusion-area'] - row['fusion']:+.4f} |")
        worse = [n for n, r in table.items() if r["fusion-area"] < r["fusion"]]
        lines += ["", f"Scenes where `fusion-area` is below `fusion`: {', '.join(worse) or 'none'}.", ""]
    return write_results("implanted-check", {"sizes": SIZES, "regions": REGIONS, "seeds": SEEDS, "rows": rows}, lines)


if __name__ == "__main__":
    raise SystemExit(main())
