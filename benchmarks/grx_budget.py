"""Where global RX's time goes, part by part, against the float32 floor: what its design cannot avoid.

    python benchmarks/grx_budget.py                      # synthetic 1024x1024x200 int16 GeoTIFF
    python benchmarks/grx_budget.py --scene my.tif --repeat 5

Every part a ``grx`` run pays is timed alone, on one thread (BLAS held to one), over every
256 x 256 window of the scene, best of ``--repeat``, as CPU seconds:

- ``read``: every band of every window, as one pass reads them (a run makes two passes:
  statistics, then scoring);
- ``convert``: centring the int16 windows into float32 blocks (both passes do it);
- ``statistics``: a window's float32 statistics as the pipeline forms them (conversion,
  deflation of the leading directions, the Gram matrix, the exact adds), and ``gram`` the
  Gram matrix alone on the same blocks, so the deflation and bookkeeping are their difference;
- ``scoring``: :meth:`GlobalRX.score` of each window (conversion, triangular product, norms),
  and ``energy`` the triangular product and norms alone on converted blocks;
- ``hash``: the provenance SHA-256 of the file; ``import``: loading SciPy's BLAS for the
  triangular product (a fresh process, after hadinfer).

The budget adds what this design cannot drop (two reads, two conversions, the deflation,
the Gram matrix, the triangular energy, the hash, the import) and divides it by the cores:
a lower bound for a run's wall time, compared with the float32 floor of
``benchmarks/timing.py`` (``floor-f32``, a tile per core) and with ``grx`` itself, both
measured by this run.  Results: ``benchmarks/results/<machine>-<date>-grx-budget/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from default_scene import scene_or_synthetic  # benchmarks/, beside this script
from machine import machine_label
from floors import blas_floor
from timing import ROOT, scene_shape

import hadinfer
from hadinfer.cpu_threads import cpu_cores
from hadinfer.detectors import GlobalRX
from hadinfer.kernels.centring import CHUNK_ROWS, centred_blocks
from hadinfer.kernels.statistics import BackgroundStats
from hadinfer.pipeline import accumulate_stats
from hadinfer.kernels.triangular_energy import energy_factor, triangular_energy
from hadinfer.models.metadata import file_sha256

#: Parts a run cannot drop, with how many times a run pays each.
UNAVOIDABLE = {"read": 2, "convert": 2, "deflation": 1, "gram": 1, "energy": 1, "hash": 1, "import": 1}


def windows(path: str) -> list[np.ndarray]:
    """Every 256 x 256 window of the scene, as rasterio reads it ((h, w, B) views of band-major memory)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        return [ds.read(window=Window(col, row, min(256, ds.width - col), min(256, ds.height - row)))
                .transpose(1, 2, 0) for row in range(0, ds.height, 256) for col in range(0, ds.width, 256)]


def best_cpu(run, repeat: int) -> float:
    """Least CPU seconds (this thread's) of ``repeat`` calls of ``run``."""
    seconds = []
    for _ in range(repeat):
        start = time.thread_time()
        run()
        seconds.append(time.thread_time() - start)
    return min(seconds)


def parts(path: str, repeat: int) -> dict:
    """CPU seconds of every part over the whole scene, one thread."""
    from threadpoolctl import threadpool_limits

    cubes = windows(path)
    bands = cubes[0].shape[2]
    with hadinfer.open_scene(path) as scene:
        detector = GlobalRX().fit(accumulate_stats(scene, precision="float32"))
    # The triangular product a large scene takes (a small one keeps the dense product).
    mean, factor = detector.mean_, energy_factor(detector._scoring_projection().astype(np.float32))
    converted = [block.copy(order="F") for cube in cubes for _, _, block in centred_blocks(cube, mean)]
    # The pipeline multiplies each block while it is still in cache, just centred: so do these,
    # one scratch block at a time ([d', a, 1] has the deflated directions and a column of ones).
    augmented = np.asfortranarray(np.hstack([converted[0], np.ones((converted[0].shape[0], 9), np.float32)]))
    scratch = np.empty((max(b.shape[0] for b in converted), bands), np.float32, order="F")
    valid = [np.ones(cube.shape[:2], bool) for cube in cubes]

    def energies():
        for block in converted:
            part = scratch[:block.shape[0]]
            np.copyto(part, block)
            triangular_energy(part, factor)
    with threadpool_limits(limits=1, user_api="blas"):
        out = {
            "read": best_cpu(lambda: windows(path), repeat),
            "convert": best_cpu(lambda: [None for cube in cubes for _ in centred_blocks(cube, mean)], repeat),
            "statistics": best_cpu(lambda: [BackgroundStats(bands).update_window(c, v, precision="float32")
                                            for c, v in zip(cubes, valid)], repeat),
            "gram": best_cpu(lambda: [augmented.T @ augmented for _ in converted], repeat),
            "scoring": best_cpu(lambda: [detector.score(c, v) for c, v in zip(cubes, valid)], repeat),
            "energy": best_cpu(energies, repeat),
            "copy": best_cpu(lambda: [np.copyto(scratch[:block.shape[0]], block) for block in converted], repeat),
            "hash": best_cpu(lambda: file_sha256(path), repeat),
        }
    out["energy"] = max(out["energy"] - out["copy"], 0.0)  # the copy only restores the block the product overwrites
    out["deflation"] = max(out["statistics"] - out["convert"] - out["gram"], 0.0)
    out["import"] = scipy_import_seconds()
    out["blocks"], out["block_rows"] = len(converted), CHUNK_ROWS
    return out


