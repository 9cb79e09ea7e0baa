"""Tests for hadinfer.metrics (ROC, AUC, 3-D ROC areas) and hadinfer.plots."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hadinfer.errors import AllNodataError, MissingDependencyError, OutputPathError, ParameterError
from hadinfer.metrics import detection_metrics, normalize_scores, roc_auc, roc_curve

REPO_ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def brute_force_auc(scores, labels):
    """P(anomaly score > background score) over all pairs, ties counting one half."""
    scores = np.ravel(scores)
    labels = np.ravel(labels) != 0
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (wins + 0.5 * ties) / (pos.size * neg.size)


def trapezoid_area(x, y):
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)


def tied_sample(seed, n=300, levels=7):
    """Scores on a few levels (many ties), labels with both classes present."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.3
    labels[:2] = [True, False]
    scores = rng.integers(0, levels, size=n) + 0.8 * labels * rng.random(n).round(1)
    return scores, labels


# --- roc_auc -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_roc_auc_matches_pairwise_count_with_ties(seed):
    scores, labels = tied_sample(seed)
    assert roc_auc(scores, labels) == pytest.approx(brute_force_auc(scores, labels), abs=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8])
def test_roc_auc_any_numeric_dtype_and_shape(dtype):
    scores, labels = tied_sample(7, n=240)
    expected = brute_force_auc(scores.astype(dtype), labels)
    grid = scores.astype(dtype).reshape(12, 20)
    assert roc_auc(grid, labels.reshape(12, 20).astype(np.uint8)) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_perfect_reversed_and_tied():
    labels = np.array([0, 0, 0, 1, 1])
    assert roc_auc([0.1, 0.2, 0.3, 0.8, 0.9], labels) == 1.0
    assert roc_auc([0.9, 0.8, 0.7, 0.2, 0.1], labels) == 0.0
    assert roc_auc([0.5] * 5, labels) == 0.5


def test_roc_auc_allows_infinite_scores():
    assert roc_auc([-np.inf, 2.0, np.inf, 1.0], [0, 0, 1, 1]) == 0.75


# --- roc_curve -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_curve_area_equals_roc_auc(seed):
    scores, labels = tied_sample(seed)
    fpr, tpr, thresholds = roc_curve(scores, labels)
    assert trapezoid_area(fpr, tpr) == pytest.approx(roc_auc(scores, labels), abs=1e-12)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    # One point per distinct score (ties collapsed), after the +inf start.
    assert thresholds[0] == np.inf
    np.testing.assert_array_equal(thresholds[1:], np.unique(scores)[::-1])


def test_roc_curve_points_are_rates_at_each_threshold():
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    labels = np.array([0, 0, 1, 1, 1])
    fpr, tpr, thresholds = roc_curve(scores, labels)
    for f, t, thr in zip(fpr, tpr, thresholds):
        detected = scores >= thr
        assert t == detected[labels == 1].mean()
        assert f == detected[labels == 0].mean()


# --- normalize_scores ----------------------------------------------------------


def test_normalize_scores_min_max_float64():
    out = normalize_scores(np.array([[2, 6], [4, 10]], dtype=np.int32))
    assert out.dtype == np.float64 and out.shape == (2, 2)
    np.testing.assert_array_equal(out, [[0.0, 0.5], [0.25, 1.0]])


def test_normalize_scores_constant_map_is_zeros():
    np.testing.assert_array_equal(normalize_scores(np.full(4, 3.5, dtype=np.float32)), np.zeros(4))


def test_normalize_scores_ignores_non_finite_for_the_range():
    out = normalize_scores([1.0, np.nan, 3.0, np.inf, 2.0])
    np.testing.assert_array_equal(out, [0.0, np.nan, 1.0, np.nan, 0.5])


def test_normalize_scores_without_finite_value_raises():
    with pytest.raises(ParameterError, match="scores"):
        normalize_scores([np.nan, np.inf])


# --- detection_metrics ---------------------------------------------------------

# Hand-worked example.  Scores 1..9, so min-max normalisation is s' = (s - 1) / 8:
#   scores  [[1, 7, 3],      s' [[0,    0.75, 0.25],      labels [[0, 1, 0],
#            [7, 9, 1]]          [0.75, 1,    0   ]]              [0, 1, 0]]
# anomalies: s' = 0.75, 1             -> AUC(D,tau) = 1.75 / 2 = 0.875
# background: s' = 0, 0.25, 0.75, 0   -> AUC(F,tau) = 1.00 / 4 = 0.25
# SNPR = 0.875 / 0.25 = 3.5, i.e. 10 log10(3.5) = 5.4407 dB
# AUC(D,F): anomaly 7 beats 1, 3, 1 and ties the background 7 -> 3.5 of 4;
#           anomaly 9 beats all 4 background pixels            -> 4 of 4;
#           (3.5 + 4) / (2 * 4) = 0.9375
HAND_SCORES = np.array([[1.0, 7.0, 3.0], [7.0, 9.0, 1.0]])
HAND_LABELS = np.array([[0, 1, 0], [0, 1, 0]])


