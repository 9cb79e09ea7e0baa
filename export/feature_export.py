"""A feature model file (``.npz``) -> an ONNX model of its network, parity-checked.

The ``learned`` detector runs its feature network with NumPy; the ONNX model is for other
runtimes (ONNX Runtime, TensorRT) and other tools.  Batch, height and width are dynamic;
input ``spectra`` (N, in_bands, H, W) are canonical spectra
(:func:`hadinfer.models.canonical_spectra.canonical_affine` of the scene's statistics),
output ``features`` (N, features, H, W).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np

from hadinfer.io.atomic import atomic_output
from hadinfer.io.writer import check_output_path

from .onnx_export import _import_export_stack

#: ``hadinfer_format`` in the ONNX metadata of an exported feature network.
ONNX_FEATURE_FORMAT = "hadinfer-spectral-features-onnx"


def torch_feature_net(model):
    """A :class:`~hadinfer.models.spectral_features.SpectralFeatureNet` holding ``model``'s weights."""
    import torch

    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    net = SpectralFeatureNet(FeatureNetConfig.from_dict(model.metadata["network"]))
    linears = [m for m in net.mlp if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for module, (weight, bias) in zip(linears, model.layers, strict=True):
            module.weight.copy_(torch.from_numpy(weight))
            module.bias.copy_(torch.from_numpy(bias))
        net.skip.weight.copy_(torch.from_numpy(model.skip))
    return net.eval()


def export_feature_onnx(model_path, output, *, opset: int = 18, overwrite: bool = False) -> Path:
    """Export a feature model file to ONNX, metadata inside, checked by ``onnx.checker``.

    Raises
    ------
    MissingDependencyError, ModelFileError, OutputExistsError, OutputPathError
    """
    torch, onnx = _import_export_stack()
    from hadinfer.models.feature_model import load_feature_model

    target = check_output_path(output, overwrite=overwrite, inputs=(model_path,))
    model = load_feature_model(model_path)
    net = torch_feature_net(model)
    example = torch.zeros(1, model.in_bands, 8, 8)
    dims = ({0: torch.export.Dim("batch"), 2: torch.export.Dim("height", min=1),
             3: torch.export.Dim("width", min=1)},)
    with atomic_output(target, overwrite=overwrite, inputs=(model_path,)) as tmp:
        exporter_log = logging.getLogger("torch.onnx")  # it logs about optional packages
        level = exporter_log.level
        exporter_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(net, (example,), dynamo=True, opset_version=max(opset, 18),
                                            input_names=["spectra"], output_names=["features"],
                                            dynamic_shapes=dims, verbose=False)
        finally:
            exporter_log.setLevel(level)
        program.save(str(tmp), external_data=False)
        proto = onnx.load(str(tmp))
        for key, value in {"hadinfer_format": ONNX_FEATURE_FORMAT, "network": json.dumps(model.metadata["network"]),
                           "report": json.dumps(model.metadata.get("report", {}), default=str)}.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
        onnx.checker.check_model(str(tmp), full_check=True)
    return target


def feature_parity(model_path, onnx_path, inputs: np.ndarray | None = None, seed: int = 0) -> float:
    """Largest absolute feature difference between the NumPy network and ONNX Runtime.

    Parameters
    ----------
    model_path, onnx_path : str or PathLike
    inputs : ndarray of float32, shape (N, in_bands, H, W), optional
        Canonical spectra; default a random standard-normal 1x in_bands x 32x32 tile.
    """
    from hadinfer.errors import MissingDependencyError
    from hadinfer.models.feature_model import load_feature_model

    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError("the parity check needs onnxruntime: pip install 'hadinfer[onnx]'") from exc
    model = load_feature_model(model_path)
    if inputs is None:
        inputs = np.random.default_rng(seed).normal(size=(1, model.in_bands, 32, 32)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(["features"], {"spectra": inputs})[0]
    pixels = inputs.transpose(0, 2, 3, 1).reshape(-1, model.in_bands)
    expected = model.embed(pixels).reshape(inputs.shape[0], inputs.shape[2], inputs.shape[3], -1).transpose(0, 3, 1, 2)
    return float(np.abs(expected - got).max())
