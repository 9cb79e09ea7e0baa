"""Issue 21: a detector value is resolved once per run, and the hooks the pipeline uses are declared.

The registry's :func:`~hadinfer.detectors.registry.resolve` is the only function that
looks a ``--detector`` value up; counting its calls shows that a run resolves once and
hands the resulting :class:`~hadinfer.detectors.registry.DetectorChoice` on.
"""

import pickle

import numpy as np
import pytest
from click.testing import CliRunner

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.detectors import Detector, registry
from hadinfer.detectors.base import DETECTOR_HOOKS
from hadinfer.detectors.registry import DetectorChoice, DetectorEntry, choose
from hadinfer.errors import ParameterError


@pytest.fixture
def resolutions(monkeypatch):
    """Every value the registry resolves during the test, in order."""
    seen = []
    original = registry.resolve

    def counting(value):
        seen.append(value)
        return original(value)

    monkeypatch.setattr(registry, "resolve", counting)
    return seen


@pytest.mark.parametrize("detector, params", [("grx", {}), ("lrx", {"inner": 3, "outer": 9}), ("fusion", {})])
def test_api_detect_resolves_the_detector_once(detector, params, small_tif, tmp_path, resolutions):
    hadinfer.detect(small_tif, tmp_path / "map.tif", detector=detector, device="cpu", **params)
    assert resolutions == [detector]


def test_api_detect_in_memory_resolves_once(small_cube, resolutions):
    hadinfer.detect(small_cube, detector="grx", device="cpu", pfa=0.01, threshold_rule="chi2")
    assert resolutions == ["grx"]


def test_api_detect_with_a_choice_or_an_instance_resolves_nothing(small_cube, resolutions):
    choice = choose("lrx", {"inner": 3, "outer": 9})
    resolutions.clear()
    hadinfer.detect(small_cube, detector=choice, device="cpu")
    hadinfer.detect(small_cube, detector=hadinfer.GlobalRX(), device="cpu")
    assert resolutions == []


@pytest.mark.parametrize("args", [["--detector", "grx"], ["--detector", "lrx", "--window", "3,9"], []])
def test_cli_detect_of_one_scene_resolves_once(args, small_tif, tmp_path, resolutions):
    result = CliRunner().invoke(cli, ["detect", str(small_tif), "-o", str(tmp_path / "map.tif"), "--device", "cpu",
                                      "--report", str(tmp_path / "run.json"), *args])
    assert result.exit_code == 0, result.output
    assert len(resolutions) == 1


def test_a_choice_holds_what_a_run_needs():
    choice = choose("learned", {"n_components": 4})
    assert isinstance(choice, DetectorChoice)
    assert choice.name == "learned" and choice.feature_pass and not choice.needs_scene
    assert len(choice.model_files) == 1 and choice.params == {"n_components": 4}
    assert not choose("grx").feature_pass and choose("grx").model_files == ()
    with pytest.raises(ParameterError, match="does not take inner"):
        choose("grx", {"inner": 3})
    with pytest.raises(ParameterError, match="does not take inner"):
        choose("grx").with_params(inner=3)
    assert pickle.loads(pickle.dumps(choose("lrx", {"inner": 3, "outer": 9}))).build().outer == 9


def test_cluster_spec_carries_the_choice(resolutions):
    pytest.importorskip("dask", reason="the cluster paths need the 'dask' extra")
    from hadinfer.distributed.specs import detector_spec

    choice = choose("lrx", {"inner": 3, "outer": 9})
    spec = detector_spec(choice, {})
    assert spec.choice is choice and spec.name == "lrx" and spec.build().inner == 3
    assert resolutions == ["lrx"]


class _Plugin:
    """A detector-like class that does not subclass Detector and lacks some hooks."""

    name = "plugin"
    halo = 0

    def fit(self, stats):
        return self

    def score(self, cube, valid, core=None, arrays=None):
        return np.zeros(valid.shape, np.float32)


def test_a_plugin_class_missing_declared_hooks_fails_at_registration():
    entry = DetectorEntry("half-plugin", "a plugin missing hooks", _Plugin)
    with pytest.raises(ParameterError) as caught:
        registry.register(entry)
    message = str(caught.value)
    assert "\n" not in message and "half-plugin" in message and "_Plugin" in message
    for hook in ("stats_precision", "feature_pass", "chi2_dof", "train_report", "runtime", "tile_limits"):
        assert hook in message
    assert "fit," not in message and "score," not in message
    assert "half-plugin" not in registry.registered()


def test_a_complete_duck_typed_plugin_class_registers(monkeypatch):
    class Complete(_Plugin):
        pass

    for hook in DETECTOR_HOOKS:
        if not hasattr(Complete, hook):
            setattr(Complete, hook, getattr(Detector, hook))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    assert registry.register(DetectorEntry("duck", "complete", Complete)).factory is Complete


def test_a_factory_function_returning_an_incomplete_detector_fails_when_built():
    entry = DetectorEntry("half-function", "returns a _Plugin", lambda: _Plugin())
    with pytest.raises(ParameterError, match="half-function.*lacks .*stats_precision"):
        registry._bind(entry, "half-function", {}, {}).build()


def test_declared_hooks_have_documented_defaults():
    class Minimal(Detector):
        def __init__(self, alpha: float = 1.0, beta: int = 2):
            self.alpha = alpha
            self._beta = beta

    detector = Minimal(alpha=3.0)
    assert detector.stats_precision == "float64" and not detector.feature_pass and detector.feature_count == 0
    assert detector.runtime is None and detector.train_report is None and detector.chi2_dof() is None
    assert detector.params() == {"alpha": 3.0}  # read from the signature; beta is stored under another name
    with pytest.raises(NotImplementedError):
        detector.features(np.zeros((2, 2, 3)), np.ones((2, 2), bool))
    assert hadinfer.GlobalRX(precision="float64").stats_precision == "float64"
