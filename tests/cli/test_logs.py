"""Logging and progress on the command line: hadinfer's own debug lines with -v (rasterio's
only with -vv), -q and -v after the subcommand too, periodic progress lines off a terminal."""

import logging

import pytest
from click.testing import CliRunner

from hadinfer.cli.logs import ProgressLog
from hadinfer.cli.main import cli
from hadinfer.cli.options import ProgressBars
from hadinfer.cli.train import TrainProgress


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def loggers_in(stderr, level="DEBUG"):
    """Names of the loggers with ``level`` lines in ``stderr`` (``... LEVEL name: message``)."""
    names = set()
    for line in stderr.splitlines():
        parts = line.split()
        if level in parts:
            names.add(parts[parts.index(level) + 1].rstrip(":"))
    return names


# ------------------------------------------------------------------------------- -v, -q

@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_hadinfer_debug_lines_only(small_tif, tmp_path, where):
    args = ["detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx"]
    result = run("-v", *args) if where == "before" else run(*args, "-v")
    assert result.exit_code == 0, result.output
    names = loggers_in(result.stderr)
    assert {"hadinfer.cli.detect", "hadinfer.io.raster_scene"} <= names
    assert all(name.startswith("hadinfer") for name in names), names
    for fragment in ("detector grx", "1 tile(s) of 40x36 px, halo 0 px", "device cpu", "12 of 12 bands read"):
        assert fragment in result.stderr


def test_second_v_shows_rasterio_too(small_tif, tmp_path):
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx", "-vv")
    assert result.exit_code == 0, result.output
    assert any(name.startswith("rasterio") for name in loggers_in(result.stderr))


def test_verbose_counts_before_and_after_add_up(small_tif, tmp_path):
    result = run("-v", "detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx", "-v")
    assert any(name.startswith("rasterio") for name in loggers_in(result.stderr))


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_the_subcommand(small_tif, tmp_path, where):
    args = ["detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx"]
    result = run("-q", *args) if where == "before" else run(*args, "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert (tmp_path / "m.tif").exists()
    assert run(*args, "--overwrite").stderr.count("\n") == 1  # not quiet: the summary line


def test_verbose_after_the_subcommand_shows_the_traceback(tmp_path):
    result = run("detect", tmp_path / "nope.tif", "-o", tmp_path / "m.tif", "-v")
    assert result.exit_code != 0 and result.exception is not None
    plain = run("detect", tmp_path / "nope.tif", "-o", tmp_path / "m.tif")
    assert plain.exit_code == 1 and plain.stderr.startswith("Error:")


def test_every_command_takes_v_and_q_after_it(small_tif):
    for name, command in cli.commands.items():
        flags = {opt for param in command.params for opt in param.opts}
        assert {"-v", "--verbose", "-q", "--quiet"} <= flags, name
    result = run("info", small_tif, "-v")
    assert result.exit_code == 0 and "hadinfer.io.raster_scene" in loggers_in(result.stderr)
    assert run("info", small_tif, "-q").exit_code == 0


def test_logging_is_put_back_after_the_command(small_tif, tmp_path):
    root, own, lib = logging.getLogger(), logging.getLogger("hadinfer"), logging.getLogger("rasterio")
    before = (list(root.handlers), root.level, own.level, lib.level)
    assert run("-vv", "detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx").exit_code == 0
    assert run("info", tmp_path / "missing.tif").exit_code == 1
    assert (list(root.handlers), root.level, own.level, lib.level) == before


# ----------------------------------------------------------------------- progress lines

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def progress_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "hadinfer.progress"]


