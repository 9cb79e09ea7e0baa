"""Design P: nearest-neighbour density in the whitened principal components, nothing learned.

    python benchmarks/knn_density.py

Each pixel is scored by its mean squared distance (over 10 dimensions) to its 2nd to
(k+1)th nearest of 2048 reference pixels (the scene's valid pixels, evenly spaced), in the
scene's leading 10 whitened principal components: a background of several materials is a
mixture, which RX's one Gaussian is not.  ``P-k`` is the geometric mean of that map and
``fusion``.  k = 5, 20, 50 and the rules that decide were fixed in
``benchmarks/results/learned-features/knn-density-plan.md`` before this script existed.  The
tuning files choose; the confirmation files are scored once, only if a k passed, with the
shipped ``learned-v3.npz`` itself.  Masks are read only to score.
"""

from __future__ import annotations

import numpy as np

from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.kernels.whitening import pca_whitening
from design_stages import run_map_design  # benchmarks/, beside this script
from learned_features import with_fusion

NEIGHBOURS = (5, 20, 50)
COMPONENTS = 10
REFERENCE = 2048
#: Rule 2: the least gain over plain ``fusion`` on the tuning mean, the largest loss on a tuning file.
LEAST_GAIN, LARGEST_LOSS = 0.003, 0.005


def knn_maps(cube: np.ndarray, valid: np.ndarray) -> dict:
    """kNN(k) for every k of :data:`NEIGHBOURS`: mean squared whitened distance to the 2nd..(k+1)th nearest reference."""
    stats = BackgroundStats(cube.shape[2]).update_window(cube, valid)
    centre, projection = pca_whitening(stats, COMPONENTS)
    z = (cube[valid].astype(np.float64) - centre) @ projection
    reference = z[::max(1, z.shape[0] // REFERENCE)][:REFERENCE]
    squared = ((z * z).sum(axis=1)[:, None] - 2.0 * z @ reference.T + (reference * reference).sum(axis=1)[None, :])
    squared = np.maximum(squared, 0.0)
    nearest = np.sort(np.partition(squared, max(NEIGHBOURS) + 1, axis=1)[:, :max(NEIGHBOURS) + 1], axis=1)
    maps = {}
    for k in NEIGHBOURS:
        image = np.full(valid.shape, np.nan)
        image[valid] = nearest[:, 1:k + 1].mean(axis=1) / COMPONENTS
        maps[f"knn{k}"] = image
    return maps


def combined(maps: dict, base: str) -> dict:
    """``base`` x kNN(k) by the geometric mean, for every k."""
    return {f"{base}x{k}": with_fusion(maps[f"knn{k}"], maps[base]) for k in NEIGHBOURS}


def main() -> int:
    header = ["# Design P: nearest-neighbour density in the whitened components, no training", "",
              "`python benchmarks/knn_density.py` (plan: `knn-density-plan.md`). AUC(D,F); `knnK` is the mean squared "
              "distance to the 2nd..(K+1)th nearest of 2048 reference pixels in the 10 leading whitened components; "
              "`fusionxK` its geometric mean with `fusion` (design P-K); `untrained` is `fusion` x an untrained "
              "feature network's fusion (the `learned` detector's form), mean over seeds 0, 1, 2.", ""]
    return run_map_design("knn-density", header, "knn", NEIGHBOURS, design_maps=knn_maps, combined=combined,
                          least_gain=LEAST_GAIN, largest_loss=LARGEST_LOSS, meta={"neighbours": NEIGHBOURS})


if __name__ == "__main__":
    raise SystemExit(main())
