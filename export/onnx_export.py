"""Checkpoint -> ONNX model with dynamic batch and tile size, carrying its own metadata."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

from hadinfer.errors import MissingDependencyError
from hadinfer.io.atomic import atomic_output
from hadinfer.io.writer import check_output_path
from hadinfer.models.metadata import ONNX_FORMAT, ONNX_FORMAT_VERSION


def _import_export_stack():
    try:
        import onnx
        import torch
    except ImportError as exc:
        raise MissingDependencyError("exporting needs torch, onnx and onnxscript: pip install 'hadinfer[export]'") \
            from exc
    return torch, onnx


def model_metadata(model, checkpoint_meta: dict, *, precision: str) -> dict[str, str]:
    """String key/values stored in the ONNX ``metadata_props``."""
    return {
        "hadinfer_format": ONNX_FORMAT,
        "format_version": str(ONNX_FORMAT_VERSION),
        "precision": precision,
        "channels": str(model.config.in_channels),
        "receptive_radius": str(model.config.receptive_radius),
        "input_policy": json.dumps(checkpoint_meta.get("input", {})),
        "network": json.dumps(model.config.to_dict()),
        "provenance": json.dumps(checkpoint_meta.get("provenance", {}), default=str),
        "hadinfer_version": str(checkpoint_meta.get("hadinfer_version", "")),
    }


def export_onnx(checkpoint, output, *, opset: int = 18, fp16: bool = False, overwrite: bool = False) -> Path:
    """Export a checkpoint to ONNX with the dynamo exporter.

    Batch, height and width are dynamic; the channel count is fixed by the input policy
    (any band count becomes the same channels).  The graph is checked with
    ``onnx.checker`` (``full_check=True``, shape inference included).

    Parameters
    ----------
    checkpoint : str or PathLike
        From ``hadinfer train``.
    output : str or PathLike
        ``.onnx`` file, written beside its name and renamed when complete.
    opset : int
        ONNX opset (>= 18).
    fp16 : bool
        Store weights and compute the convolutions in float16; inputs, outputs, the input
        compression and the evidence skip stay float32 (see :func:`export_graph`).

    Returns
    -------
    Path

    Raises
    ------
    MissingDependencyError, ModelFileError, OutputExistsError, OutputPathError
    """
    torch, onnx = _import_export_stack()
    from hadinfer.models.checkpoint import load_checkpoint

    target = check_output_path(output, overwrite=overwrite)
    model, meta = load_checkpoint(checkpoint)
    net = export_graph(model, fp16)
    example = torch.zeros(1, model.config.in_channels, 32, 32)
    dims = {0: torch.export.Dim("batch"), 2: torch.export.Dim("height", min=1), 3: torch.export.Dim("width", min=1)}
    with atomic_output(target, overwrite=overwrite) as tmp:  # unique name, no symlinks, no-replace rename
        # The exporter logs about optional packages (torchvision) and its own deprecations.
        exporter_log = logging.getLogger("torch.onnx")
        level = exporter_log.level
        exporter_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                program = torch.onnx.export(net.eval(), (example,), dynamo=True, opset_version=max(opset, 18),
                                            input_names=["input"], output_names=["logits"],
                                            dynamic_shapes=({0: dims[0], 2: dims[2], 3: dims[3]},), verbose=False)
        finally:
            exporter_log.setLevel(level)
        program.save(str(tmp), external_data=False)
        proto = onnx.load(str(tmp))
        for key, value in model_metadata(model, meta, precision="float16" if fp16 else "float32").items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
        onnx.checker.check_model(str(tmp), full_check=True)
    return target


def export_graph(model, fp16: bool):
    """The module that is exported: the network with a GPU-portable ``asinh`` in front.

    The input is compressed (``asinh``) and the evidence skip term is computed in float32
    *before* any cast to float16: raw whitened values of strong anomalies exceed float16's
    65504 and would become inf, and the strongest anomalies would be written as nodata.
    Built lazily so this module imports without torch.
    """
    import torch

    from hadinfer.models.anomaly_fcn import portable_asinh

    class ExportGraph(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner.half() if fp16 else inner

        def forward(self, z):
            compressed = portable_asinh(z)
            out = self.inner.body(compressed.half()).float() if fp16 else self.inner.body(compressed)
            return out + self.inner.evidence_term(z) if self.inner.config.evidence_skip else out

    return ExportGraph(model)
