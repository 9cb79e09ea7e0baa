"""Checkpoints: weights plus everything needed to rebuild and apply the network."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import torch

from .. import __version__
from ..errors import InputNotFoundError, ModelFileError
from ..io.writer import check_output_path
from .anomaly_fcn import AnomalyFCN, NetworkConfig
from .input_policy import InputPolicy

FORMAT = "hadinfer-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path, model: AnomalyFCN, *, provenance: dict, report: dict | None = None,
                    overwrite: bool = False, policy: InputPolicy | None = None) -> Path:
    """Write weights, network config, input policy, provenance and training report.

    ``policy`` defaults to the plain whitened-components policy of the network's width.

    Written beside the target and renamed, like maps.

    Raises
    ------
    OutputExistsError, OutputPathError
    """
    target = check_output_path(path, overwrite=overwrite)
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "hadinfer_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "network": model.config.to_dict() | {"dropout": 0.0, "drop_path": 0.0},
        "input": (policy or InputPolicy(model.config.in_channels - 1)).metadata(),
        "provenance": provenance, "report": report or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    from ..io.atomic import atomic_output

    with atomic_output(target, overwrite=overwrite) as tmp:  # unique name, no symlinks, no-replace rename
        torch.save(payload, tmp)
    return target


def load_checkpoint(path) -> tuple[AnomalyFCN, dict]:
    """Rebuild the network (eval mode, CPU) and return it with the checkpoint's metadata.

    Raises
    ------
    InputNotFoundError, ModelFileError
    """
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of every kind: not a checkpoint
        raise ModelFileError(f"{path}: not a hadinfer checkpoint ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a hadinfer checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: checkpoint format {payload.get('format_version')} is not supported "
                              f"(this hadinfer reads {FORMAT_VERSION})")
    config = NetworkConfig.from_dict(payload["network"])
    InputPolicy.from_metadata(payload.get("input") or {}, config.in_channels, where=str(path))
    model = AnomalyFCN(config)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, {k: v for k, v in payload.items() if k != "state_dict"}
