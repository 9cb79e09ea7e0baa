"""One scene in 16 strips on a two-worker Dask LocalCluster against one process: time and peak memory.

Each single-process run is a fresh Python process (its peak memory is its own); each
cluster run starts a fresh LocalCluster (so each worker's peak is this run's).  The
scheduler's cost per task, the statistics merge and the client's write rate are measured
too: they are what an extrapolation to many nodes needs.

    python benchmarks/dask_strips.py                       # 4096x256x64 int16, grx and lrx
    python benchmarks/dask_strips.py --size 8192x512 --bands 100 --repeat 5
    python benchmarks/dask_strips.py --smoke               # seconds; checks the plumbing

Results: ``benchmarks/results/dask/dask_strips.json`` and ``dask_strips.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "dask"
DETECTORS = {"grx": {}, "lrx": {"inner": 5, "outer": 21}}


#: Environment that pins BLAS to one thread, as distributed's nanny does in each worker.
ONE_BLAS_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def single_process(scene: str, detector: str, tile: int, env: dict | None = None) -> dict:
    """hadinfer.detect in a fresh process: seconds and that process's peak memory."""
    code = (
        "import json, sys, tempfile, time, hadinfer\n"
        "from hadinfer.pipeline import peak_memory_mb\n"
        f"params = {DETECTORS[detector]!r}\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        "    start = time.perf_counter()\n"
        f"    r = hadinfer.detect({scene!r}, tmp + '/map.tif', detector={detector!r}, device='cpu', "
        f"tile_size={tile}, **params)\n"
        "    seconds = time.perf_counter() - start\n"
        "print(json.dumps({'seconds': seconds, 'peak_memory_mb': peak_memory_mb(), 'threads': r.report['workers'],"
        " 'stages': r.report['seconds']}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=os.environ | (env or {}))
    return json.loads(done.stdout.strip().splitlines()[-1])


def cluster_run(scene: str, detector: str, tile, strips: int, workers: int) -> dict:
    """detect_strips on a fresh LocalCluster: seconds, stages, peak memory of each worker and of the client.

    ``tile`` is (strip rows, width): each strip is one tile, read and scored at once.
    """
    from distributed import Client, LocalCluster

    from hadinfer.distributed.strip_detect import detect_strips

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, tempfile.TemporaryDirectory() as tmp:
        client.run(__import__, "hadinfer.distributed.strips")  # as the one process, imports are not timed
        startup = time.perf_counter() - start
        start = time.perf_counter()
        result = detect_strips(scene, Path(tmp) / "map.tif", client=client, detector=detector, device="cpu",
                               tile_size=tile, strips=strips, **DETECTORS[detector])
        seconds = time.perf_counter() - start
    report = result.report
    return {"seconds": seconds, "cluster_startup_seconds": startup, "stages": report["seconds"],
            "strips": report["strips"], "tiles": report["tiles"],
            "worker_peak_memory_mb": sorted(report["worker_peak_memory_mb"].values()),
            "client_peak_memory_mb": report["peak_memory_mb"]}


def scheduler_overhead(workers: int, tasks: int = 400) -> dict:
    """Wall seconds per no-op task through the scheduler, and per merge of two B-band statistics."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.submit(int, 0).result()  # warm
        start = time.perf_counter()
        client.gather(client.map(int, range(tasks), pure=False))
        per_task = (time.perf_counter() - start) / tasks
    return {"tasks": tasks, "seconds_per_task": per_task}


def merge_cost(bands: int = 400, repeat: int = 200) -> dict:
    """Seconds to merge two statistics of ``bands`` bands, and the bytes each weighs."""
    import numpy as np

    from hadinfer.detectors import BackgroundStats
    from hadinfer.distributed.stats_reduction import merge_stats

    rng = np.random.default_rng(0)
    a, b = (BackgroundStats(bands).update(rng.normal(size=(bands + 10, bands))) for _ in range(2))
    start = time.perf_counter()
    for _ in range(repeat):
        merge_stats(a, b)
    return {"bands": bands, "seconds_per_merge": (time.perf_counter() - start) / repeat,
            "bytes_per_part": 8 * (bands * bands + bands + 1)}


def writer_rate(rows: int = 2048, cols: int = 2048) -> dict:
    """Megapixels a second the one client-side writer takes (deflate GeoTIFF, overviews, statistics).

    Scores are chi-square-like noise, which compresses about as badly as real maps.
    """
    import numpy as np

    from hadinfer.io import SceneInfo
    from hadinfer.io.writer import ScoreMapWriter

    scores = np.random.default_rng(0).chisquare(10, size=(rows, cols)).astype(np.float32)
    info = SceneInfo(path="<benchmark>", height=rows, width=cols, band_count=1, bands=(1,), dtype="float32")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with ScoreMapWriter(Path(tmp) / "map.tif", info) as writer:
            for top in range(0, rows, 64):
                writer.write(top, 0, scores[top:top + 64])
        seconds = time.perf_counter() - start
    return {"megapixels": rows * cols / 1e6, "seconds": seconds, "megapixels_per_second": rows * cols / 1e6 / seconds}


def make_scene(folder: Path, height: int, width: int, bands: int) -> str:
    """The synthetic scene in 256x256 blocks: one process and the strips read the same tiles."""
    from hadinfer.synthetic import write_synthetic_scene

    path = folder / f"synthetic-{height}x{width}x{bands}.tif"
    if not path.exists():
        write_synthetic_scene(path, height=height, width=width, bands=bands, tiled=True)
    return str(path)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4096x256", help="ROWSxCOLS of the synthetic scene")
    parser.add_argument("--bands", type=int, default=64)
    parser.add_argument("--strips", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detectors", default="grx,lrx")
    parser.add_argument("--smoke", action="store_true", help="tiny scene, one repeat, grx only; nothing written")
    args = parser.parse_args()
    height, width = (int(x) for x in args.size.lower().split("x"))
    detectors = args.detectors.split(",")
    if args.smoke:
        height, width, args.bands, args.repeat, detectors = 512, 64, 8, 1, ["grx"]
    strip_tile = (max(8, height // args.strips), width)  # whole 256-row blocks at the default size
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        scene = make_scene(Path(tmp), height, width, args.bands)
        rows = []
        for detector in detectors:
            runs = {"single": [], "single_one_blas_thread": [], "cluster": []}
            for _ in range(args.repeat):  # interleaved, so a burst of load hits every case alike
                runs["single"].append(single_process(scene, detector, 256))
                runs["single_one_blas_thread"].append(single_process(scene, detector, 256, ONE_BLAS_THREAD))
                runs["cluster"].append(cluster_run(scene, detector, strip_tile, args.strips, args.workers))
            row = {"detector": detector, "params": DETECTORS[detector]}
            for case, results in runs.items():
                row[case] = min(results, key=lambda r: r["seconds"])
                row[f"{case}_all_seconds"] = [round(r["seconds"], 3) for r in results]
                row[f"{case}_median_seconds"] = statistics.median(r["seconds"] for r in results)
            best_single = min(row["single"]["seconds"], row["single_one_blas_thread"]["seconds"])
            row["speedup"] = best_single / row["cluster"]["seconds"]
            rows.append(row)
            print(f"{detector}: one process {best_single:.2f} s, cluster {row['cluster']['seconds']:.2f} s",
                  file=sys.stderr)
    overhead = scheduler_overhead(args.workers)
    merge = merge_cost()
    writer = writer_rate()
    result = {
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": loadavg(),
        "scene": {"height": height, "width": width, "bands": args.bands, "dtype": "int16",
                  "megapixels": height * width / 1e6},
        "single_tile_size": 256, "strip_tile_size": list(strip_tile), "strips": args.strips,
        "workers": args.workers, "threads_per_worker": 1,
        "repeat": args.repeat, "runs": rows, "scheduler": overhead, "merge": merge,
        "writer": writer,
    }
    if args.smoke:
        print(json.dumps(result, indent=1))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dask_strips.json").write_text(json.dumps(result, indent=1) + "\n")
    (OUT / "dask_strips.md").write_text(markdown(result))
    print(f"wrote {OUT / 'dask_strips.json'} and dask_strips.md", file=sys.stderr)


def markdown(r: dict) -> str:
    s = r["scene"]
    lines = [
        "# One scene in strips on a Dask LocalCluster vs one process",
        "",
        f"`python benchmarks/dask_strips.py` on {r['date']}: synthetic {s['height']}x{s['width']}x{s['bands']} "
        f"int16 ({s['megapixels']:.2f} MP), 256x256 blocks. One process: `hadinfer.detect`, "
        f"{r['single_tile_size']} px tiles, its default threads, and again with BLAS pinned to one thread (as "
        "each Dask worker is). Speed-up: the better one-process time over the cluster's. "
        f"Cluster: {r['strips']} strips of {r['strip_tile_size'][0]} rows (one tile each) on {r['workers']} "
        f"worker processes of one thread; {r['cpus']} CPU cores; best of {r['repeat']} (medians beside). "
        f"Load average before/after: {r['loadavg_before']} / {r['loadavg_after']}.",
        "",
        "| detector | one process (s) | same, BLAS on 1 thread (s) | its peak MiB | cluster (s) | per-worker peak MiB "
        "| client peak MiB | speed-up | cluster stages (s) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for row in r["runs"]:
        one, pinned, many = row["single"], row["single_one_blas_thread"], row["cluster"]
        stages = ", ".join(f"{k} {v:.2f}" for k, v in many["stages"].items())
        lines.append(f"| {row['detector']} {row['params'] or ''} | {one['seconds']:.2f} "
                     f"(median {row['single_median_seconds']:.2f}) | {pinned['seconds']:.2f} "
                     f"(median {row['single_one_blas_thread_median_seconds']:.2f}) | {one['peak_memory_mb']:.0f} | "
                     f"{many['seconds']:.2f} (median {row['cluster_median_seconds']:.2f}) | "
                     f"{', '.join(f'{m:.0f}' for m in many['worker_peak_memory_mb'])} | "
                     f"{many['client_peak_memory_mb']:.0f} | {row['speedup']:.2f}x | {stages} |")
    lines += [
        "",
        f"Cluster start-up (not in the times above): "
        f"{r['runs'][0]['cluster']['cluster_startup_seconds']:.1f} s. Scheduler round trip per no-op task: "
        f"{1000 * r['scheduler']['seconds_per_task']:.2f} ms ({r['scheduler']['tasks']} tasks). Merging two "
        f"{r['merge']['bands']}-band statistics: {1000 * r['merge']['seconds_per_merge']:.2f} ms, "
        f"{r['merge']['bytes_per_part'] / 2**20:.2f} MiB a part. The client's writer: "
        f"{r['writer']['megapixels_per_second']:.1f} MP/s ({r['writer']['megapixels']:.1f} MP map).",
        "",
    ]
    return "\n".join(lines) + extrapolation(r)


def extrapolation(r: dict) -> str:
    """What would dominate on 100 nodes, from this run's measured rates (assumptions stated)."""
    workers = 100 * 16
    mp = 20000 * 20000 / 1e6
    per_mp = {row["detector"]: row["cluster"]["stages"]["worker_compute"] / r["scene"]["megapixels"]
              for row in r["runs"]}
    grow = 400 / r["scene"]["bands"]
    # 400 bands: reading grows with B; GRX's projection with B^2; LRX scores 10 components whatever B is
    growth = {"grx": (grow, grow ** 2), "lrx": (1.0, grow)}
    compute = {d: tuple(per_mp[d] * g * mp / workers for g in growth.get(d, (1.0, grow))) for d in per_mp}
    tasks = 2 * workers + workers // 7
    scheduler_s = tasks * r["scheduler"]["seconds_per_task"]
    write_s = mp / r["writer"]["megapixels_per_second"]
    input_tb = mp * 1e6 * 2 * 400 / 1e12
    read_s = input_tb * 1e12 / 10e9
    lines = [
        "",
        "## Extrapolation to a 100-node cluster",
        "",
        f"Assumed: 100 nodes of 16 cores ({workers} one-thread workers), one 20000x20000x400 int16 scene "
        f"({mp:.0f} MP, {input_tb:.2f} TB of input) on a shared file system with 10 GB/s aggregate read "
        f"bandwidth, one task per worker and pass. Measured here, worker compute (read + score) per megapixel at "
        f"{r['scene']['bands']} bands: " + ", ".join(f"{d} {v:.2f} s" for d, v in per_mp.items())
        + f". At 400 bands reading grows {grow:.2g}x, GRX's projection up to {grow ** 2:.0f}x, LRX's scoring "
        "not at all (10 principal components), so spread over every worker the compute is "
        + ", ".join(f"{d} {lo:.0f}-{hi:.0f} s" for d, (lo, hi) in compute.items()) + ".",
        "",
        f"* **Parallelism comes first.** Strips are whole rows of 256-px tiles: {20000 // 256} strips for this "
        f"scene, so at most {20000 // 256} of {workers} workers would be busy. On 100 nodes the unit of work "
        "must become the tile (or a few tiles): the plan already lists every tile with its halo and a strip is "
        "scored tile by tile, so this is a change to the plan and to where a block is written, not to the "
        "workers' code. Thinner full-width strips would re-read their halo instead (LRX: 20 rows each side of "
        "a 256-row core, +16 %).",
        f"* **Then input I/O**: {input_tb:.2f} TB at 10 GB/s is ~{read_s:.0f} s, more than the compute above; "
        "both RX detectors are I/O-bound at this scale (2·B bytes a pixel in, 4 out).",
        f"* **And the one writer**: measured {r['writer']['megapixels_per_second']:.1f} MP/s, ~{write_s:.0f} s "
        f"for {mp:.0f} MP, as long as reading the input and, unlike it, serial. Shipping results is cheap (4 "
        "bytes a pixel); compressing them in one thread is not. Remedies, in order of effort: GDAL's "
        "multi-threaded compression (`--co NUM_THREADS=ALL_CPUS`: 1.1x on this machine's 2 busy cores, more on "
        "a many-core client), or workers writing their own tiles to a tiled/Zarr store "
        "(`hadinfer.dask.detect(...).to_zarr`) and one COG built from it at the end.",
        f"* **Scheduler overhead is minor**: {1000 * r['scheduler']['seconds_per_task']:.1f} ms a task round trip "
        f"measured on this loaded 2-core machine (Dask's own figure is ~1 ms); about {tasks} tasks (statistics, "
        f"merges, scoring) are ~{scheduler_s:.0f} s of scheduler time, overlapped with the work. It would "
        "dominate only with tasks under ~0.1 s, i.e. tiles much smaller than 256x256.",
        f"* **The statistics reduction is negligible**: a part is B^2+B+1 float64 "
        f"({r['merge']['bytes_per_part'] / 2**20:.1f} MiB at 400 bands); a fan-in-8 tree over {workers} parts "
        f"is 4 levels of ~{1000 * r['merge']['seconds_per_merge']:.1f} ms merges and ~10 MiB transfers: well "
        f"under a second. Every worker then fetches the merged statistics (1.2 MiB x {workers}, worker to "
        "worker): seconds at most.",
        "",
        "Other jobs shared the 2 cores during this run (see the load average), so the times above are noisy. "
        "Under that load a multi-threaded BLAS in the one process sometimes stalls for seconds (its threads wait "
        "for cores other jobs hold); Dask's workers pin BLAS to one thread, which is why the one-process case is "
        "also timed that way, and why the better of the two is the baseline. On 2 cores the cluster can only "
        "match one process (which already scores tiles on both cores); what it buys here is a lower peak "
        "memory per process.",
        "",
    ]
    return "\n".join(lines)

if __name__ == "__main__":
    main()
