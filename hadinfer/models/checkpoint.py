"""Checkpoints: weights plus everything needed to rebuild and apply the network."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import torch

from .. import __version__
from ..errors import ModelFileError, one_line
from ..io.writer import check_output_path
from .anomaly_fcn import AnomalyFCN, NetworkConfig
from .feature_model import is_feature_model_file
from .input_policy import InputPolicy
from .metadata import check_model_path

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

    The whole file is checked here, before any pixel is read: its format and version,
    the ``network`` and ``input`` entries, and the weights, which must be exactly the
    network's (no missing or extra names, every shape right).  Only tensors and plain
    containers are unpickled (``weights_only=True``).

    Raises
    ------
    InputNotFoundError
        Nothing at ``path``.
    ModelFileError
        A folder, not a hadinfer checkpoint, another format version, or an entry that
        does not fit (one line naming the file and the problem).
    """
    path = check_model_path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of every kind: not a checkpoint
        if is_feature_model_file(path):
            raise ModelFileError(f"{path}: a feature model of the learned detector (hadinfer train-features), "
                                 "not a network checkpoint") from exc
        raise ModelFileError(f"{path}: not a hadinfer checkpoint ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a hadinfer checkpoint")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: checkpoint format {payload.get('format_version')} is not supported "
                              f"(this hadinfer reads {FORMAT_VERSION})")
    for entry in ("network", "input", "state_dict"):
        if not isinstance(payload.get(entry), dict):
            raise ModelFileError(f"{path}: checkpoint has no {entry!r} entry" if entry not in payload else
                                 f"{path}: checkpoint entry {entry!r} is a {type(payload[entry]).__name__}, "
                                 "expected a dict")
    try:
        config = NetworkConfig.from_dict(payload["network"])
        model = AnomalyFCN(config)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # unknown/missing fields, impossible sizes
        raise ModelFileError(f"{path}: checkpoint entry 'network' does not describe a network "
                             f"({type(exc).__name__}: {one_line(exc)})") from exc
    InputPolicy.from_metadata(payload["input"], config.in_channels, where=str(path))
    _check_weights(path, payload["state_dict"], model.state_dict())
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:  # anything the explicit checks above missed
        raise ModelFileError(f"{path}: weights do not fit the network ({one_line(exc)})") from exc
    model.eval()
    return model, {k: v for k, v in payload.items() if k != "state_dict"}


def _check_weights(path, stored: dict, expected: dict) -> None:
    """Refuse weights that are not exactly the network's: names, tensor type and shapes.

    Raises
    ------
    ModelFileError
    """
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing:
        raise ModelFileError(f"{path}: {_count(missing)} missing for its network ({_names(missing)})")
    if extra:
        raise ModelFileError(f"{path}: {_count(extra)} its network does not have ({_names(extra)})")
    for name, want in expected.items():
        got = stored[name]
        if not isinstance(got, torch.Tensor):
            raise ModelFileError(f"{path}: weight {name!r} is a {type(got).__name__}, not a tensor")
        if tuple(got.shape) != tuple(want.shape):
            raise ModelFileError(f"{path}: weight {name!r} has shape {tuple(got.shape)}, its network expects "
                                 f"{tuple(want.shape)}")
        if got.is_floating_point() != want.is_floating_point():
            raise ModelFileError(f"{path}: weight {name!r} is {got.dtype}, its network expects {want.dtype}")


def _count(names: list[str]) -> str:
    return f"{len(names)} weight{'' if len(names) == 1 else 's'}"


def _names(names: list[str], shown: int = 3) -> str:
    more = f", and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
