"""glibc malloc arenas: limited by the command, left to the user when they set MALLOC_ARENA_MAX."""

import ctypes
import os
import subprocess
import sys

import pytest

from hadinfer.process_memory import limit_malloc_arenas

GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


def run_limit(env: dict) -> str:
    code = "from hadinfer import limit_malloc_arenas; print(limit_malloc_arenas())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="the arena limit exists only in glibc")
def test_limit_is_set_on_glibc():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert run_limit(env) == "True"


def test_users_environment_wins():
    assert run_limit({**os.environ, "MALLOC_ARENA_MAX": "4"}) == "False"


def test_refuses_fewer_than_one_arena():
    with pytest.raises(ValueError, match="at least 1"):
        limit_malloc_arenas(0)


def test_command_limits_arenas_before_running(monkeypatch):
    from hadinfer.cli import main as cli_main

    calls = []
    monkeypatch.setattr(cli_main.signal, "signal", lambda *args: None)  # keep pytest's own handlers
    monkeypatch.setattr(cli_main, "limit_malloc_arenas", lambda: calls.append(True))
    monkeypatch.setattr(cli_main, "cli", lambda prog_name: calls.append(prog_name))
    cli_main.main()
    assert calls == [True, "hadinfer"]


def test_release_free_memory_is_safe_anywhere():
    from hadinfer.process_memory import release_free_memory

    release_free_memory()  # no error whatever the C library; with nothing freed it is a no-op


def test_pipeline_releases_memory_every_few_tiles(monkeypatch, tmp_path):
    import numpy as np

    import hadinfer
    from hadinfer import pipeline
    from hadinfer.synthetic import make_cube

    from .conftest import write_geotiff

    calls = []
    monkeypatch.setattr(pipeline, "release_free_memory", lambda: calls.append(True))
    cube, _ = make_cube(64, 96, 6, seed=0)
    scene = write_geotiff(tmp_path / "s.tif", cube.astype(np.float32), tiled=True, block=16)
    hadinfer.detect(scene, tmp_path / "map.tif", detector="grx", tile_size=16)  # 4 x 6 = 24 tiles
    assert len(calls) == 24 // pipeline.RELEASE_EVERY_TILES
