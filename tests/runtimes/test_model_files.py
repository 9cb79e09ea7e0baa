"""Issue 11: model files are checked completely when they are opened, and never overwritten.

A bad ONNX graph, a tampered checkpoint or a folder given to ``--detector`` fails with
one line naming the file and the problem, before the scene is read (no statistics pass),
and leaves every file in the folder as it was.
"""

import json

import numpy as np
import pytest

import hadinfer
import hadinfer.api
from hadinfer.detectors import make_detector
from hadinfer.errors import ModelFileError, OutputPathError
from hadinfer.synthetic import write_synthetic_scene

from ..cli.test_data_loss import assert_one_line_error, checksums, run

CHANNELS = 5  # a plain policy of 4 whitened components plus the global-RX channel


def open_model(path, runtime="auto"):
    """A model file's detector, as ``--detector PATH --runtime RUNTIME`` builds it."""
    return make_detector(str(path), runtime=runtime)


@pytest.fixture
def work(tmp_path):
    """v.tif, a small synthetic scene."""
    write_synthetic_scene(tmp_path / "v.tif", None, height=24, width=20, bands=8)
    return tmp_path


@pytest.fixture
def scene_never_read(monkeypatch):
    """Fail the test if the scene is opened: a bad model must be caught before any statistics pass."""
    def read_the_scene(*args, **kwargs):
        pytest.fail("the scene was read although the model file is bad")

    monkeypatch.setattr(hadinfer.api, "_detect", read_the_scene)


# ---------------------------------------------------------------- ONNX

def write_onnx(path, *, input_name="input", output_name="logits", input_shape=("batch", CHANNELS, "h", "w"),
               input_type="FLOAT", logits_channels=1, metadata=None):
    """A tiny hadinfer ONNX model: logits = mean over channels (or repeated), with hadinfer metadata."""
    onnx = pytest.importorskip("onnx", reason="building test models needs onnx (extra 'export')")
    from onnx import TensorProto, helper

    elem = getattr(TensorProto, input_type)
    nodes = [helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1], keepdims=1)]
    if logits_channels == 1:
        nodes.append(helper.make_node("Identity", ["mean"], [output_name]))
        out_shape = ["batch", 1, "h", "w"]
    else:
        nodes.append(helper.make_node("Concat", ["mean"] * logits_channels, [output_name], axis=1))
        out_shape = ["batch", logits_channels, "h", "w"]
    if len(input_shape) != 4:  # ReduceMean over axis 1 still works; the output then has the input's rank
        out_shape = [None] * len(input_shape)
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info(input_name, elem, list(input_shape))],
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    from hadinfer.models.input_policy import InputPolicy

    meta = {"hadinfer_format": "hadinfer-onnx", "format_version": "1", "precision": "float32",
            "channels": str(CHANNELS), "receptive_radius": "0",
            "input_policy": json.dumps(InputPolicy(CHANNELS - 1).metadata()), "network": "{}", "provenance": "{}"}
    for key, value in (meta | (metadata or {})).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def test_a_good_tiny_onnx_model_runs(work):
    pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")
    model = write_onnx(work / "ok.onnx")
    result = hadinfer.detect(work / "v.tif", detector=str(model), device="cpu")
    assert result.scores.shape == (24, 20) and np.isfinite(result.scores).all()


BAD_ONNX = {  # what is wrong -> (builder arguments, the whole message after "<file>: ")
    "input-rank-3": (dict(input_shape=("batch", CHANNELS, "n")),
                     "input 'input' has rank 3 (shape (batch, 5, n)), expected 4: (batch, 5 channels, rows, cols)"),
    "input-rank-5": (dict(input_shape=(1, 1, CHANNELS, "h", "w")),
                     "input 'input' has rank 5 (shape (1, 1, 5, h, w)), expected 4"),
    "wrong-channel-count": (dict(input_shape=("batch", 17, "h", "w")),
                            "input 'input' has 17 channels (shape (batch, 17, h, w)), but its metadata says 5"),
    "no-input-named-input": (dict(input_name="x0"), "the graph has no input named 'input' (its inputs: x0)"),
    "no-output-named-logits": (dict(output_name="scores"),
                               "the graph has no output named 'logits' (its outputs: scores)"),
    "float16-input": (dict(input_type="FLOAT16"), "input 'input' is tensor(float16), expected tensor(float)"),
    "two-channel-logits": (dict(logits_channels=2), "output 'logits' has 2 channels"),
    "metadata-channels-not-a-number": (dict(metadata={"channels": "many"}), "malformed hadinfer metadata"),
    "metadata-without-receptive-radius": (dict(metadata={"receptive_radius": None}),
                                          "hadinfer metadata lacks 'receptive_radius'"),
}


