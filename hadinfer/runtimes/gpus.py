"""How many NVIDIA GPUs this process may use, without importing any GPU library."""

from __future__ import annotations

import os


def visible_gpu_count() -> int:
    """GPUs the NVIDIA driver exposes, limited by ``CUDA_VISIBLE_DEVICES``.

    ONNX Runtime cannot count GPUs and importing torch only to count them costs seconds,
    so the driver's own listing is read (``/proc/driver/nvidia/gpus/``, one folder a GPU).
    """
    try:
        found = len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        found = 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [v for v in visible.split(",") if v.strip() and not v.strip().startswith("-")]
        found = min(found, len(entries))
    return found
