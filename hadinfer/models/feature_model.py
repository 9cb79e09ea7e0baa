"""A spectral feature network as a NumPy model file: what the ``learned`` detector runs.

The network (:class:`~hadinfer.models.spectral_features.SpectralFeatureNet`) is a small
per-pixel MLP, so the runtime evaluates it with NumPy from an ``.npz`` file of its
weights: the core install (no PyTorch, no ONNX Runtime) runs the learned detector on any
machine.  ``hadinfer export`` still makes an ONNX model of it for other runtimes
(:func:`hadinfer.export.feature_export.export_feature_onnx`), parity-checked against
this forward pass.

File layout (``numpy.savez``): ``layer{i}_weight`` (out, in) and ``layer{i}_bias`` for
each hidden layer and the output layer in order, ``skip_weight`` (features, in_bands),
and ``metadata``: a JSON string with ``network`` (the config), ``format`` and the
training report (recipe, seed, sources).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFileError
from ..kernels.gelu import gelu
from .metadata import check_model_path

#: ``format`` in a feature model's metadata; bump when the layout changes.
FORMAT = "hadinfer-spectral-features/1"
_KIND = "spectral-features"  # FeatureNetConfig.to_dict()["kind"], without importing torch


@dataclass
class FeatureModel:
    """The weights of a spectral feature network, evaluated with NumPy.

    Attributes
    ----------
    layers : list of (ndarray, ndarray)
        ``(weight (out, in), bias (out,))`` of each hidden layer, then the output layer.
    skip : ndarray, shape (features, in_bands)
    metadata : dict
        ``network`` (its :class:`~hadinfer.models.spectral_features.FeatureNetConfig`
        as a dict), ``format`` and the training report.
    path : str
        Where it was read from (for messages), or ``"<memory>"``.
    """

    layers: list
    skip: np.ndarray
    metadata: dict
    path: str = "<memory>"

    @property
    def in_bands(self) -> int:
        """Canonical bands it reads."""
        return self.skip.shape[1]

    @property
    def features(self) -> int:
        """Features it writes per pixel."""
        return self.skip.shape[0]

    def embed(self, pixels: np.ndarray) -> np.ndarray:
        """(P, in_bands) canonical spectra -> (P, features) features, in float64."""
        pixels = np.asarray(pixels, dtype=np.float64)
        hidden = pixels
        for weight, bias in self.layers[:-1]:
            hidden = gelu(hidden @ weight.T + bias)
        weight, bias = self.layers[-1]
        return hidden @ weight.T + bias + pixels @ self.skip.T

    def fused(self, weight: np.ndarray, offset: np.ndarray) -> "FusedFeatures":
        """This network after an affine input map, folded into its first layer, in float32.

        Parameters
        ----------
        weight : ndarray, shape (B, in_bands)
        offset : ndarray, shape (in_bands,)
            ``canonical = spectra @ weight + offset`` (a scene's standardisation and band
            grid: :func:`~hadinfer.models.canonical_spectra.canonical_affine`).
        """
        return FusedFeatures(self, weight, offset)

    @classmethod
    def from_torch(cls, net, metadata: dict | None = None) -> "FeatureModel":
        """The weights of a :class:`~hadinfer.models.spectral_features.SpectralFeatureNet` in memory.

        Raises
        ------
        ModelFileError
            The network is conditioned on a scene descriptor (design F, tried and not
            shipped): this file format and the ``learned`` detector do not carry one.
        """
        if getattr(net.config, "condition", 0):
            raise ModelFileError("a scene-conditioned feature network cannot be saved as a learned model file")
        linears = [m for m in net.mlp if hasattr(m, "weight")]
        layers = [(m.weight.detach().double().numpy().copy(), m.bias.detach().double().numpy().copy())
                  for m in linears]
        meta = {"format": FORMAT, "network": net.config.to_dict(), **(metadata or {})}
        return cls(layers, net.skip.weight.detach().double().numpy().copy(), meta)

    def save(self, path) -> None:
        """Write the ``.npz`` model file (float32 weights, as trained)."""
        arrays = {"skip_weight": self.skip.astype(np.float32),
                  "metadata": np.array(json.dumps(self.metadata, sort_keys=True))}
        for i, (weight, bias) in enumerate(self.layers):
            arrays[f"layer{i}_weight"] = weight.astype(np.float32)
            arrays[f"layer{i}_bias"] = bias.astype(np.float32)
        with open(path, "wb") as stream:
            np.savez(stream, **arrays)


def is_feature_model_file(path) -> bool:
    """Whether ``path`` is a NumPy ``.npz`` archive holding a feature model's weights (by content).

    Lets the network loaders name such a file for what it is instead of failing to
    unpickle it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"metadata.npy", "skip_weight.npy"} <= names


