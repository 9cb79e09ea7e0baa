"""How any sensor's spectra become network input (NumPy only; shared by training and runtime)."""

from __future__ import annotations

import numpy as np

from ..detectors.stats import BackgroundStats, pca_whitening

POLICY = "pca-whiten+rx"


def policy_metadata(components: int) -> dict:
    """The input policy as stored with a model."""
    return {"policy": POLICY, "components": components, "channels": components + 1, "band_count": "any",
            "normalization": "z = (x - scene_mean) @ V diag(1/sqrt(lambda)) over all non-degenerate components "
                             "(signs fixed); channels = first `components` of z, then mean(z^2) (global RX / rank); "
                             "the network applies asinh"}


def fit_whitening(stats: BackgroundStats) -> tuple[np.ndarray, np.ndarray]:
    """The scene's mean and full whitening projection (B, rank)."""
    return pca_whitening(stats, None)


def network_input(spectra: np.ndarray, mean: np.ndarray, projection: np.ndarray, components: int) -> np.ndarray:
    """(..., B) spectra -> (..., components + 1) network channels.

    The first ``components`` channels are the leading whitened principal components
    (zero-padded if the scene has fewer); the last is the global RX score divided by the
    rank, i.e. the mean squared whitened deviation over *all* components, so the network
    keeps what the minor components say without a channel per band.
    """
    z = (spectra - mean) @ projection
    rank = max(projection.shape[1], 1)
    leading = z[..., :components]
    if leading.shape[-1] < components:
        pad = np.zeros(leading.shape[:-1] + (components - leading.shape[-1],))
        leading = np.concatenate([leading, pad], axis=-1)
    energy = np.einsum("...i,...i->...", z, z)[..., None] / rank
    return np.concatenate([leading, energy], axis=-1)
