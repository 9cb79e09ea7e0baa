"""Name the machine a benchmark ran on, for result folders (``<machine>-<date>``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or ``cpu``."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu"


def gpu_model() -> str | None:
    """The first NVIDIA GPU's name from ``nvidia-smi`` (no torch import), or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        names = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                               text=True, timeout=20, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    return names[0].strip() or None


def machine_label() -> str:
    """E.g. ``amd-epyc-2cpu`` or ``nvidia-h100-80gb-hbm3-16cpu``.

    >>> machine_label().endswith("cpu")
    True
    """
    return f"{_slug(gpu_model() or cpu_model())}-{os.cpu_count() or 1}cpu"
