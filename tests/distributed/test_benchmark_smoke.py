"""benchmarks/dask_strips.py runs end to end (plumbing and JSON shape, not speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")


def test_dask_strips_benchmark_smoke():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dask_strips.py"), "--smoke"], check=True,
                          capture_output=True, text=True, timeout=300)
    result = json.loads(done.stdout)
    (run,) = result["runs"]
    assert run["detector"] == "grx" and run["cluster"]["strips"] == 2
    assert len(run["cluster"]["worker_peak_memory_mb"]) == 2 and min(run["cluster"]["worker_peak_memory_mb"]) > 0
    assert run["single"]["seconds"] > 0 and run["single_one_blas_thread"]["seconds"] > 0 and run["speedup"] > 0
    assert result["scheduler"]["seconds_per_task"] > 0 and result["merge"]["bytes_per_part"] == 8 * (400 ** 2 + 401)
    assert result["writer"]["megapixels_per_second"] > 0
