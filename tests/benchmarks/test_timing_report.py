"""What benchmarks/timing.py reports: ratios best against best and round by round."""

import pytest

from .test_benchmarks import benchmark_module


def test_paired_ratios_are_taken_round_by_round():
    report = benchmark_module("timing_report")
    results = {"fusion": {"seconds_runs": [2.0, 3.0, 2.5]}, "deep-ort": {"seconds_runs": [3.0, 3.3, None]},
               "floor-f32": {"seconds_runs": [1.0, 1.0, 1.0]}, "learned": {"error": "exit 1"}}
    paired = report.paired_ratios(results)
    assert paired == {"fusion_x_floor_f32_paired": [2.0, 3.0, 2.5],
                      "deep_ort_x_fusion_paired": [1.5, pytest.approx(1.1)]}  # a failed round is left out
    ratios = report.ratios(results)
    assert ratios["deep_ort_x_fusion_paired"] == pytest.approx(1.3)
    assert ratios["fusion_x_floor_f32_paired"] == 2.5