def load_feature_model(path) -> FeatureModel:
    """Read a feature model file written by :meth:`FeatureModel.save`.

    Raises
    ------
    InputNotFoundError
        Nothing at ``path``.
    ModelFileError
        A folder, not such a file, or its weights do not fit together (one line naming the file).
    """
    where = check_model_path(path)  # missing, a folder: one line, as for every model file
    # An .npz file is a zip archive; anything else (a .npy array, a raster, text) would
    # reach NumPy's pickle refusal or come back as a bare array.
    if not zipfile.is_zipfile(where):
        raise ModelFileError(f"{where}: not a hadinfer feature model (.npz): not a NumPy .npz archive")
    try:
        with np.load(where, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{where}: not a hadinfer feature model (.npz): {exc}") from None
    try:
        metadata = json.loads(str(arrays.pop("metadata")))
        skip = arrays.pop("skip_weight").astype(np.float64)
        count = len(arrays) // 2
        layers = [(arrays[f"layer{i}_weight"].astype(np.float64), arrays[f"layer{i}_bias"].astype(np.float64))
                  for i in range(count)]
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{where}: not a hadinfer feature model (missing or bad entry {exc})") from None
    if metadata.get("format") != FORMAT or metadata.get("network", {}).get("kind") != _KIND:
        raise ModelFileError(f"{where}: not a hadinfer feature model (format {metadata.get('format')!r})")
    width = skip.shape[1]
    for weight, bias in layers:
        if weight.ndim != 2 or weight.shape[1] != width or bias.shape != (weight.shape[0],):
            raise ModelFileError(f"{where}: layer shapes do not chain ({weight.shape} after width {width})")
        width = weight.shape[0]
    if not layers or width != skip.shape[0]:
        raise ModelFileError(f"{where}: the output layer and the skip disagree on the feature count")
    return FeatureModel(layers, skip, metadata, where)


class FusedFeatures:
    """A feature network with a scene's affine input map folded in: what scoring runs.

    The affine map and the network's first layer are both linear, and so is the skip
    path from the canonical spectra, so one (B, hidden + features) product of the raw
    spectra replaces three: the canonical spectra are never formed.  Everything runs in
    float32, as the network was trained (and as its ONNX export runs): half the memory
    traffic of float64 and twice BLAS's rate; its features agree with
    :meth:`FeatureModel.embed` of the canonical spectra to float32 rounding
    (``tests/models/test_feature_model.py``).

    Parameters
    ----------
    model : FeatureModel
    weight : ndarray, shape (B, in_bands)
    offset : ndarray, shape (in_bands,)
    """

    def __init__(self, model: FeatureModel, weight: np.ndarray, offset: np.ndarray):
        (first, first_bias), rest = model.layers[0], model.layers[1:]
        inputs = np.concatenate([first, model.skip])  # (hidden + features, in_bands)
        self.hidden = first.shape[0]
        self.weight = np.ascontiguousarray((weight @ inputs.T).astype(np.float32))
        self.bias = (offset @ inputs.T + np.concatenate([first_bias, np.zeros(model.features)])).astype(np.float32)
        self.layers = [(np.ascontiguousarray(w.T.astype(np.float32)), b.astype(np.float32)) for w, b in rest]
        #: Whether the GELUs run compiled (:func:`~hadinfer.kernels.gelu.gelu`); None: whenever allowed.
        self.compiled = None

    def __call__(self, spectra: np.ndarray) -> np.ndarray:
        """(P, B) spectra (any real dtype) -> (P, features) float32 features."""
        mixed = np.asarray(spectra, dtype=np.float32) @ self.weight
        mixed += self.bias
        hidden, skip = mixed[:, :self.hidden], mixed[:, self.hidden:]
        if not self.layers:  # no hidden layer: the first layer was the output
            return hidden + skip
        for weight, bias in self.layers[:-1]:
            hidden = gelu(hidden, self.compiled) @ weight
            hidden += bias
        weight, bias = self.layers[-1]
        out = gelu(hidden, self.compiled) @ weight
        out += bias
        out += skip
        return out