def check_hand_example(metrics):
    assert metrics["auc_df"] == 0.9375
    assert metrics["auc_dt"] == 0.875
    assert metrics["auc_ft"] == 0.25
    assert metrics["snpr"] == 3.5
    assert metrics["snpr_db"] == pytest.approx(10 * math.log10(3.5))
    assert metrics["snpr_db"] == pytest.approx(5.4407, abs=1e-4)
    assert (metrics["n_anomaly"], metrics["n_background"]) == (2, 4)


def test_detection_metrics_hand_worked_example():
    metrics = detection_metrics(HAND_SCORES, HAND_LABELS)
    assert set(metrics) == {"auc_df", "auc_dt", "auc_ft", "snpr", "snpr_db", "n_anomaly", "n_background"}
    check_hand_example(metrics)


def test_detection_metrics_excludes_invalid_and_non_finite_pixels():
    # Two extra columns: a masked pixel whose score (100) would change the
    # min-max range, a NaN score, an inf score and a masked anomaly.  Once they
    # are excluded the result must be the hand-worked one.
    scores = np.hstack([HAND_SCORES, [[100.0, np.nan], [np.inf, -50.0]]])
    labels = np.hstack([HAND_LABELS, [[0, 1], [0, 1]]])
    valid = np.ones(scores.shape, dtype=bool)
    valid[0, 3] = False
    valid[1, 4] = False
    check_hand_example(detection_metrics(scores, labels, valid=valid))


def test_detection_metrics_3d_areas_match_a_fine_threshold_grid():
    # The closed form (mean normalised score) is the limit of the grid integral.
    rng = np.random.default_rng(5)
    labels = rng.random(2000) < 0.1
    scores = rng.gamma(2.0, size=2000) + 2.0 * labels
    metrics = detection_metrics(scores, labels)
    normalised = normalize_scores(scores)
    taus = np.linspace(0.0, 1.0, 20001)
    pd = (normalised[labels][None, :] >= taus[:, None]).mean(axis=1)
    pf = (normalised[~labels][None, :] >= taus[:, None]).mean(axis=1)
    assert metrics["auc_dt"] == pytest.approx(trapezoid_area(taus, pd), abs=1e-4)
    assert metrics["auc_ft"] == pytest.approx(trapezoid_area(taus, pf), abs=1e-4)
    assert metrics["auc_df"] == pytest.approx(brute_force_auc(scores, labels), abs=1e-12)


def test_detection_metrics_snpr_infinite_when_background_is_all_at_minimum():
    metrics = detection_metrics([0.0, 0.0, 0.0, 2.0], [0, 0, 0, 1])
    assert metrics["auc_ft"] == 0.0 and metrics["auc_dt"] == 1.0
    assert metrics["snpr"] == math.inf and metrics["snpr_db"] == math.inf


def test_detection_metrics_constant_map():
    metrics = detection_metrics(np.ones(6), [0, 1, 0, 0, 1, 0])
    assert metrics["auc_df"] == 0.5
    assert metrics["auc_dt"] == metrics["auc_ft"] == 0.0
    assert math.isnan(metrics["snpr"]) and math.isnan(metrics["snpr_db"])


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize("function", [roc_auc, roc_curve])
@pytest.mark.parametrize(
    ("scores", "labels", "argument"),
    [
        (np.zeros(4), np.zeros(5), "labels"),
        (np.zeros((2, 2)), np.zeros(4), "labels"),
        (np.arange(4.0), np.zeros(4), "labels"),
        (np.arange(4.0), np.ones(4), "labels"),
        (np.array([0.0, np.nan, 1.0]), np.array([0, 1, 1]), "scores"),
        (np.zeros(0), np.zeros(0), "labels"),
    ],
    ids=["length", "shape", "no-anomaly", "no-background", "nan", "empty"],
)
def test_ranking_errors_name_the_argument(function, scores, labels, argument):
    with pytest.raises(ParameterError, match=f"^{argument}:"):
        function(scores, labels)


