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

import datetime as dt

import numpy as np

from grx_budget import (best_cpu, bound_lines, budget_arguments, budget_result,  # benchmarks/, beside this script
                        measure, scipy_import_seconds, windows, write_budget)
from machine import machine_label
from timing import ROOT

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
    bands, precision = cubes[0].shape[2], detector.stats_precision
    with threadpool_limits(limits=1, user_api="blas"):
        out = {
            "read statistics windows": best_cpu(lambda: windows(path), repeat),
            "read scoring windows": best_cpu(lambda: scoring_windows(path, detector), repeat),
            "statistics": best_cpu(lambda: [BackgroundStats(bands).update_window(c, v, precision=precision)
                                            for c, v in zip(cubes, valid)], repeat),
            "scoring": best_cpu(lambda: [detector.score(c, v, core) for c, v, core in tiles], repeat),
            "hash": best_cpu(lambda: file_sha256(path), repeat),
        }
    out["import"] = scipy_import_seconds()
    out["tiles"], out["stats_precision"] = len(tiles), detector.stats_precision
    return out


def main(argv=None) -> int:
    args = budget_arguments(__doc__, argv)
    measured, shape, floor, wall = measure(args.scene, args.repeat, parts, "fusion")
    cores = cpu_cores()
    budget = sum(measured[name] for name in PARTS)
    bound = budget / cores
    result = budget_result("fusion_budget.py", "fusion", args, argv, shape, measured, "design", budget, floor, wall)
    date = dt.datetime.fromisoformat(result["date"])
    lines = [f"# Where `fusion`'s time goes: {result['scene']}", "",
             f"{result['date']} on {result['machine']} ({cores} cores), command: `{result['command']}`. "
             f"CPU seconds over the whole scene ({measured['tiles']} tiles), one thread, best of the repeats.", "",
             "| part | CPU s per run |", "|---|---|"]
    lines += [f"| {name}{' (' + measured['stats_precision'] + ')' if name == 'statistics' else ''} | "
              f"{measured[name]:.3f} |" for name in PARTS]
    lines += [f"| **the design's work** | **{budget:.3f}** |", "",
              *bound_lines(cores, bound, floor["seconds"], "fusion", wall, args.repeat, " (goal for `fusion`: 2.5×)")]
    write_budget(result, lines,
                 args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{date:%Y-%m-%d}-fusion-budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
