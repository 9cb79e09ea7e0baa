"""Where the default detector's time goes, against the float32 floor: is its goal reachable as designed?

    python benchmarks/fusion_budget.py                      # synthetic 1024x1024x200 int16
    python benchmarks/fusion_budget.py --scene my.tif --repeat 5

``benchmarks/grx_budget.py`` found global RX's parts; ``fusion`` pays more of them. Each
part is timed alone, on one thread (BLAS held to one), over the whole scene, best of
``--repeat``, as CPU seconds, and formed as the pipeline forms it:

- ``read``: the statistics pass's 256 x 256 windows, and the scoring pass's read windows
  (each core with its halo, as :func:`hadinfer.pipeline.plan_tiles` lays them out);
- ``statistics``: each window's statistics in the detector's own precision (float64 for
  ``fusion``: conversion, Gram matrix and exact sums together);
- ``scoring``: :meth:`FusionRX.score` of every read window (conversion of the window with its
  halo, the global energy on the core, the leading components, the ring sums and solves at
  both window pairs, the geometric mean);
- ``hash`` and ``import``: as ``grx_budget.py`` measures them.

Their sum divided by the cores is a lower bound for a run's wall time that keeps the design
(two passes, tiles scored independently with their halos): the issue's goal of 2.5x the
float32 floor is reachable as designed only if this bound is below it.  Results:
``benchmarks/results/<machine>-<date>-fusion-budget/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from default_scene import scene_or_synthetic  # benchmarks/, beside this script
from grx_budget import best_cpu, scipy_import_seconds, windows
from machine import machine_label
from timing import ROOT, blas_floor, scene_shape

import hadinfer
from hadinfer.cpu_threads import cpu_cores
from hadinfer.detectors import FusionRX
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.models.metadata import file_sha256
from hadinfer.pipeline import accumulate_stats, plan_tiles

#: Parts a run pays once each (the statistics windows and the scoring windows are read once each).
PARTS = ("read statistics windows", "read scoring windows", "statistics", "scoring", "hash", "import")


def scoring_windows(path: str, detector) -> list[tuple]:
    """``(cube, valid, core)`` of every tile's read window, laid out and read as the pipeline does at 256 x 256."""
    with hadinfer.open_scene(path) as scene:
        _, tiles = plan_tiles(scene.info, detector, 256)
        return [(cube, valid, tile.core_in_read) for tile, (cube, valid) in zip(tiles, scene.read_tiles(tiles))]


def parts(path: str, repeat: int) -> dict:
    """CPU seconds of every part over the whole scene, one thread."""
    from threadpoolctl import threadpool_limits

    detector = FusionRX()
    with hadinfer.open_scene(path) as scene:
        detector.fit(accumulate_stats(scene, precision=detector.stats_precision))
    cubes = windows(path)
    valid = [np.ones(cube.shape[:2], bool) for cube in cubes]
    tiles = scoring_windows(path, detector)
    bands = cubes[0].shape[2]
    with threadpool_limits(limits=1, user_api="blas"):
        out = {
            "read statistics windows": best_cpu(lambda: windows(path), repeat),
            "read scoring windows": best_cpu(lambda: scoring_windows(path, detector), repeat),
            "statistics": best_cpu(lambda: [BackgroundStats(bands).update_window(c, v, precision=detector.stats_precision)
                                            for c, v in zip(cubes, valid)], repeat),
            "scoring": best_cpu(lambda: [detector.score(c, v, core) for c, v, core in tiles], repeat),
            "hash": best_cpu(lambda: file_sha256(path), repeat),
        }
    out["import"] = scipy_import_seconds()
    out["tiles"], out["stats_precision"] = len(tiles), detector.stats_precision
    return out


def fusion_wall(path: str, repeat: int) -> float:
    """Least wall seconds of ``hadinfer.detect`` (the default detector) with its map written, in this process."""
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        hadinfer.detect(path, Path(tmp) / "warm.tif", device="cpu")
        for i in range(repeat):
            start = time.perf_counter()
            hadinfer.detect(path, Path(tmp) / f"map{i}.tif", device="cpu")
            seconds.append(time.perf_counter() - start)
    return min(seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", default=None, help="raster to measure (default: a synthetic 1024x1024x200 int16)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scene = scene_or_synthetic(args.scene, tmp)
        measured = parts(scene, args.repeat)
        shape = scene_shape(scene)
        floor = blas_floor(shape, "float32")
        wall = fusion_wall(scene, args.repeat)
    cores = cpu_cores()
    budget = sum(measured[name] for name in PARTS)
    bound = budget / cores
    date = dt.datetime.now(dt.timezone.utc)
    result = {"date": date.isoformat(timespec="seconds"), "machine": machine_label(), "cores": cores,
              "scene": args.scene or "synthetic 1024x1024x200 int16", "shape": list(shape),
              "command": "python benchmarks/fusion_budget.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "cpu_seconds": measured, "design_cpu_seconds": budget, "wall_bound_seconds": bound,
              "floor_f32_seconds": floor["seconds"], "fusion_wall_seconds": wall,
              "bound_x_floor": bound / floor["seconds"], "fusion_x_floor": wall / floor["seconds"],
              "fusion_x_bound": wall / bound}
    lines = [f"# Where `fusion`'s time goes: {result['scene']}", "",
             f"{result['date']} on {result['machine']} ({cores} cores), command: `{result['command']}`. "
             f"CPU seconds over the whole scene ({measured['tiles']} tiles), one thread, best of the repeats.", "",
             "| part | CPU s per run |", "|---|---|"]
    lines += [f"| {name}{' (' + measured['stats_precision'] + ')' if name == 'statistics' else ''} | "
              f"{measured[name]:.3f} |" for name in PARTS]
    lines += [f"| **the design's work** | **{budget:.3f}** |", "",
              f"- Lower bound for a run's wall time on {cores} cores: **{bound:.3f} s**; the float32 floor "
              f"(`floor-f32`, a tile per core) {floor['seconds']:.3f} s: the bound is "
              f"**{bound / floor['seconds']:.2f}× the floor** (goal for `fusion`: 2.5×).",
              f"- `fusion` itself (in this process, map written, best of {args.repeat}): {wall:.3f} s, "
              f"{wall / floor['seconds']:.2f}× the floor, {wall / bound:.2f}× the bound.", ""]
    out = args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{date:%Y-%m-%d}-fusion-budget"
    out.mkdir(parents=True, exist_ok=True)
    (out / "budget.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "budget.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
