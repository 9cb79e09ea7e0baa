"""RXOutlierDetector: the scikit-learn / PyOD surface over pixel arrays."""

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import ParameterError
from hadinfer.estimator import RXOutlierDetector


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 6))
    X[:10] += 12
    return X


def test_fit_sets_the_pyod_attributes(pixels):
    model = RXOutlierDetector(pfa=0.001).fit(pixels)
    assert model.decision_scores_.shape == (4000,) and model.labels_.shape == (4000,)
    assert model.n_features_in_ == 6 and np.isfinite(model.threshold_)
    assert model.labels_[:10].all() and model.labels_[10:].mean() < 0.01
    np.testing.assert_array_equal(model.predict(pixels), model.labels_)
    np.testing.assert_allclose(model.decision_function(pixels), model.decision_scores_)
    assert model.threshold_info_.rule == "tail"


def test_scores_match_global_rx_on_the_same_pixels(pixels):
    model = RXOutlierDetector().fit(pixels)
    cube = pixels.reshape(40, 100, 6)
    want = hadinfer.detect(cube, detector="grx", device="cpu", precision="float64").scores.ravel()
    np.testing.assert_allclose(model.decision_scores_, want, rtol=1e-4)


def test_contamination_is_pyods_quantile_rule(pixels):
    model = RXOutlierDetector(contamination=0.05).fit(pixels)
    assert model.labels_.mean() == pytest.approx(0.05, abs=0.001)
    assert RXOutlierDetector().set_params(pfa=0.2).get_params()["pfa"] == 0.2


def test_non_finite_rows_are_skipped_and_not_flagged(pixels):
    X = pixels.copy()
    X[20, 3] = np.nan
    model = RXOutlierDetector().fit(X)
    assert np.isnan(model.decision_scores_[20]) and model.labels_[20] == 0


@pytest.mark.parametrize("call, match", [
    (lambda: RXOutlierDetector().fit(np.zeros((4, 5, 6))), "n_samples, n_bands"),
    (lambda: RXOutlierDetector(pfa=float("nan")).fit(np.zeros((4, 2))), "pfa"),
    (lambda: RXOutlierDetector(contamination=0.9).fit(np.zeros((4, 2))), "contamination"),
    (lambda: RXOutlierDetector().decision_function(np.zeros((4, 2))), "fit"),
    (lambda: RXOutlierDetector().fit(np.ones((9, 3))).predict(np.ones((2, 4))), "3"),
    (lambda: RXOutlierDetector().set_params(alpha=1), "alpha"),
    (lambda: RXOutlierDetector().fit(np.full((3, 2), np.nan)), "no row"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises(ParameterError, match=match):
        call()
