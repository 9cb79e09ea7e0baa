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


def test_train_test_table_reads_an_ablation_json(tmp_path):
    rows = [{"scene": s, "method": m, "auc_df": auc, "test_seconds": 0.1, "train_seconds": train}
            for s in ("a", "mean") for m, auc, train in (("GRX", 0.9, 0.0), ("LRX", 0.95, 0.0),
                                                         ("teacher CE+AUC-M", 0.99, 12.5))]
    path = tmp_path / "ablation.json"
    path.write_text(json.dumps({"meta": {"machine": "m", "device": "cpu", "date": "d", "command": "c"},
                                "rows": rows}))
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_test_table.py"), str(path)],
                   check=True, capture_output=True, timeout=60)
    lines = (tmp_path / "train_test.md").read_text().splitlines()
    assert lines[-2] == "| a | 0.10 | 0.9000 | 0.10 | 0.9500 | 12.5 | 0.10 | 0.9900 |"
    assert lines[-1].startswith("| **mean** |")
