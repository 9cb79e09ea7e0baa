"""Parity between a checkpoint in PyTorch and its ONNX export in ONNX Runtime."""

from __future__ import annotations

import numpy as np


def max_abs_difference(checkpoint, onnx_path, inputs: np.ndarray | None = None, seed: int = 0) -> float:
    """Largest absolute logit difference between PyTorch and ONNX Runtime.

    Parameters
    ----------
    checkpoint, onnx_path : str or PathLike
    inputs : ndarray of float32, shape (N, C, H, W), optional
        Network input (e.g. real whitened tiles); default a random 1x64x64 tile.
    """
    import torch

    from hadinfer.models.checkpoint import load_checkpoint
    from hadinfer.runtimes.onnx_runtime import OnnxRuntime

    model, _ = load_checkpoint(checkpoint)
    if inputs is None:
        inputs = np.random.default_rng(seed).normal(size=(1, model.config.in_channels, 64, 64)).astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(inputs)).numpy()
    got = OnnxRuntime.open(onnx_path).bind("cpu").run(inputs)
    return float(np.abs(expected[:, 0] - got).max())
