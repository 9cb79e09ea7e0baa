"""What Python and NumPy hold at a run's traced peak, by allocation site, at two scene sizes.

    python benchmarks/peak_allocations.py --megapixels 0.59,4.19 --detector fusion

Each size is a square synthetic 200-band int16 GeoTIFF scored in a fresh process; a thread
samples ``tracemalloc`` every 5 ms and keeps a snapshot each time the traced memory passes
its previous high by 2 MiB, so the last snapshot is within 2 MiB of the peak.  The table
lists the largest sites of that snapshot (lines of hadinfer, or the read call) and how
many blocks they held.  Answers "what grows with the scene" for issue 19's flat-memory
goal.  Results: ``benchmarks/results/<machine>-<date>-peak-allocations/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, tempfile, threading, time, tracemalloc
from pathlib import Path
import hadinfer
scene, detector = sys.argv[1:3]
hadinfer.limit_malloc_arenas()
tracemalloc.start(1)
best, done = [0, None], threading.Event()
def sample():
    while not done.is_set():
        current = tracemalloc.get_traced_memory()[0]
        if current > best[0] + (2 << 20):
            best[0], best[1] = current, tracemalloc.take_snapshot()
        time.sleep(0.005)
watcher = threading.Thread(target=sample, daemon=True)
watcher.start()
with tempfile.TemporaryDirectory() as tmp:
    hadinfer.detect(scene, Path(tmp) / "map.tif", detector=detector, device="cpu")
done.set()
watcher.join()
sites = []
for stat in best[1].statistics("lineno")[:8]:
    frame = stat.traceback[0]
    largest = max(t.size for t in best[1].traces if t.traceback[0] == frame)
    sites.append({"site": f"{Path(frame.filename).name}:{frame.lineno}", "mib": stat.size / 2**20,
                  "blocks": stat.count, "largest_mib": largest / 2**20})
print(json.dumps({"peak_mib": tracemalloc.get_traced_memory()[1] / 2**20, "snapshot_mib": best[0] / 2**20,
                  "sites": sites}))
"""


def main() -> None:
    from hadinfer.synthetic import write_synthetic_scene

    sys.path.insert(0, str(Path(__file__).parent))
    from machine import machine_label

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megapixels", default="0.59,4.19")
    parser.add_argument("--detector", default="fusion")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for megapixels in (float(v) for v in args.megapixels.split(",")):
        edge = int(round((megapixels * 1e6) ** 0.5))
        with tempfile.TemporaryDirectory() as tmp:
            scene = str(Path(tmp) / "scene.tif")
            write_synthetic_scene(scene, height=edge, width=edge, bands=200, dtype="int16")
            done = subprocess.run([sys.executable, "-c", CHILD, scene, args.detector], capture_output=True,
                                  text=True)
        if done.returncode:
            raise SystemExit(f"{edge} x {edge}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        rows.append({"edge": edge, **json.loads(done.stdout.strip().splitlines()[-1])})
        print(edge, rows[-1]["peak_mib"], file=sys.stderr)
    date = dt.datetime.now(dt.timezone.utc)
    out = args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{date:%Y-%m-%d}-peak-allocations"
    out.mkdir(parents=True, exist_ok=True)
    (out / "peak_allocations.json").write_text(json.dumps({"date": date.isoformat(timespec="seconds"),
                                                           "detector": args.detector, "rows": rows}, indent=1))
    lines = [f"# Traced peak of `{args.detector}` by allocation site", "",
             f"{date:%Y-%m-%dT%H:%M}Z on {machine_label()}: `python benchmarks/peak_allocations.py "
             f"--megapixels {args.megapixels} --detector {args.detector}`", ""]
    for row in rows:
        lines += [f"## {row['edge']} x {row['edge']} x 200 ({row['edge'] ** 2 / 1e6:.2f} MP): traced peak "
                  f"{row['peak_mib']:.1f} MiB, snapshot at {row['snapshot_mib']:.1f} MiB", "",
                  "| site | MiB | blocks | largest block, MiB |", "|---|---|---|---|"]
        lines += [f"| `{s['site']}` | {s['mib']:.1f} | {s['blocks']} | {s['largest_mib']:.2f} |" for s in row["sites"]]
        lines.append("")
    (out / "peak_allocations.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