def _bad_onnx(path, case):
    args, _ = BAD_ONNX[case]
    if args.get("metadata", {}).get("receptive_radius", "") is None:
        write_onnx(path)
        import onnx

        proto = onnx.load(str(path))
        keep = [p for p in proto.metadata_props if p.key != "receptive_radius"]
        del proto.metadata_props[:]
        proto.metadata_props.extend(keep)
        onnx.save(proto, str(path))
        return path
    return write_onnx(path, **args)


@pytest.mark.parametrize("case", list(BAD_ONNX))
def test_bad_onnx_model_fails_at_open_with_the_whole_reason(tmp_path, case):
    pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")
    path = _bad_onnx(tmp_path / "bad.onnx", case)
    with pytest.raises(ModelFileError) as caught:
        open_model(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and BAD_ONNX[case][1] in message
    assert "\n" not in message


@pytest.mark.parametrize("case", ["input-rank-3", "wrong-channel-count", "no-output-named-logits"])
def test_bad_onnx_model_on_the_cli_is_one_line_before_the_scene_is_read(work, case, scene_never_read):
    pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")
    model = _bad_onnx(work / "bad.onnx", case)
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", work / "map.tif", "--detector", model, "--report",
                 work / "run.json")
    assert_one_line_error(result, BAD_ONNX[case][1])
    assert checksums(work) == before  # no map, no report, no temp file


def test_onnx_runtime_failure_while_scoring_is_one_whole_line(tmp_path):
    pytest.importorskip("onnxruntime", reason="needs onnxruntime (extra 'onnx')")
    detector = open_model(write_onnx(tmp_path / "ok.onnx"))

    class Failing:
        def run(self, names, feeds):
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input\n"
                               " index: 1 Got: 4 Expected: 5\n Please fix either the inputs or the model.")

    runtime = detector.runtime.bind("cpu")
    runtime.session = Failing()
    with pytest.raises(ModelFileError) as caught:
        runtime.run(np.zeros((1, 4, 8, 8), np.float32))
    message = str(caught.value)
    assert "\n" not in message and message.endswith("Got: 4 Expected: 5 Please fix either the inputs or the model.)")


# ---------------------------------------------------------------- checkpoints

def _tiny_checkpoint(path):
    torch = pytest.importorskip("torch", reason="checkpoints need torch (extra 'train')")
    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
    from hadinfer.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = AnomalyFCN(NetworkConfig(in_channels=CHANNELS, width=8, dilations=(1,)))
    return save_checkpoint(path, model, provenance={"test": True})


def _drop_first(weights):
    return dict(list(weights.items())[1:])


def _reshape_first(weights):
    import torch

    name = next(iter(weights))
    return weights | {name: torch.zeros(tuple(weights[name].shape) + (2,))}


def _name_first(weights):
    return dict(list(weights.items())[:1])


