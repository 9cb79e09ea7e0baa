"""A scene prepared for self-training: raw spectra, whitening, classical ranks, pseudo-labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import hadinfer
from hadinfer.detectors import BackgroundStats
from hadinfer.models.input_policy import fit_whitening, network_input
from hadinfer.errors import ParameterError

from .pseudo_labels import pseudo_labels, rank_scores

CLASSICAL = {
    "grx": {"detector": "grx"},
    "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
}


@dataclass
class SceneData:
    """Everything the trainer samples from one scene.

    Attributes
    ----------
    name : str
    cube : ndarray of float64, shape (H, W, B)
        Raw spectra, invalid pixels zeroed.
    valid : ndarray of bool, shape (H, W)
    mean, projection : ndarray
        The scene's full whitening (``z = (x - mean) @ projection``).
    components : int
        Leading components given to the network (plus one global-RX channel).
    ranks : ndarray of float64, shape (H, W)
        Classical detector ranks in [0, 1].
    labels : ndarray of int8, shape (H, W)
        Pseudo-labels (1 anomaly, 0 background, -1 ignored).
    inputs : ndarray of float32, shape (H, W, components + 1)
        Network input of every pixel (computed when omitted).
    """

    name: str
    cube: np.ndarray
    valid: np.ndarray
    mean: np.ndarray
    projection: np.ndarray
    components: int
    ranks: np.ndarray
    labels: np.ndarray
    inputs: np.ndarray | None = None

    def __post_init__(self):
        if self.inputs is None:  # computed once: batches re-whiten only implanted pixels
            self.inputs = np.where(self.valid[..., None], self.whiten(self.cube), 0.0).astype(np.float32)

    def whiten(self, spectra: np.ndarray) -> np.ndarray:
        """(..., B) raw spectra -> (..., components + 1) network channels."""
        return network_input(spectra, self.mean, self.projection, self.components)


def classical_ranks(cube: np.ndarray, valid: np.ndarray, source: str) -> np.ndarray:
    """Ranks of a classical detector's scores (``grx``, ``lrx``, or ``both``: their mean)."""
    names = ("grx", "lrx") if source == "both" else (source,)
    if any(name not in CLASSICAL for name in names):
        raise ParameterError(f"pseudo: expected grx, lrx or both, got {source!r}")
    ranks = [rank_scores(hadinfer.GlobalRX().fit_score(cube, valid) if name == "grx" else
                         hadinfer.detect(np.where(valid[..., None], cube, np.nan), device="cpu",
                                         **CLASSICAL[name]).scores)
             for name in names]
    return np.mean(ranks, axis=0)


def prepare_scene(source, *, name: str | None = None, key: str | None = None, bands: str | None = None,
                  pseudo: str = "lrx", components: int = 16, positive: float = 0.995,
                  negative: float = 0.90) -> SceneData:
    """Read a scene (path or (H, W, B) array) and compute what training needs.

    No ground truth is read here: labels come from the classical detector only.
    """
    if isinstance(source, np.ndarray):
        cube = source.astype(np.float64)
        valid = np.isfinite(cube).all(axis=2)
        cube = np.where(valid[..., None], cube, 0.0)
        name = name or "<array>"
    else:
        with hadinfer.open_scene(source, key=key, bands=bands) as scene:
            cube, valid = scene.read_all()
        name = name or str(source)
    stats = BackgroundStats(cube.shape[2]).update(cube[valid])
    mean, projection = fit_whitening(stats)
    ranks = classical_ranks(cube, valid, pseudo)
    return SceneData(name, cube, valid, mean, projection, components, ranks,
                     pseudo_labels(ranks, positive=positive, negative=negative))