def scipy_import_seconds() -> float:
    """CPU seconds of loading SciPy's BLAS as a run does, in a fresh process that already imported hadinfer.

    A run loads only the extension module (:mod:`hadinfer.kernels.scipy_blas`); before
    2026-12-07 15:00 UTC it imported ``scipy.linalg`` whole, which this measured then.
    """
    code = ("import time, hadinfer, rasterio, hadinfer.pipeline; "
            "from hadinfer.kernels.triangular_energy import triangular_blas; t = time.process_time(); "
            "triangular_blas(); print(time.process_time() - t)")
    runs = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
            for _ in range(3)]
    return min(runs)


def detector_wall(path: str, repeat: int, detector: str = "grx") -> float:
    """Least wall seconds of ``hadinfer.detect(..., detector=detector)`` with its map written, in this process."""
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        hadinfer.detect(path, Path(tmp) / "warm.tif", detector=detector, device="cpu")
        for i in range(repeat):
            start = time.perf_counter()
            hadinfer.detect(path, Path(tmp) / f"map{i}.tif", detector=detector, device="cpu")
            seconds.append(time.perf_counter() - start)
    return min(seconds)


def budget_arguments(doc: str, argv=None) -> argparse.Namespace:
    """The budget scripts' command line: ``--scene``, ``--repeat``, ``--out``."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--scene", default=None, help="raster to measure (default: a synthetic 1024x1024x200 int16)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def measure(scene: str | None, repeat: int, parts_of, detector: str) -> tuple[dict, tuple, dict, float]:
    """``parts_of(path, repeat)``, the scene's shape, its float32 floor and ``detector``'s wall time, on
    ``scene`` or the synthetic one."""
    with tempfile.TemporaryDirectory() as tmp:
        path = scene_or_synthetic(scene, tmp)
        shape = scene_shape(path)
        return parts_of(path, repeat), shape, blas_floor(shape, "float32"), detector_wall(path, repeat, detector)


def main(argv=None) -> int:
    args = budget_arguments(__doc__, argv)
    measured, shape, floor, wall = measure(args.scene, args.repeat, parts, "grx")
    cores = cpu_cores()
    budget = sum(measured[name] * times for name, times in UNAVOIDABLE.items())
    bound = budget / cores
    result = budget_result("grx_budget.py", "grx", args, argv, shape, measured, "unavoidable", budget, floor, wall)
    date = dt.datetime.fromisoformat(result["date"])
    lines = [f"# Where `grx`'s time goes: {result['scene']}", "",
             f"{result['date']} on {result['machine']} ({cores} cores), command: `{result['command']}`. "
             "CPU seconds over the whole scene, one thread, best of the repeats.", "",
             "| part | CPU s once | times a run pays it | CPU s per run |", "|---|---|---|---|"]
    for name in ("read", "convert", "deflation", "gram", "energy", "hash", "import"):
        times = UNAVOIDABLE[name]
        label = "deflation and bookkeeping (statistics − convert − gram)" if name == "deflation" else name
        lines.append(f"| {label} | {measured[name]:.3f} | {times} | {measured[name] * times:.3f} |")
    lines += [f"| **what the design cannot drop** | | | **{budget:.3f}** |", "",
              f"- The same parts as the pipeline forms them: statistics {measured['statistics']:.3f} s "
              f"(conversion, deflation and Gram matrix together), scoring {measured['scoring']:.3f} s "
              "(conversion, triangular product, norms).",
              *bound_lines(cores, bound, floor["seconds"], "grx", wall, args.repeat)]
    write_budget(result, lines,
                 args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{date:%Y-%m-%d}-grx-budget")
    return 0


def budget_result(script: str, detector: str, args, argv, shape, measured: dict, kind: str, budget: float,
                  floor: dict, wall: float) -> dict:
    """What a budget run found, as ``budget.json`` holds it (``<kind>_cpu_seconds``, ``<detector>_wall_seconds``)."""
    cores, bound = cpu_cores(), budget / cpu_cores()
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine_label(),
            "cores": cores, "scene": args.scene or "synthetic 1024x1024x200 int16", "shape": list(shape),
            "command": f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:]),
            "cpu_seconds": measured, f"{kind}_cpu_seconds": budget, "wall_bound_seconds": bound,
            "floor_f32_seconds": floor["seconds"], f"{detector}_wall_seconds": wall,
            "bound_x_floor": bound / floor["seconds"], f"{detector}_x_floor": wall / floor["seconds"],
            f"{detector}_x_bound": wall / bound}


def bound_lines(cores: int, bound: float, floor: float, detector: str, wall: float, repeat: int,
                goal: str = "") -> list[str]:
    """The report's closing lines: the wall-time bound against the floor, and the detector's own run against both."""
    return [f"- Lower bound for a run's wall time on {cores} cores: **{bound:.3f} s**; the float32 floor "
            f"(`floor-f32`, a tile per core) {floor:.3f} s: the bound is **{bound / floor:.2f}× the floor**{goal}.",
            f"- `{detector}` itself (in this process, map written, best of {repeat}): {wall:.3f} s, "
            f"{wall / floor:.2f}× the floor, {wall / bound:.2f}× the bound.", ""]


def write_budget(result: dict, lines: list[str], out: Path) -> None:
    """``budget.json`` and ``budget.md`` into ``out``; the table printed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "budget.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "budget.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
