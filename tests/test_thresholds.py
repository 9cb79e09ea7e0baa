"""The tail model: a false-alarm rate on background pixels, whatever the anomalies in the map."""

import numpy as np
import pytest

from hadinfer.errors import ParameterError
from hadinfer.thresholds import TailModel, check_rate, check_threshold, choose_threshold


def _pareto_map(rng, n=200_000, anomalies=0.005):
    background = rng.pareto(4.0, size=n) + 1.0  # survival x^-4 above 1: the 1e-2 quantile is 10**0.5
    scores = background.copy()
    hit = rng.random(n) < anomalies
    scores[hit] = 50 + 100 * rng.random(hit.sum())  # strong anomalies at the top of the map
    return scores, hit


@pytest.mark.parametrize("pfa", [0.01, 0.001])
def test_the_tail_model_ignores_the_anomalies_it_censors(pfa):
    scores, hit = _pareto_map(np.random.default_rng(0))
    chosen = choose_threshold(scores, pfa=pfa)
    realized = np.mean(scores[~hit] > chosen.value)
    assert 0.6 < realized / pfa < 1.4
    quantile = choose_threshold(scores, pfa=pfa, rule="quantile")  # anomalies use up the quantile's budget
    assert np.mean(scores[~hit] > quantile.value) < 0.6 * pfa


def test_heavy_contamination_makes_the_threshold_conservative_not_liberal():
    scores, hit = _pareto_map(np.random.default_rng(2), anomalies=0.03)  # above the censored 2 %
    chosen = choose_threshold(scores, pfa=0.01)
    assert np.mean(scores[~hit] > chosen.value) < 0.01


def test_the_flagged_share_follows_the_content_not_the_rate():
    rng = np.random.default_rng(1)
    empty = rng.pareto(4.0, size=100_000) + 1.0
    busy, _ = _pareto_map(rng, n=100_000, anomalies=0.01)
    flagged = [np.mean(m > choose_threshold(m, pfa=0.001).value) for m in (empty, busy)]
    assert flagged[0] < 0.002 and flagged[1] > 0.009  # all the anomalies


def test_fit_parameters_and_degenerate_maps():
    model = TailModel.fit(np.arange(1, 1001, dtype=float))
    assert model.level == pytest.approx(np.quantile(np.arange(1, 1001), 0.9)) and model.scale == "log"
    assert model.sf(model.isf(0.01)) == pytest.approx(0.01)
    signed = TailModel.fit(np.linspace(-5, -1, 1000))  # a level <= 0: the linear scale
    assert signed.scale == "linear" and signed.isf(0.01) > signed.level
    with pytest.raises(ParameterError, match="start < censor"):
        TailModel.fit(np.arange(10.0), start=0.99, censor=0.9)
    with pytest.raises(ParameterError, match="no finite"):
        TailModel.fit(np.full(5, np.nan))


@pytest.mark.parametrize("bad", [float("nan"), 0.0, 1.0, -1, "x", None])
def test_rates_and_thresholds_are_checked(bad):
    with pytest.raises(ParameterError):
        check_rate(bad)
    if bad is not None and bad not in (0.0, 1.0, -1):
        with pytest.raises(ParameterError):
            check_threshold(bad)
    with pytest.raises(ParameterError, match="rule"):
        choose_threshold(np.ones(4), pfa=0.1, rule="magic")
    with pytest.raises(ParameterError, match="chi2_dof"):
        choose_threshold(np.ones(4), pfa=0.1, rule="chi2")


def test_a_large_rate_is_the_maps_own_quantile():
    scores = np.arange(1000, dtype=float)
    assert choose_threshold(scores, pfa=0.2).value == pytest.approx(np.quantile(scores, 0.8))


def test_the_chi2_rule_is_refused_before_the_run_for_detectors_without_a_chi_square(small_tif, tmp_path):
    """fusion with threshold_rule='chi2' failed after its map was written."""
    import hadinfer

    out = tmp_path / "map.tif"
    with pytest.raises(ParameterError, match="fusion's scores follow no chi-square distribution"):
        hadinfer.detect(small_tif, out, detector="fusion", pfa=1e-3, threshold_rule="chi2")
    assert not out.exists()
    result = hadinfer.detect(small_tif, out, detector="grx", pfa=1e-3, threshold_rule="chi2")
    assert result.threshold.rule == "chi2" and out.exists()
