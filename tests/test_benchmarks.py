"""The benchmark scripts run end to end (plumbing and JSON shape, not speed)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_timing_smoke(tmp_path):
    pytest.importorskip("spectral", reason="Spectral Python (extra 'bench') is the peer being timed")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "timing.py"), "--smoke", "--out", str(tmp_path),
                    "--workdir", str(tmp_path)], check=True, capture_output=True, timeout=300)
    payload = json.loads((tmp_path / "timing.json").read_text())
    assert set(payload) == {"meta", "results", "ratios"}
    for case, result in payload["results"].items():
        if "skipped" in result:
            continue
        assert "error" not in result, (case, result)
        assert result["seconds_min"] > 0 and result["peak_memory_mb"] > 0 and result["repeats"] == 1
    assert payload["ratios"] and all(math.isfinite(v) and v > 0 for v in payload["ratios"].values())
    assert (tmp_path / "timing.md").read_text().startswith("# Timing")
    assert {"deep-torch", "deep-ort", "deep-ort-fp16"} <= set(payload["results"])


def test_scaling_smoke(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "timing.py"), "--scaling", "0.002,0.008", "--bands",
                    "16", "--repeat", "1", "--cases", "grx", "--out", str(tmp_path), "--workdir", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    rows = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert [r["edge"] for r in rows] == [45, 89]
    assert all(r["seconds_min"] > 0 and r["peak_memory_mb"] > 0 for r in rows)
