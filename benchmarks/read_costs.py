"""What reading a scene's windows costs the CPU, with and without a detector's halo (issue 19).

    python benchmarks/read_costs.py --scene scene.tif [--repeat 3] [--out DIR]

Why: on a 1024 x 1024 x 200 int16 GeoTIFF (256-pixel blocks) the ``fusion`` default spent
1.5-1.8 s of system time (``/usr/bin/time -v``), against 0.6-0.9 s for ``grx``, whose
windows have no halo.  Each
window of a halo detector reaches 20 pixels into its eight neighbouring blocks; GDAL reads
each of those blocks whole (of every band) to copy a strip of it, and with the runtime's
1 MiB block cache (``hadinfer/io/block_cache.py``) reads them again for the next window.

Each configuration runs in a fresh process (no cache or page-fault history carried
over), reads every window of one pass, and reports the best wall and CPU seconds of
``--repeat`` passes and how much the process's resident memory grew (anonymous and
file-backed, from ``/proc/self/status``):

- ``statistics``: the canonical statistics windows (no halo), as every detector's first pass;
- ``fusion halo``: the scoring tiles of ``fusion`` (256-pixel cores, 20-pixel halo);
- ``fusion halo, shared``: the same windows through :meth:`~hadinfer.io.scene.Scene.read_tiles`,
  as the runtime reads them since 2026-12-07 (:mod:`hadinfer.io.halo_reads`);
- under the runtime's GDAL settings (1 MiB cache), ``GTIFF_DIRECT_IO=YES``,
  ``GTIFF_VIRTUAL_MEM_IO=YES`` (GDAL maps the uncompressed file and copies from the
  mapping), and a 256 MiB cache.

Results: ``<out>/read_costs.{json,md}``.  Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

WINDOWS = ("statistics", "fusion halo", "fusion halo, shared")

CONFIGS = {
    "runtime (1 MiB cache)": {"GDAL_CACHEMAX": 2**20},
    "GTIFF_DIRECT_IO=YES": {"GDAL_CACHEMAX": 2**20, "GTIFF_DIRECT_IO": "YES"},
    "GTIFF_VIRTUAL_MEM_IO=YES": {"GDAL_CACHEMAX": 2**20, "GTIFF_VIRTUAL_MEM_IO": "YES"},
    "256 MiB cache": {"GDAL_CACHEMAX": 256 * 2**20},
}


def resident_kib() -> dict:
    """``RssAnon`` and ``RssFile`` of this process, in KiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields


def one_config(scene_path: str, windows: str, options: dict, repeat: int) -> dict:
    """Best wall and CPU seconds of reading one pass of windows under ``options`` (this process)."""
    import rasterio

    from hadinfer.detectors.fusion_rx import FusionRX
    from hadinfer.io import open_scene
    from hadinfer.kernels.statistics import statistics_windows
    from hadinfer.pipeline import plan_tiles

    before = resident_kib()
    walls, cpus = [], []
    with rasterio.Env(**options):
        scene = open_scene(scene_path)
        info = scene.info
        tiles = (statistics_windows((info.height, info.width), info.block_shape) if windows == "statistics"
                 else plan_tiles(info, FusionRX(), 256)[1])
        one_pass = ((lambda: scene.read_tiles(tiles)) if windows.endswith("shared")
                    else (lambda: (scene.read_window(tile.read) for tile in tiles)))
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            for cube, valid in one_pass():
                del cube, valid
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        after = resident_kib()
        scene.close()
    return {"wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3), "count": len(tiles),
            "rss_anon_growth_mib": round((after["RssAnon"] - before["RssAnon"]) / 1024, 1),
            "rss_file_growth_mib": round((after["RssFile"] - before["RssFile"]) / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", required=True, help="an uncompressed tiled GeoTIFF")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("WINDOWS", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_config(args.scene, args.child[0], CONFIGS[args.child[1]], args.repeat)))
        return
    from machine import machine_label  # benchmarks/machine.py, beside this script

    rows = []
    for windows in WINDOWS:
        for config in CONFIGS:
            done = subprocess.run([sys.executable, __file__, "--scene", args.scene, "--repeat", str(args.repeat),
                                   "--child", windows, config], capture_output=True, text=True, check=True)
            rows.append({"windows": windows, "config": config, **json.loads(done.stdout.splitlines()[-1])})
            print(rows[-1], flush=True)
    out = args.out or Path(__file__).resolve().parent / "results" / f"{machine_label()}-reads"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lines = ["# CPU cost of reading one pass of windows", "",
             f"{stamp} on {machine_label()}, `python benchmarks/read_costs.py --scene {args.scene} "
             f"--repeat {args.repeat}`", "",
             "Best of the repeats, each configuration in a fresh process.  Resident growth: what the "
             "process holds after the passes beyond what it held before (file-backed pages are the "
             "mapped file's).", "",
             "| windows | GDAL settings | windows read | wall s | CPU s | anonymous MiB | file-backed MiB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['windows']} | {r['config']} | {r['count']} | {r['wall_s']} | {r['cpu_s']} | "
                     f"{r['rss_anon_growth_mib']} | {r['rss_file_growth_mib']} |")
    (out / "read_costs.json").write_text(json.dumps({"scene": args.scene, "time": stamp, "rows": rows}, indent=1))
    (out / "read_costs.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