def test_off_a_terminal_a_long_stage_logs_about_every_tenth(caplog):
    clock = FakeClock()
    bars = ProgressBars(enabled=True, terminal=False, log=ProgressLog("tiles", clock=clock))
    with caplog.at_level(logging.INFO, logger="hadinfer"):
        clock.now += 1.0
        bars("statistics", 1, 1)  # one quick tile: nothing logged, but the next stage is timed from here
        for done in range(1, 201):
            clock.now += 1.0  # 200 tiles of one second: 10 % every 20 s
            bars("scoring", done, 200)
    lines = progress_lines(caplog)
    assert len(lines) == 10, lines
    assert lines[0] == "scoring: 10% (20/200 tiles), 20 s elapsed, about 180 s left"
    assert lines[-1] == "scoring: done, 200 tiles in 200.0 s"
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_a_short_stage_logs_nothing(caplog):
    clock = FakeClock()
    bars = ProgressBars(enabled=True, terminal=False, log=ProgressLog(clock=clock))
    with caplog.at_level(logging.INFO, logger="hadinfer"):
        for stage in ("statistics", "scoring"):
            for done in range(1, 51):
                clock.now += 0.05  # 2.5 s a stage: under the 5 s gap
                bars(stage, done, 50)
    assert progress_lines(caplog) == []


def test_slow_tiles_still_get_a_heartbeat(caplog):
    clock = FakeClock()
    log = ProgressLog(clock=clock, heartbeat=60.0)
    with caplog.at_level(logging.INFO, logger="hadinfer"):
        for done in range(1, 4):
            clock.now += 90.0  # 1000 tiles of 90 s: no tenth for hours, a line every tile
            log.update("scoring", done, 1000)
    assert progress_lines(caplog) == [  # the first tile ran before the clock started: 2 and 3 are timed
        "scoring: 0% (2/1000 tiles), 90 s elapsed, about 89820 s left",
        "scoring: 0% (3/1000 tiles), 180 s elapsed, about 89730 s left"]


def test_quiet_means_no_progress_at_all(caplog):
    clock = FakeClock()
    bars = ProgressBars(enabled=False, terminal=False, log=ProgressLog(clock=clock))
    training = TrainProgress(enabled=False, terminal=False, log=ProgressLog("steps", clock=clock))
    with caplog.at_level(logging.DEBUG, logger="hadinfer"):
        for done in range(1, 101):
            clock.now += 10
            bars("scoring", done, 100)
            training("teacher", done, 100, {"loss": 0.5})
    assert progress_lines(caplog) == []


def test_training_progress_off_a_terminal_shows_the_loss(caplog):
    clock = FakeClock()
    training = TrainProgress(enabled=True, terminal=False, log=ProgressLog("steps", clock=clock))
    with caplog.at_level(logging.INFO, logger="hadinfer"):
        for step in range(25, 501, 25):
            clock.now += 3
            training("teacher", step, 500, {"loss": 1 / step, "positives": 3})
    lines = progress_lines(caplog)
    assert lines[-1] == "teacher: done, 500 steps in 57.0 s, loss 0.0020"  # timed from the first record
    assert "steps), " in lines[0] and "loss" in lines[0]


def test_progress_lines_reach_stderr_without_q(small_tif, tmp_path, monkeypatch):
    """The CLI's default level lets INFO progress through off a terminal; -q stops it."""
    monkeypatch.setattr(ProgressLog.__init__, "__defaults__", ("tiles",))
    monkeypatch.setattr(ProgressLog.__init__, "__kwdefaults__",
                        {**ProgressLog.__init__.__kwdefaults__, "min_gap": 0.0})
    args = ["detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx", "--tile-size", "8", "--overwrite"]
    shown = run(*args)
    assert shown.exit_code == 0, shown.output
    assert "INFO hadinfer.progress: scoring: " in shown.stderr
    assert "INFO hadinfer.progress: scoring: done" in shown.stderr
    assert run(*args, "-q").stderr == ""


def test_the_summary_line_says_how_many_pixels_were_not_scored(small_tif, tmp_path):
    """All scored: nothing said; a band blank in 24 of 40 rows: the count, on the same line."""
    import numpy as np

    from ..conftest import write_geotiff

    assert "pixels scored" not in run("detect", small_tif, "-o", tmp_path / "m.tif", "--detector", "grx").stderr
    cube = np.random.default_rng(3).normal(size=(40, 36, 6)).astype(np.float32)
    cube[:24, :, 2] = np.nan
    result = run("detect", write_geotiff(tmp_path / "p.tif", cube), "-o", tmp_path / "p.map.tif", "--detector", "grx")
    assert result.exit_code == 0 and result.stderr.count("\n") == 1
    assert "; 576 of 1,440 pixels scored (40 %), the rest nodata, masked or not finite in some band" in result.stderr
