"""benchmarks/gpu_check.py --dry-run: the GPU check's plumbing, with the CPU standing in for CUDA."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_writes_one_json_and_ends_with_one_json_line(tmp_path):
    pytest.importorskip("torch", reason="the dry run's candidates are PyTorch arrays on the CPU (extra 'torch')")
    out = tmp_path / "gpu_check.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run", "--size", "40x40x8",
                          "--check-size", "32x24x8", "--out", str(out), "--workdir", str(tmp_path / "scenes")],
                         capture_output=True, text=True, timeout=120)
    last = json.loads(run.stdout.strip().splitlines()[-1])
    assert last["all_agree"] is True and last["dry_run"] is True, run.stdout + run.stderr
    assert run.returncode == 0
    payload = json.loads(out.read_text())
    assert payload["all_agree"] is True and payload["ran_on_gpu"] is False
    checked = {case["detector"] for case in payload["cases"]}
    area = {"fusion-area", "fusion-peaks"} if importlib.util.find_spec("skimage") else set()  # extra 'area'
    assert {"grx", "lrx", "fusion"} | area <= checked
    for case in payload["cases"]:
        assert case["agree"] and case["relative_difference"] <= case["tolerance"]
        assert case["seconds"] > 0 and case["ratio_to_read_floor"] > 0
    assert {"adapt", "model"} <= {s["detector"] for s in payload["skipped"]}