TAMPERED = {  # what is changed in the checkpoint -> (edit of the payload, message fragment)
    "missing-weights": (lambda p: p | {"state_dict": _drop_first(p["state_dict"])}, "1 weight missing"),
    "all-weights-but-one-missing": (lambda p: p | {"state_dict": _name_first(p["state_dict"])}, "11 weights missing"),
    "extra-weight": (lambda p: p | {"state_dict": p["state_dict"] | {"head.extra": p["state_dict"][
        next(iter(p["state_dict"]))]}}, "1 weight its network does not have (head.extra)"),
    "wrong-shape": (lambda p: p | {"state_dict": _reshape_first(p["state_dict"])}, "its network expects"),
    "weight-not-a-tensor": (lambda p: p | {"state_dict": {k: 1.0 for k in p["state_dict"]}}, "not a tensor"),
    "no-input-entry": (lambda p: {k: v for k, v in p.items() if k != "input"}, "checkpoint has no 'input' entry"),
    "no-network-entry": (lambda p: {k: v for k, v in p.items() if k != "network"},
                         "checkpoint has no 'network' entry"),
    "no-weights-entry": (lambda p: {k: v for k, v in p.items() if k != "state_dict"},
                         "checkpoint has no 'state_dict' entry"),
    "network-entry-a-list": (lambda p: p | {"network": [1, 2]}, "entry 'network' is a list, expected a dict"),
    "network-with-unknown-field": (lambda p: p | {"network": p["network"] | {"heads": 3}},
                                   "'network' does not describe a network"),
    "network-without-dilations": (lambda p: p | {"network": {k: v for k, v in p["network"].items()
                                                             if k != "dilations"}},
                                  "'network' does not describe a network"),
    "input-policy-of-other-width": (lambda p: p | {"input": p["input"] | {"components": 9}},
                                    "network expects 5"),
}


def _tampered(path, case):
    import torch

    good = _tiny_checkpoint(path.with_name("good.pt"))
    payload = torch.load(good, weights_only=True)
    torch.save(TAMPERED[case][0](payload), path)
    good.unlink()
    return path


