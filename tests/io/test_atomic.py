"""The one write rule (hadinfer.io.atomic): unique temp name, no symlinks, no inputs, no-replace rename."""

import errno
import os

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import OutputExistsError, OutputPathError
from hadinfer.io import atomic
from hadinfer.io.atomic import atomic_output, check_output_path, commit, make_temp
from hadinfer.io.writer import ScoreMapWriter

from ..conftest import write_geotiff


def files(folder):
    return sorted(os.listdir(folder))


def planted_token(monkeypatch, *tokens):
    """Make the temporary names predictable (as pid-based names were), to plant links at them."""
    queue = list(tokens)
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: queue.pop(0) if queue else os.urandom(n).hex())


def test_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "run.json"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.json.") and tmp.exists()
        tmp.write_text("{}")
        assert not target.exists()
    assert target.read_text() == "{}" and files(tmp_path) == ["run.json"]


def test_temp_files_get_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    with atomic_output(tmp_path / "a.json") as tmp:
        tmp.write_text("{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt, SystemExit])
def test_any_exception_removes_the_temp_file(tmp_path, error):
    target = tmp_path / "old.json"
    target.write_text("old")
    with pytest.raises(error):
        with atomic_output(target, overwrite=True) as tmp:
            tmp.write_text("half")
            raise error()
    assert target.read_text() == "old" and files(tmp_path) == ["old.json"]


def test_write_error_is_one_line_and_leaves_nothing(tmp_path):
    with pytest.raises(OutputPathError, match="No space left on device") as caught:
        with atomic_output(tmp_path / "run.json") as tmp:
            tmp.write_text("partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert "\n" not in str(caught.value) and files(tmp_path) == []


def test_file_created_during_the_run_is_not_replaced(tmp_path):
    target = tmp_path / "map.png"
    with pytest.raises(OutputExistsError, match="appeared while this command ran") as caught:
        with atomic_output(target) as tmp:  # checked: nothing there yet
            tmp.write_text("ours")
            target.write_text("another run's")  # e.g. a second hadinfer started at the same time
    assert "\n" not in str(caught.value)
    assert target.read_text() == "another run's" and files(tmp_path) == ["map.png"]


def test_file_created_during_the_run_is_replaced_with_overwrite(tmp_path):
    target = tmp_path / "map.png"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("ours")
        target.write_text("another run's")
    assert target.read_text() == "ours" and files(tmp_path) == ["map.png"]


def test_link_planted_at_the_target_during_the_run_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.json"
    with pytest.raises(OutputExistsError):
        with atomic_output(target) as tmp:
            tmp.write_text("ours")
            target.symlink_to(victim)
    assert victim.read_text() == "precious" and target.is_symlink()


def test_commit_refuses_to_replace_without_overwrite(tmp_path):
    tmp = make_temp(tmp_path / "a.tif")
    (tmp_path / "a.tif").write_text("there first")
    with pytest.raises(OutputExistsError):
        commit(tmp, tmp_path / "a.tif", overwrite=False)
    assert (tmp_path / "a.tif").read_text() == "there first"


def test_score_map_writer_does_not_replace_a_map_that_appeared(tmp_path):
    scene = write_geotiff(tmp_path / "in.tif", np.zeros((20, 20, 2), np.int16))
    with hadinfer.open_scene(scene) as opened:
        info = opened.info
    target = tmp_path / "map.tif"
    with pytest.raises(OutputExistsError):
        with ScoreMapWriter(target, info) as writer:
            writer.write(0, 0, np.ones((20, 20), np.float32))
            target.write_bytes(b"another run's map")
    assert target.read_bytes() == b"another run's map" and files(tmp_path) == ["in.tif", "map.tif"]


@pytest.mark.parametrize("dangling", [True, False], ids=["dangling", "to-a-file"])
def test_symlink_at_the_target_is_refused(tmp_path, dangling):
    victim = tmp_path / "elsewhere.json"
    if not dangling:
        victim.write_text("precious")
    link = tmp_path / "run.json"
    link.symlink_to(victim)
    for overwrite in (False, True):
        with pytest.raises(OutputPathError, match="symbolic link"):
            with atomic_output(link, overwrite=overwrite) as tmp:
                tmp.write_text("{}")
    assert victim.exists() is not dangling and (dangling or victim.read_text() == "precious")
    assert link.is_symlink() and len(files(tmp_path)) == 2 - dangling


def test_every_alias_of_an_input_is_refused(tmp_path):
    source = tmp_path / "scene.tif"
    source.write_bytes(b"scene")
    (tmp_path / "sub").mkdir()
    os.link(source, tmp_path / "hard.tif")
    aliases = [source, tmp_path / "sub" / ".." / "scene.tif", tmp_path / "hard.tif"]
    for alias in aliases:
        with pytest.raises(OutputPathError, match="its own input"):
            check_output_path(alias, overwrite=True, inputs=(source,))
    assert source.read_bytes() == b"scene"


def test_outputs_of_one_command_must_be_distinct(tmp_path):
    with pytest.raises(OutputPathError, match="another output"):
        check_output_path(tmp_path / "a" / ".." / "out.tif", others=(tmp_path / "out.tif",))
    with pytest.raises(OutputPathError, match="another output"):
        check_output_path("out.tif", others=(None, os.path.join(".", "out.tif")))


def test_folder_and_missing_parent_are_refused(tmp_path):
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(tmp_path, overwrite=True)
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_path(tmp_path / "no" / "x.json")


def test_temp_names_are_unique_and_never_follow_a_planted_link(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / ".m.pt.0000.tmp").symlink_to(victim)  # the name an attacker predicted
    planted_token(monkeypatch, "0000")
    tmp = make_temp(tmp_path / "m.pt")
    assert tmp.name != ".m.pt.0000.tmp" and tmp.stat().st_size == 0 and not tmp.is_symlink()
    assert victim.read_text() == "precious"
    assert make_temp(tmp_path / "m.pt") != tmp


def test_checkpoint_never_writes_through_a_planted_link(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="checkpoints need torch (extra 'torch')")
    from hadinfer.models.anomaly_fcn import AnomalyFCN, NetworkConfig
    from hadinfer.models.checkpoint import save_checkpoint

    model = AnomalyFCN(NetworkConfig(width=4, dilations=(1,)))
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "model.pt"
    link.symlink_to(victim)
    with pytest.raises(OutputPathError, match="symbolic link"):
        save_checkpoint(link, model, provenance={}, overwrite=True)
    link.unlink()
    (tmp_path / ".model.pt.beef.tmp").symlink_to(victim)  # at the temporary name
    planted_token(monkeypatch, "beef")
    save_checkpoint(link, model, provenance={})
    assert victim.read_text() == "precious" and link.is_file() and not link.is_symlink()
    assert files(tmp_path) == [".model.pt.beef.tmp", "model.pt", "victim"]


def test_onnx_export_never_writes_through_a_link(tmp_path):
    pytest.importorskip("torch", reason="export needs torch (extra 'export')")
    pytest.importorskip("onnx", reason="export needs onnx (extra 'export')")
    from hadinfer.export.onnx_export import export_onnx

    victim = tmp_path / "victim.onnx"
    victim.write_bytes(b"precious")
    link = tmp_path / "model.onnx"
    link.symlink_to(victim)
    with pytest.raises(OutputPathError, match="symbolic link"):
        export_onnx(tmp_path / "any.pt", link, overwrite=True)
    assert victim.read_bytes() == b"precious" and files(tmp_path) == ["model.onnx", "victim.onnx"]


def test_synthetic_scene_interrupted_leaves_nothing(tmp_path, monkeypatch):
    from hadinfer import synthetic

    calls = {"n": 0}
    render = synthetic._SceneModel.render

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return render(self, *args)

    monkeypatch.setattr(synthetic._SceneModel, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        synthetic.write_synthetic_scene(tmp_path / "s.tif", tmp_path / "t.tif", height=64, width=16,
                                        bands=4, block_rows=16)
    assert files(tmp_path) == []


def test_synthetic_scene_refuses_links_and_one_file_for_both(tmp_path):
    from hadinfer.synthetic import write_synthetic_scene

    (tmp_path / "s.tif").symlink_to(tmp_path / "nowhere.tif")
    with pytest.raises(OutputPathError, match="symbolic link"):
        write_synthetic_scene(tmp_path / "s.tif", height=8, width=8, bands=2, overwrite=True)
    with pytest.raises(OutputPathError):
        write_synthetic_scene(tmp_path / "a.tif", tmp_path / "x" / ".." / "a.tif", height=8, width=8, bands=2)
    assert files(tmp_path) == ["s.tif"]


def test_write_failure_reason_is_the_whole_cause_on_one_line(tmp_path):
    """A library's later lines often hold the reason: kept, joined (hadinfer.errors.one_line)."""
    try:
        try:
            raise RuntimeError("TIFFWriteEncodedTile failed.\n  disk quota exceeded")
        except RuntimeError as cause:
            raise ValueError("Write failed. See previous exception for details.") from cause
    except ValueError as exc:
        reason = atomic.write_failure_reason(exc, tmp_path)
    assert reason == "TIFFWriteEncodedTile failed. disk quota exceeded"