@pytest.mark.parametrize(
    ("labels", "valid", "argument"),
    [
        (np.zeros((2, 4)), None, "labels"),
        (HAND_LABELS, np.ones((3, 2), dtype=bool), "valid"),
        (HAND_LABELS, np.ones((2, 3), dtype=np.uint8), "valid"),
        (HAND_LABELS, np.zeros((2, 3), dtype=bool), "valid"),
        (np.zeros((2, 3)), None, "labels"),
        (np.ones((2, 3)), None, "labels"),
        (HAND_LABELS, HAND_LABELS == 0, "labels"),
        (HAND_LABELS, HAND_LABELS != 0, "labels"),
    ],
    ids=["labels-shape", "valid-shape", "valid-not-bool", "nothing-valid", "no-anomaly", "no-background",
         "no-valid-anomaly", "no-valid-background"],
)
def test_detection_metrics_errors_name_the_argument(labels, valid, argument):
    with pytest.raises(ParameterError, match=f"^{argument}:"):
        detection_metrics(HAND_SCORES, labels, valid=valid)


def test_detection_metrics_all_non_finite_is_nothing_valid():
    with pytest.raises(ParameterError, match="^valid:.*non-finite"):
        detection_metrics(np.full((2, 3), np.nan), HAND_LABELS)


# --- plots ---------------------------------------------------------------------


@pytest.fixture
def plots():
    pytest.importorskip("matplotlib", reason="matplotlib not installed (pip install 'hadinfer[plot]')")
    from hadinfer import plots

    return plots


def assert_png(path):
    data = Path(path).read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)


def test_save_roc_png_writes_png(plots, tmp_path):
    scores, labels = tied_sample(0)
    fpr, tpr, _ = roc_curve(scores, labels)
    plots.save_roc_png(fpr, tpr, tmp_path / "roc.png", title="test", auc=roc_auc(scores, labels))
    assert_png(tmp_path / "roc.png")


def test_save_roc_png_long_curve_is_thinned_within_tolerance(plots, tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.random(200_000) < 0.05
    fpr, tpr, _ = roc_curve(rng.standard_normal(200_000) + labels, labels)
    thin_fpr, thin_tpr = plots._thin_curve(fpr, tpr, 1e-4)
    assert thin_fpr.size < fpr.size / 2
    assert (thin_fpr[0], thin_tpr[0], thin_fpr[-1], thin_tpr[-1]) == (0.0, 0.0, 1.0, 1.0)

    # Every 1e-4 cell the curve visits keeps a vertex, so no vertex is dropped
    # farther than 1e-4 (in either rate) from a kept one.
    def cells(x, y):
        return set(zip(np.floor(x / 1e-4).tolist(), np.floor(y / 1e-4).tolist()))

    assert cells(thin_fpr, thin_tpr) == cells(fpr, tpr)
    plots.save_roc_png(fpr, tpr, str(tmp_path / "long.png"))
    assert_png(tmp_path / "long.png")


def test_save_quicklook_png_writes_png(plots, tmp_path):
    rng = np.random.default_rng(2)
    score_map = rng.random((40, 60)).astype(np.float32)
    score_map[5, 5] = np.nan
    valid = np.ones(score_map.shape, dtype=bool)
    valid[:, :3] = False
    plots.save_quicklook_png(score_map, tmp_path / "map.png", valid=valid, title="map")
    assert_png(tmp_path / "map.png")


def test_save_quicklook_png_decimates_large_map_keeping_anomalies(plots, tmp_path):
    score_map = np.zeros((2500, 30), dtype=np.float32)
    score_map[1001, 7] = 9.0
    pooled, shown = plots._block_max(score_map, np.isfinite(score_map), 2)
    assert pooled.shape == (1250, 15) and shown.all() and pooled[500, 3] == 9.0
    plots.save_quicklook_png(score_map, tmp_path / "tall.png")
    assert_png(tmp_path / "tall.png")


def test_save_quicklook_png_errors(plots, tmp_path):
    with pytest.raises(ParameterError, match="^score_map:"):
        plots.save_quicklook_png(np.zeros((2, 3, 4)), tmp_path / "x.png")
    with pytest.raises(ParameterError, match="^valid:"):
        plots.save_quicklook_png(np.zeros((2, 3)), tmp_path / "x.png", valid=np.ones((2, 3), dtype=int))
    with pytest.raises(AllNodataError):
        plots.save_quicklook_png(np.full((2, 3), np.nan), tmp_path / "x.png")
    with pytest.raises(OutputPathError, match="missing"):
        plots.save_quicklook_png(np.zeros((2, 3)), tmp_path / "missing" / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plots_without_matplotlib_name_the_extra(monkeypatch, tmp_path):
    from hadinfer import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hadinfer\[plot\]'"):
        plots.save_roc_png([0.0, 1.0], [0.0, 1.0], tmp_path / "roc.png")


def test_plots_leave_matplotlib_global_state_alone(plots, tmp_path):
    code = (
        "import sys; import hadinfer.plots as p; assert 'matplotlib' not in sys.modules; "
        f"p.save_roc_png([0, 1], [0, 1], {str(tmp_path / 'r.png')!r}); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
    assert_png(tmp_path / "r.png")
