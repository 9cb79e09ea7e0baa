"""A scene prepared for self-training: network input, classical ranks, pseudo-labels."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

import hadinfer
from hadinfer.detectors import BackgroundStats
from hadinfer.errors import AllNodataError, ParameterError
from hadinfer.io import Scene
from hadinfer.io.empty_bands import no_valid_pixel_error
from hadinfer.models.input_policy import InputPolicy, SceneInputs

from .pseudo_labels import pseudo_labels, rank_scores

CLASSICAL = {
    "grx": {"detector": "grx"},
    "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
}
#: ``consensus``: the mean rank of the global RX channel and every local RX evidence channel.
PSEUDO_SOURCES = ("grx", "lrx", "both", "consensus")


@dataclass
class SceneData:
    """Everything the trainer samples from one scene.

    Attributes
    ----------
    name : str
    cube : ndarray of float64, shape (H, W, B), or None
        Raw spectra, invalid pixels zeroed; None once only the network input is needed
        (scenes whose anomalies were implanted before preparation).
    valid : ndarray of bool, shape (H, W)
    encoder : SceneInputs
        The input policy fitted to this scene.
    ranks : ndarray of float64, shape (H, W)
        Classical detector ranks in [0, 1].
    labels : ndarray of int8, shape (H, W)
        Pseudo-labels (1 anomaly, 0 background, -1 ignored); implanted pixels are 1.
    inputs : ndarray of float32, shape (H, W, channels)
        Network input of every pixel (computed when omitted).
    implanted : ndarray of bool, shape (H, W), or None
        Pixels holding an anomaly implanted before preparation (certain positives).
    """

    name: str
    cube: np.ndarray | None
    valid: np.ndarray
    encoder: SceneInputs
    ranks: np.ndarray
    labels: np.ndarray
    inputs: np.ndarray | None = None
    implanted: np.ndarray | None = None

    def __post_init__(self):
        if self.inputs is None:  # computed once: batches re-whiten only implanted pixels
            self.inputs = self.encoder.features(self.cube, self.valid)

    @property
    def components(self) -> int:
        """Whitened principal components among the channels (they come first)."""
        return self.encoder.policy.components

    @property
    def shape(self) -> tuple[int, int]:
        return self.valid.shape

    def whiten(self, spectra: np.ndarray) -> np.ndarray:
        """(..., B) raw spectra -> the pointwise channels (components, then global RX)."""
        return self.encoder.pointwise(spectra)


def classical_ranks(cube: np.ndarray, valid: np.ndarray, source: str, inputs: np.ndarray | None = None,
                    policy: InputPolicy | None = None) -> np.ndarray:
    """Ranks of classical detector scores: ``grx``, ``lrx``, ``both`` (their mean) or ``consensus``.

    ``consensus`` averages the ranks of the global RX channel and of every local RX channel
    of ``inputs`` (the network input under ``policy``), so the labels come from agreement
    between global and local evidence rather than from one detector.
    """
    if source not in PSEUDO_SOURCES:
        raise ParameterError(f"pseudo: expected one of {', '.join(PSEUDO_SOURCES)}, got {source!r}")
    if source == "consensus":
        if policy is None or not policy.lrx_windows or inputs is None:
            raise ParameterError("pseudo: consensus needs an input policy with local RX windows")
        channels = range(policy.components, policy.channels)
        return np.mean([rank_scores(np.where(valid, inputs[..., c], np.nan)) for c in channels], axis=0)
    names = ("grx", "lrx") if source == "both" else (source,)
    ranks = [rank_scores(hadinfer.GlobalRX().fit_score(cube, valid) if name == "grx" else
                         hadinfer.detect(np.where(valid[..., None], cube, np.nan), device="cpu", layout="bands-last",
                                         **CLASSICAL[name]).scores)
             for name in names]
    return np.mean(ranks, axis=0)


def read_cube(source, *, key: str | None = None, bands: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, B) float64 spectra with invalid pixels zeroed, and the valid mask.

    ``source`` is a path, an open :class:`~hadinfer.io.Scene` or an (H, W, B) array.
    """
    if isinstance(source, Scene):
        return _some_valid(source, *source.read_all())
    if not isinstance(source, (str, os.PathLike)):
        cube = np.asarray(source, dtype=np.float64)
        valid = np.isfinite(cube).all(axis=2)
        if not valid.any():
            raise AllNodataError("a training array has no pixel finite in every band: nothing to learn from")
        return np.where(valid[..., None], cube, 0.0), valid
    with hadinfer.open_scene(source, key=key, bands=bands) as scene:
        return _some_valid(scene, *scene.read_all())


def _some_valid(scene: Scene, cube: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cube, valid)``, or the error a run of the scene would give when no pixel is valid (it names
    bands without a value), instead of training on nothing with NumPy's warnings."""
    if not valid.any():
        raise no_valid_pixel_error(scene)
    return cube, valid


def prepare_scene(source, *, name: str | None = None, key: str | None = None, bands: str | None = None,
                  pseudo: str = "lrx", components: int = 16, positive: float = 0.995,
                  negative: float = 0.90, policy: InputPolicy | None = None,
                  implanted: np.ndarray | None = None, keep_cube: bool = True,
                  pseudo_positives: bool = True) -> SceneData:
    """Read a scene (path or (H, W, B) array) and compute what training needs.

    No ground truth is read here: labels come from classical detectors, plus
    ``implanted`` (pixels known to hold an implanted anomaly), which are labelled 1.

    Parameters
    ----------
    policy : InputPolicy, optional
        Default: ``components`` whitened components and the global RX channel.
    keep_cube : bool
        Keep the raw spectra (needed to implant anomalies batch by batch).
    pseudo_positives : bool
        Label the classical detectors' top pixels as anomalies; off, they are ignored and
        only ``implanted`` pixels are positives (the background still comes from the ranks).
    """
    cube, valid = read_cube(source, key=key, bands=bands)
    name = name or (str(source) if not isinstance(source, np.ndarray) else "<array>")
    policy = policy or InputPolicy(components)
    encoder = policy.fit(BackgroundStats(cube.shape[2]).update(cube[valid]))
    inputs = encoder.features(cube, valid)
    ranks = classical_ranks(cube, valid, pseudo, inputs, policy)
    labels = pseudo_labels(ranks, positive=positive, negative=negative)
    if not pseudo_positives:
        labels[labels == 1] = -1
    if implanted is not None:
        labels[implanted & valid] = 1
    return SceneData(name, cube if keep_cube else None, valid, encoder, ranks, labels, inputs,
                     None if implanted is None else implanted & valid)
