"""Faults: a worker killed mid-run changes nothing; a scene that keeps failing is reported, the others finish."""

from __future__ import annotations

import os
import signal
import time

import pytest

import hadinfer
from hadinfer.distributed.scene_batch import run_per_scene
from hadinfer.distributed.strip_detect import detect_strips
from hadinfer.errors import ClusterError, NotARasterError

from .conftest import TILE, max_relative_difference, read_map

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install 'hadinfer[dask]'")


@pytest.mark.parametrize("stage", ["statistics", "scoring"])
def test_a_worker_killed_mid_run_gives_the_same_map(client, scene_path, tmp_path, stage):
    params = dict(detector="lrx", inner=3, outer=9, device="cpu", tile_size=TILE)
    expected, _ = read_map(hadinfer.detect(scene_path, tmp_path / "single.tif", **params).path)
    pids = client.run(os.getpid)
    killed = {}

    def kill_when_the_first_result_arrives(name, done, total):
        # Called here, on the client, with the other strips' tasks or results still on the
        # workers: SIGKILL the worker holding most of this run's results, as a crash would.
        if name != stage or killed:
            return
        held = {address: [k for k in keys if str(k).startswith("hadinfer-")]
                for address, keys in client.has_what().items()}
        victim = max(held, key=lambda address: len(held[address]))
        killed.update(address=victim, keys=held[victim])
        os.kill(pids[victim], signal.SIGKILL)

    result = detect_strips(scene_path, tmp_path / "cluster.tif", client=client,
                           progress=kill_when_the_first_result_arrives, **params)
    assert killed["keys"], "the killed worker held nothing this run needed: the test proved nothing"
    actual, _ = read_map(result.path)
    difference = max_relative_difference(actual, expected)
    print(f"killed {killed['address']} holding {len(killed['keys'])} result(s) during {stage}: "
          f"max relative difference {difference:.2e}")
    assert difference <= 1e-6
    client.wait_for_workers(2, timeout=60)
    assert pids[killed["address"]] not in client.run(os.getpid).values()


def test_a_scene_that_keeps_killing_workers_fails_alone(client):
    def scene_task(name):
        if name == "poison":
            os._exit(1)  # a segfault in a native library, say
        if name == "unreadable":
            raise NotARasterError(f"{name}: not a raster")
        time.sleep(0.05)
        return name.upper()

    started = time.perf_counter()
    outcomes = {index: (result, error) for index, result, error in
                run_per_scene(client, scene_task, [("a",), ("poison",), ("unreadable",), ("b",)])}
    print(f"batch with a poison scene: {time.perf_counter() - started:.1f} s")
    assert outcomes[0] == ("A", None) and outcomes[3] == ("B", None)
    assert isinstance(outcomes[2][1], NotARasterError)
    result, error = outcomes[1]
    assert result is None and isinstance(error, ClusterError) and "worker died" in str(error)
