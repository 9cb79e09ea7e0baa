"""The benchmark scripts run end to end (plumbing and JSON shape, not speed)."""

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMING = ROOT / "benchmarks" / "timing.py"


def benchmark_module(name: str):
    """Import ``benchmarks/<name>.py`` (the scripts import each other as siblings)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def timing():
    return benchmark_module("timing")


def test_timing_smoke(tmp_path):
    pytest.importorskip("spectral", reason="Spectral Python (extra 'bench') is the peer being timed")
    workdir = tmp_path / "not" / "yet"  # created when missing
    subprocess.run([sys.executable, str(TIMING), "--smoke", "--out", str(tmp_path), "--workdir", str(workdir)],
                   check=True, capture_output=True, timeout=600)
    payload = json.loads((tmp_path / "timing.json").read_text())
    assert set(payload) == {"meta", "results", "ratios"} and workdir.is_dir()
    for case, result in payload["results"].items():
        if "skipped" in result:
            continue
        assert "error" not in result, (case, result)
        assert result["seconds_min"] > 0 and result["peak_memory_mb"] > 0 and result["repeats"] == 1
    assert payload["ratios"] and all(math.isfinite(v) and v > 0 for v in payload["ratios"].values())
    assert (tmp_path / "timing.md").read_text().startswith("# Timing")
    expected = {"deep-torch", "deep-ort", "deep-ort-fp16", "floor-f32", "floor-f64", "floor-deep"}
    assert expected <= set(payload["results"])
    floors = payload["results"]
    for floor in ("floor-f32", "floor-f32-tri", "floor-f64"):
        assert floors[floor]["covariance_seconds"] > 0 and floors[floor]["projection_seconds"] > 0
        # The floor is the faster schedule: never slower than any schedule it timed.
        assert floors[floor]["schedule"] in floors[floor]["schedules"]
        assert floors[floor]["covariance_seconds"] + floors[floor]["projection_seconds"] <= \
            min(floors[floor]["schedules"].values()) + 1e-3
    assert {"grx_x_floor_f32", "grx_x_floor_f32_tri", "grx_fp64_x_floor_f64",
            "grx_speedup_vs_spy_rx"} <= set(payload["ratios"])
    if "computed" in floors["floor-deep"]:
        assert floors["floor-deep"]["flops_per_pixel"] > 0 and "deep_ort_x_floor_deep" in payload["ratios"]


def test_a_pixel_interleaved_scene_is_timed_as_one(tmp_path):
    subprocess.run([sys.executable, str(TIMING), "--smoke", "--cases", "read,grx", "--interleave", "pixel",
                    "--out", str(tmp_path), "--workdir", str(tmp_path)], check=True, capture_output=True, timeout=300)
    assert "pixel-interleaved" in (tmp_path / "timing.md").read_text()
    assert json.loads((tmp_path / "timing.json").read_text())["results"]["grx"]["seconds_min"] > 0


def test_contention_reports_a_slowdown_per_case(tmp_path):
    subprocess.run([sys.executable, str(TIMING), "--smoke", "--cases", "read,floor-f32,grx", "--contention",
                    "--out", str(tmp_path), "--workdir", str(tmp_path)], check=True, capture_output=True, timeout=300)
    payload = json.loads((tmp_path / "timing.json").read_text())
    for case in ("read", "floor-f32", "grx"):
        assert payload["results"][case]["contended"]["seconds_min"] > 0
        assert payload["ratios"][f"{case.replace('-', '_')}_slowdown_with_busy_neighbour"] > 0
    assert "slow-down" in (tmp_path / "timing.md").read_text()


def test_repeats_run_in_rounds_alternating_and_a_failing_case_stops(timing):
    calls = []

    def run(case):
        calls.append(case)
        return {"error": "exit 1: boom"} if case == "b" else {"seconds": 1.0}

    runs = timing.run_rounds(["a", "b", "c"], 3, run)
    assert calls == ["a", "b", "c", "c", "a", "a", "c"]  # b failed in round 1: never again
    assert [len(runs[c]) for c in "abc"] == [3, 1, 3]


def test_cuda_is_refused_without_a_gpu(tmp_path, timing):
    if timing.cuda_available():
        pytest.skip("this machine has a GPU")
    done = subprocess.run([sys.executable, str(TIMING), "--smoke", "--device", "cuda", "--out", str(tmp_path),
                           "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no CUDA GPU" in done.stderr
    assert not (tmp_path / "timing.json").exists()


def test_scaling_smoke(tmp_path):
    subprocess.run([sys.executable, str(TIMING), "--scaling", "0.002,0.008", "--bands", "16", "--repeat", "1",
                    "--cases", "grx", "--traced", "--out", str(tmp_path), "--workdir", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    rows = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert [r["edge"] for r in rows] == [45, 89]
    assert all(r["seconds_min"] > 0 and r["peak_memory_mb"] > 0 for r in rows)
    # what Python and NumPy allocate is part of what the process holds
    traced = [r["traced_peak_mb_runs"][0] for r in rows]
    assert all(0 < t < r["peak_memory_mb"] for t, r in zip(traced, rows))
    assert "| grx | 0.01 |" in (tmp_path / "scaling.md").read_text()


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


def test_ab_commits_runs_each_version_from_its_own_tree(tmp_path, small_tif):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, check=False).returncode:
        pytest.skip("not a git checkout: nothing to compare the working tree with")

    def worktrees():
        return subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True,
                              check=False).stdout

    before = worktrees()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab_commits.py"), "--base", "HEAD",
                           "--cases", "grx", "--reps", "1", "--scene", str(small_tif), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "ab.json").read_text())["rows"]
    assert sorted(r["version"] for r in rows) == ["base HEAD", "working tree"]
    assert all(r["wall_min"] > 0 and r["cpu_median"] > 0 and len(r["walls"]) == 1 for r in rows)
    assert all(r["peak_mb_median"] > 0 and len(r["peaks_mb"]) == 1 for r in rows)
    pair = json.loads((tmp_path / "ab.json").read_text())["paired"]["grx"]
    walls = {r["version"]: r["walls"][0] for r in rows}
    assert pair["differences"] == pytest.approx([walls["base HEAD"] - walls["working tree"]])
    assert worktrees() == before  # the temporary worktree is gone
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    report = json.loads((tmp_path / "ab.json").read_text())
    assert report["base_commit"] == report["head_commit"] == head  # HEAD named by its commit, which outlives the name
    assert f"Base: commit {head}; working tree: commit {head}" in (tmp_path / "ab.md").read_text()


def test_ab_pairs_are_differences_run_by_run():
    paired = benchmark_module("ab_commits").paired
    result = paired([3.0, 2.0, 4.0, 3.5], [2.5, 2.1, 3.0, 3.0])
    assert result["differences"] == pytest.approx([0.5, -0.1, 1.0, 0.5])
    assert result["median"] == pytest.approx(0.5) and result["mean"] == pytest.approx(0.475)
    assert result["faster_in"] == 3 and result["interval_95"][0] <= 0.475 <= result["interval_95"][1]
    # Of the 16 sign patterns, only +-(0.5, +-0.1, 1.0, 0.5) reach a mean of 0.475 in size.
    assert result["p_sign_flip"] == pytest.approx(4 / 16)


def test_read_costs_reads_every_window_in_each_configuration(tmp_path, small_tif):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "read_costs.py"), "--scene", str(small_tif),
                           "--repeat", "1", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "read_costs.json").read_text())["rows"]
    assert {(r["windows"], r["config"]) for r in rows} == {
        (w, c) for w in ("statistics", "fusion halo", "fusion halo, shared")
        for c in ("runtime (1 MiB cache)", "GTIFF_DIRECT_IO=YES", "GTIFF_VIRTUAL_MEM_IO=YES", "256 MiB cache")}
    assert all(r["count"] >= 1 and r["cpu_s"] >= 0 for r in rows)
    assert "| fusion halo | runtime (1 MiB cache) |" in (tmp_path / "read_costs.md").read_text()


def test_purified_statistics_leave_out_the_highest_global_rx():
    pytest.importorskip("torch", reason="the benchmark trains design B's networks (extra 'train')")
    import numpy as np

    purified = benchmark_module("purified_statistics")
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(40, 50, 6))
    cube[3, 4] += 40.0  # two far outliers
    cube[20, 30] -= 40.0
    valid = np.ones((40, 50), dtype=bool)
    valid[0, :5] = False
    assert np.array_equal(purified.kept_pixels(cube, valid, 0.0), valid)
    kept = purified.kept_pixels(cube, valid, 0.01)
    assert not kept[3, 4] and not kept[20, 30] and not kept[0, :5].any()
    assert abs((valid & ~kept).sum() - 0.01 * valid.sum()) <= 1


def test_each_feature_design_writes_its_own_result_files():
    pytest.importorskip("torch", reason="the benchmark trains feature networks (extra 'train')")
    from types import SimpleNamespace

    learned = benchmark_module("learned_features")
    designs = [SimpleNamespace(design=d, objective=o, implants=i, generated=g, implant_sizes=z)
               for d in ("rx-loss", "reconstruction", "conditioned") for o in ("features", "combined", "fusion")
               for i in ("mixed", "foreign", "shuffled") for g in (0, 8) for z in ("uniform", "log64")]
    prefixes = [learned.results_prefix(d) for d in designs]
    assert len(set(prefixes)) == len(designs)  # no design overwrites another's results
    assert learned.results_prefix(SimpleNamespace(design="rx-loss", objective="fusion", implants="mixed",
                                                  generated=0, implant_sizes="uniform")) == "fusion-"
    assert learned.results_prefix(SimpleNamespace(design="rx-loss", objective="fusion", implants="mixed",
                                                  generated=8, implant_sizes="log64")) == "fusion-generated8-log64-"



def test_band_robustness_views_are_valid_selections():
    robustness = benchmark_module("band_robustness")
    from hadinfer.io.bands import parse_band_spec

    for bands in (50, 102, 189, 224):
        counts = {view: len(parse_band_spec(selection, bands))  # raises on a band out of range
                  for view, selection in robustness.views(bands).items()}
        assert counts["all bands"] == bands and counts["every 2nd"] == (bands + 1) // 2
        assert counts["first 60 %"] == counts["last 60 %"] == round(0.6 * bands)
        assert 0.25 * bands <= counts["every 3rd of the middle 80 %"] <= 0.3 * bands


def test_second_view_scores_a_view_where_valid_and_combines_it_geometrically():
    pytest.importorskip("torch", reason="the benchmark scores feature networks (extra 'train')")
    second = benchmark_module("second_view")
    rng = np.random.default_rng(4)
    valid = np.ones((30, 40), bool)
    valid[3, 5] = False
    scores = second.view_fusion(rng.normal(size=(int(valid.sum()), 6)), valid)
    assert np.isnan(scores[3, 5]) and np.isfinite(scores[valid]).all() and (scores[valid] > 0).all()
    np.testing.assert_allclose(second.with_fusion(np.array([4.0, 1.0]), np.array([1.0, 9.0])), [2.0, 3.0])


def test_the_shape_view_forgets_brightness_and_drops_zero_spectra():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    second = benchmark_module("second_view")
    rng = np.random.default_rng(5)
    cube = rng.uniform(1, 2, size=(20, 30, 8))
    valid = np.ones((20, 30), bool)
    cube[2, 3] = 0.0
    pixels, shaped = second.unit_spectra(cube, valid)
    assert not shaped[2, 3] and shaped.sum() == 599 and pixels.shape == (599, 8)
    np.testing.assert_allclose(np.linalg.norm(pixels, axis=1), 1.0)
    brighter, _ = second.unit_spectra(cube * rng.uniform(0.1, 10, size=(20, 30, 1)), valid)  # shadows, slopes
    np.testing.assert_allclose(brighter, pixels, rtol=1e-12)


def test_paired_uncertainty_of_a_detector_that_wins_everywhere_and_of_one_that_wins_once():
    paired = benchmark_module("paired_uncertainty")
    rows = {f"file-{i}": {"a": 0.9 + 0.01 * (i + 1), "b": 0.9, "c": 0.9 + (0.07 if i == 0 else -0.01)} for i in range(7)}
    everywhere = paired.compare(rows, "a", "b")
    assert everywhere["wins"] == 7 and everywhere["p_sign_flip"] == pytest.approx(2 / 128)  # the smallest p of 7
    assert everywhere["interval_95"][0] > 0 and everywhere["mean"] == pytest.approx(0.04)
    assert everywhere["mean_without_best"] == pytest.approx(0.035) and everywhere["best_file"] == "file-6"
    once = paired.compare(rows, "c", "b")  # +0.07 on one file, -0.01 on six: a mean of +0.0014 from one file
    assert once["wins"] == 1 and once["p_sign_flip"] > 0.5 and once["mean_without_best"] == pytest.approx(-0.01)
    assert once["interval_95"][0] < 0 < once["interval_95"][1]


def test_grx_budget_adds_the_parts_a_run_cannot_drop(tmp_path):
    pytest.importorskip("threadpoolctl", reason="the parts are timed with BLAS held to one thread (extra 'fast')")
    pytest.importorskip("scipy", reason="the energy is SciPy's triangular product")
    from hadinfer.synthetic import write_synthetic_scene

    scene = tmp_path / "scene.tif"
    write_synthetic_scene(str(scene), height=96, width=80, bands=12, dtype="int16")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grx_budget.py"), "--scene", str(scene), "--repeat", "1",
                    "--out", str(tmp_path / "out")], check=True, capture_output=True, timeout=300)
    result = json.loads((tmp_path / "out" / "budget.json").read_text())
    parts = result["cpu_seconds"]
    assert all(parts[name] >= 0 for name in ("read", "convert", "deflation", "gram", "energy", "hash", "import"))
    assert result["unavoidable_cpu_seconds"] == pytest.approx(
        2 * parts["read"] + 2 * parts["convert"] + parts["deflation"] + parts["gram"] + parts["energy"]
        + parts["hash"] + parts["import"])
    assert result["wall_bound_seconds"] == pytest.approx(result["unavoidable_cpu_seconds"] / result["cores"])
    assert result["grx_wall_seconds"] > 0 and "the floor" in (tmp_path / "out" / "budget.md").read_text()


def test_fusion_budget_adds_the_parts_of_the_design(tmp_path):
    pytest.importorskip("threadpoolctl", reason="the parts are timed with BLAS held to one thread (extra 'fast')")
    from hadinfer.synthetic import write_synthetic_scene

    scene = tmp_path / "scene.tif"
    write_synthetic_scene(str(scene), height=96, width=80, bands=12, dtype="int16")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fusion_budget.py"), "--scene", str(scene), "--repeat",
                    "1", "--out", str(tmp_path / "out")], check=True, capture_output=True, timeout=300)
    result = json.loads((tmp_path / "out" / "budget.json").read_text())
    parts = result["cpu_seconds"]
    assert parts["tiles"] == 1 and parts["stats_precision"] == "float64"  # one 256 px tile covers 96 x 80
    assert all(parts[name] > 0 for name in ("read scoring windows", "statistics", "scoring", "hash"))
    assert result["design_cpu_seconds"] == pytest.approx(sum(parts[name] for name in (
        "read statistics windows", "read scoring windows", "statistics", "scoring", "hash", "import")))
    assert result["wall_bound_seconds"] == pytest.approx(result["design_cpu_seconds"] / result["cores"])
    assert result["fusion_wall_seconds"] > 0 and "goal for `fusion`" in (tmp_path / "out" / "budget.md").read_text()


def test_spatial_context_mixes_each_log_score_with_its_valid_neighbourhood():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    spatial = benchmark_module("spatial_context")
    scores = np.full((5, 5), np.e)
    scores[2, 2] = np.e ** 10  # one bright pixel
    scores[0, 0] = np.nan  # nodata stays nodata and counts for nothing
    mixed = spatial.with_context(scores, 3, 0.5)
    assert np.isnan(mixed[0, 0]) and np.isfinite(mixed[~np.isnan(scores)]).all()
    np.testing.assert_allclose(np.log(mixed[2, 2]), 0.5 * 10 + 0.5 * (10 + 8) / 9)
    np.testing.assert_allclose(np.log(mixed[1, 1]), 0.5 + 0.5 * (10 + 7) / 8)  # 8 valid neighbours, (0, 0) left out
    np.testing.assert_allclose(np.log(mixed[4, 4]), 1.0)  # the bright pixel is out of reach


def test_rule_two_passes_the_best_variant_only_with_its_gain_and_no_large_loss():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    stages = benchmark_module("design_stages")
    rows = {"a": {"fusion": 0.95, "v1": 0.96, "v2": 0.955}, "b": {"fusion": 0.99, "v1": 0.98, "v2": 0.99}}
    rule = dict(least_gain=0.002, largest_loss=0.005)
    assert stages.rule_two(rows, {"one": "v1", "two": "v2"}, **rule)[0] == "two"  # +0.0025, no file lost
    rows["b"]["v2"] = 0.984  # the best mean now loses 0.006 on a file
    chosen, verdict = stages.rule_two(rows, {"one": "v1", "two": "v2"}, **rule)
    assert chosen is None and "not passed" in verdict[0]
    assert stages.rule_two(rows, {"one": "v1"}, least_gain=0.0, largest_loss=0.02)[0] == "one"


def test_knn_density_ranks_a_pixel_of_no_background_material_first():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    knn = benchmark_module("knn_density")
    rng = np.random.default_rng(6)
    materials = rng.normal(size=(3, 2)) * 5  # two bands: no noise-only direction for the whitening to inflate
    cube = materials[rng.integers(0, 3, size=(40, 50))] + rng.normal(size=(40, 50, 2)) * 0.05  # a mixture
    cube[7, 9] = (materials[0] + materials[1]) / 2  # between two materials: near the Gaussian's mean
    valid = np.ones((40, 50), bool)
    valid[0, 0] = False
    maps = knn.knn_maps(cube, valid)
    assert set(maps) == {f"knn{k}" for k in knn.NEIGHBOURS}
    for image in maps.values():
        assert np.isnan(image[0, 0]) and np.isfinite(image[valid]).all()
        assert np.nanargmax(image) == 7 * 50 + 9


def test_the_attribute_profile_benchmark_sees_a_small_object_and_keeps_fusions_order_elsewhere():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    pytest.importorskip("skimage", reason="design Q needs scikit-image (extra 'bench')")
    design = benchmark_module("attribute_profile")
    rng = np.random.default_rng(4)
    cube = rng.normal(size=(40, 50, 6))
    cube[20:23, 30:33] += 6.0  # a 9-pixel object, bright in every band
    valid = np.ones((40, 50), bool)
    valid[0, 0] = False
    maps = design.attribute_maps(cube, valid)
    assert set(maps) == {f"area{a}" for a in design.AREAS}
    for image in maps.values():
        assert np.isnan(image[0, 0]) and (image[valid] >= 0).all()
    assert np.nanargmax(maps["area16"]) in {r * 50 + c for r in range(20, 23) for c in range(30, 33)}
    fusion = rng.uniform(1, 2, size=(40, 50))
    maps["fusion"] = fusion
    combined = design.combined(maps, "fusion")["fusionx16"]
    flat = maps["area16"] == 0  # where the profile is 0, the order is fusion's
    assert np.array_equal(np.argsort(combined[flat]), np.argsort(fusion[flat]))


def test_the_implanted_checks_library_never_holds_the_scenes_own_spectra():
    pytest.importorskip("torch", reason="the benchmark module imports the feature training (extra 'train')")
    check = benchmark_module("implanted_check")
    rng = np.random.default_rng(0)
    cubes = {name: (np.full((10, 12, 5), value), np.ones((10, 12), bool)) for name, value in
             (("a", 1.0), ("b", 2.0), ("c", 3.0))}
    cubes["b"][1][0, 0] = False
    library = check.library_without(cubes, "a", rng)
    assert len(library) == 2 * check.LIBRARY_PER_SCENE
    assert sorted({float(s[0]) for s in library}) == [2.0, 3.0]
