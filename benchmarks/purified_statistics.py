"""Background statistics without the scene's most anomalous pixels, on the tuning scenes (issue 18).

    python benchmarks/purified_statistics.py            # GRX, fusion and design B's fold networks
    python benchmarks/purified_statistics.py --no-learned

A classical remedy for RX: anomalies inflate the covariance they are measured against, so
fit the statistics again without the top fraction ``q`` of pixels by global RX, then score
every pixel.  Before building it into the streaming runtime (a third pass over the scene),
this measures its ceiling: the purification here is exact and in memory (the threshold is
the scene's own ``1 - q`` quantile of GRX), which a streaming version could only
approximate.

Protocol: the tuning scenes of ``learned_features.py`` only (abu-airport-1, abu-airport-4,
abu-urban-3, the two HYDICE files); no confirmation scene is read.  ``feat+fusion`` is
design B as shipped (the geometric mean of the fusion on the spectra and on learned
features) with leave-one-group-out fold networks (seed 0): each trains on the unlabelled
scenes and the other tuning groups, as ``learned_features.py --stage tuning`` does, and
both of its statistics passes drop the same pixels.  Masks are read only to score.
Results: ``benchmarks/results/learned-features/purified-tuning.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hadinfer.detectors.fusion_rx import FusionRX
from hadinfer.detectors.global_rx import GlobalRX
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.training.scene_data import read_cube
from learned_features import OUT, TUNING_GROUPS, auc, protocol_runs, train  # benchmarks/, beside this script
from unseen import DATA, labelled_scenes, unlabelled_scenes

FRACTIONS = (0.0, 0.01, 0.02, 0.05)


def kept_pixels(cube: np.ndarray, valid: np.ndarray, fraction: float) -> np.ndarray:
    """Valid pixels below the ``1 - fraction`` quantile of global RX on all valid pixels."""
    if fraction == 0:
        return valid
    scores = GlobalRX().fit(BackgroundStats(cube.shape[2]).update(cube[valid])).score(cube, valid)
    return valid & (scores < np.quantile(scores[valid], 1 - fraction))


def fitted_scores(detector, cube: np.ndarray, valid: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``detector`` fitted on the kept pixels' statistics, scoring every valid pixel."""
    detector.fit(BackgroundStats(cube.shape[2]).update(cube[kept]))
    return detector.score(cube, valid).astype(np.float64)


def network_features(net, cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Design B's learned features of every valid pixel, as an image (0 where invalid)."""
    import torch

    from hadinfer.training.feature_learning import canonical_pixels

    with torch.no_grad():
        features = net.embed(torch.from_numpy(canonical_pixels(cube, valid))).numpy().astype(np.float64)
    image = np.zeros(valid.shape + (features.shape[1],))
    image[valid] = features
    return image


def geometric_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.exp(0.5 * (np.log(np.maximum(a, 1e-300)) + np.log(np.maximum(b, 1e-300))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-learned", action="store_true", help="skip design B's fold networks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    tuning = [s for s in labelled_scenes(DATA) if s["group"] in TUNING_GROUPS]
    networks = {}
    if not args.no_learned:
        from hadinfer.training.feature_learning import FeatureRecipe

        for _, sources, held in protocol_runs("tuning", tuning, tuning, tuning, unlabelled_scenes(DATA)):
            start = time.perf_counter()
            net, _, _ = train(sources, args.seed, FeatureRecipe())
            networks.update({s["name"]: net for s in held})
            print(f"fold network for {[s['name'] for s in held]}: {time.perf_counter() - start:.0f} s", flush=True)
    rows = {}
    for s in tuning:
        cube, valid = read_cube(s["path"], key=s["key"])
        cube = np.asarray(cube, dtype=np.float64)
        features = network_features(networks[s["name"]], cube, valid) if networks else None
        row = rows[s["name"]] = {}
        for q in FRACTIONS:
            kept = kept_pixels(cube, valid, q)
            row[f"grx q={q}"] = auc(fitted_scores(GlobalRX(), cube, valid, kept), s)
            fusion = fitted_scores(FusionRX(), cube, valid, kept)
            row[f"fusion q={q}"] = auc(fusion, s)
            if features is not None:
                feat = fitted_scores(FusionRX(n_components=min(10, features.shape[2])), features, valid, kept)
                row[f"feat+fusion q={q}"] = auc(geometric_mean(feat, fusion), s)
        print(s["name"], {k: round(v, 4) for k, v in row.items()}, flush=True)
    write_tables(rows, args)


def write_tables(rows: dict, args) -> None:
    columns = list(next(iter(rows.values())))
    means = {c: float(np.mean([r[c] for r in rows.values()])) for c in columns}
    lines = ["# Purified background statistics on the tuning scenes", "",
             f"`python benchmarks/purified_statistics.py{' --no-learned' if args.no_learned else ''}` "
             f"(seed {args.seed} for the fold networks)", "",
             "AUC(D,F); `q`: fraction of pixels with the highest global RX left out of the statistics "
             "(exact, in memory); q=0 is the detector as shipped.", "",
             "| scene | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{means[c]:.4f}**" for c in columns) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "purified-tuning.json").write_text(json.dumps({"rows": rows, "means": means}, indent=1))
    (args.out / "purified-tuning.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