def test_a_good_tiny_checkpoint_loads(tmp_path):
    from hadinfer.runtimes.torch_runtime import TorchRuntime

    assert isinstance(open_model(_tiny_checkpoint(tmp_path / "m.pt")).runtime, TorchRuntime)


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_checkpoint_fails_at_open(tmp_path, case):
    from hadinfer.models.checkpoint import load_checkpoint

    path = _tampered(tmp_path / "bad.pt", case)
    with pytest.raises(ModelFileError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and TAMPERED[case][1] in message and "\n" not in message


@pytest.mark.parametrize("case", ["missing-weights", "extra-weight", "wrong-shape", "no-input-entry"])
def test_tampered_checkpoint_on_the_cli_is_one_line_before_the_scene_is_read(work, case, scene_never_read):
    model = _tampered(work / "bad.pt", case)
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", work / "map.tif", "--detector", model)
    assert_one_line_error(result, TAMPERED[case][1])
    assert checksums(work) == before


class _RemovesAFile:
    """Unpickling this calls os.remove: what a malicious checkpoint would do."""

    def __init__(self, victim):
        self.victim = str(victim)

    def __reduce__(self):
        import os

        return os.remove, (self.victim,)


def test_malicious_pickle_is_never_run(work):
    torch = pytest.importorskip("torch", reason="checkpoints need torch (extra 'train')")
    victim = work / "victim.txt"
    victim.write_text("still here")
    torch.save({"format": "hadinfer-checkpoint", "format_version": 1, "payload": _RemovesAFile(victim)},
               work / "evil.pt")
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", work / "map.tif", "--detector", work / "evil.pt")
    assert_one_line_error(result, "evil.pt: not a hadinfer checkpoint (UnpicklingError)")
    assert victim.read_text() == "still here" and checksums(work) == before


# ---------------------------------------------------------------- folders

@pytest.mark.parametrize("spelling", ["models", "models/", "./models"])
def test_detector_naming_a_folder_is_one_line(work, monkeypatch, spelling, scene_never_read):
    (work / "models").mkdir()
    monkeypatch.chdir(work)
    before = checksums(work)
    result = run("detect", "v.tif", "-o", "map.tif", "--detector", spelling)
    assert_one_line_error(result, f"{spelling}: is a folder, not a model file")
    assert checksums(work) == before


@pytest.mark.parametrize("runtime", ["auto", "torch", "onnxruntime", "tensorrt"])
def test_every_runtime_refuses_a_folder(tmp_path, runtime):
    with pytest.raises(ModelFileError, match="is a folder"):
        open_model(tmp_path, runtime=runtime)


# ---------------------------------------------------------------- files that are not networks

def test_a_feature_model_given_as_a_network_says_how_to_run_it(work, scene_never_read):
    """``--detector learned-v3.npz`` was "not a hadinfer checkpoint (RuntimeError)"."""
    from hadinfer.weights import shipped_model

    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", work / "map.tif", "--detector", shipped_model("learned"))
    assert_one_line_error(result, "a feature model of the learned detector, not a network; run it with "
                                  "--detector learned --feature-model")
    assert checksums(work) == before


def test_a_feature_model_as_a_start_checkpoint_is_named_as_one():
    """``hadinfer train --start learned-v3.npz`` was "not a hadinfer checkpoint (RuntimeError)"."""
    pytest.importorskip("torch", reason="checkpoints need the train extra")
    from hadinfer.models.checkpoint import load_checkpoint
    from hadinfer.weights import shipped_model

    with pytest.raises(ModelFileError, match="a feature model of the learned detector .*not a network checkpoint"):
        load_checkpoint(shipped_model("learned"))


@pytest.mark.parametrize("name", ["v.tif", "cube.mat"])
def test_a_scene_given_as_a_model_is_named_as_one(work, name, scene_never_read):
    if name == "cube.mat":
        scipy_io = pytest.importorskip("scipy.io", reason="writing .mat files needs scipy")
        scipy_io.savemat(work / name, {"data": np.ones((4, 4, 3))})
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", work / "map.tif", "--detector", work / name)
    assert_one_line_error(result, f"{name}: a raster or MATLAB file, not a model")
    assert checksums(work) == before


# ---------------------------------------------------------------- model files are inputs

def test_map_never_replaces_the_onnx_model_it_runs(work):
    model = write_onnx(work / "m.onnx")
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", model, "--detector", model, "--overwrite")
    assert_one_line_error(result, f"output would replace its own input {model}")
    assert checksums(work) == before


@pytest.mark.parametrize("alias", ["same", "dotdot", "hardlink"])
def test_map_never_replaces_the_checkpoint_it_runs(work, alias):
    import os

    model = _tiny_checkpoint(work / "m.pt")
    target = {"same": model, "dotdot": work / "sub" / ".." / "m.pt", "hardlink": work / "m-link.pt"}[alias]
    (work / "sub").mkdir()
    if alias == "hardlink":
        os.link(model, target)
    before = checksums(work)
    result = run("detect", work / "v.tif", "-o", target, "--detector", model, "--runtime", "torch", "--overwrite")
    assert_one_line_error(result, "output would replace its own input")
    assert checksums(work) == before


def test_adapt_map_never_replaces_its_start_checkpoint(work):
    model = _tiny_checkpoint(work / "m.pt")
    before = checksums(work)
    with pytest.raises(OutputPathError, match="its own input"):
        hadinfer.detect(work / "v.tif", model, detector="adapt", start=str(model), overwrite=True)
    assert checksums(work) == before


def test_shipped_model_files_are_inputs_of_general_and_adapt():
    from hadinfer.weights import shipped_model

    onnx_file, checkpoint = shipped_model("general"), shipped_model("general", checkpoint=True)
    assert set(hadinfer.api.model_inputs("general", {})) == {onnx_file, checkpoint}
    assert hadinfer.api.model_inputs("adapt", {}) == (checkpoint,)
    assert hadinfer.api.model_inputs("adapt", {"start": "s.pt"}) == ("s.pt",)
    assert hadinfer.api.model_inputs("grx", {}) == () and hadinfer.api.model_inputs("typo", {}) == ()


@pytest.mark.parametrize("option", ["-o", "--report"])
def test_train_never_replaces_its_start_checkpoint(work, option):
    model = _tiny_checkpoint(work / "start.pt")
    before = checksums(work)
    outputs = {"-o": ["-o", model], "--report": ["-o", work / "new.pt", "--report", model]}[option]
    result = run("train", work / "v.tif", *outputs, "--start", model, "--steps", "1", "--overwrite", "-q")
    assert_one_line_error(result, f"output would replace its own input {model}")
    assert checksums(work) == before
