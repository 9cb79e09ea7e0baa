"""One command for a GPU machine: every registered detector on CUDA against the CPU, and its speed.

**Not yet run on a GPU.**  Only ``--dry-run`` (the CPU standing in for CUDA) has run, in
CI and on a 2-core VM; the first real run's JSON goes under ``benchmarks/results/``.

What it does, in one process, within ``--budget`` seconds (default 450, under 8 minutes):

1. writes two synthetic scenes with hadinfer's own generator: a *check* scene
   (``--check-size``, default 1024x1024x200) and a *timing* scene (``--size``, default
   4096x4096x200, int16, tiled);
2. times the read floor: every band of every 256x256 window of the timing scene;
3. for every registered detector that scores without training on the scene
   (``needs_scene`` entries and ``model``, which needs a file, are listed as skipped):

   * array-library detectors (``grx``, ``lrx``, ``fusion``...): the map with NumPy on
     the CPU is the reference; the candidate is PyTorch arrays on ``cuda``;
   * network detectors (``general``): ONNX Runtime on the CPU is the reference; the
     candidates are ONNX Runtime's CUDA provider, the PyTorch checkpoint on ``cuda``,
     and a TensorRT engine built from the shipped checkpoint when ``tensorrt`` imports
     (never on the GPU machine we borrow: it has no TensorRT, see
     ``../shared/tools/DEVICE.md``);

   checks each candidate's map on the check scene against the reference, then times
   the candidate on the timing scene (seconds and the ratio to the read floor).

Tolerances (stated here and written into the JSON): the NaN masks must be equal, and
``max |candidate - reference| / (|reference| + 1e-6 * max |reference|)`` at most
``1e-4`` for array-library detectors (float32 GRX, float64 LRX; GPU reductions run in
another order) and ``1e-3`` for networks (float32 convolutions; cuDNN and ORT may use
TF32 on Ampere and later GPUs).

``--dry-run`` runs every step with the CPU standing in for CUDA (PyTorch arrays on the
CPU, ONNX Runtime's CPU provider, the checkpoint on the CPU) on small scenes
(``48x40x16`` and ``64x64x16``), so CI proves the script works.

The last line printed is one JSON object: ``{"all_agree": true|false, "json": PATH, ...}``.

::

    python benchmarks/gpu_check.py                       # on the GPU machine
    python benchmarks/gpu_check.py --size 2048x2048x200  # a smaller timing scene
    python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: Tolerances of the relative difference (see the module docstring), by detector kind.
TOLERANCE = {"arrays": 1e-4, "network": 1e-3}


def parse_size(text: str) -> tuple[int, int, int]:
    """``ROWSxCOLSxBANDS`` -> (rows, cols, bands)."""
    try:
        rows, cols, bands = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROWSxCOLSxBANDS, got {text!r}") from None
    if min(rows, cols, bands) < 2:
        raise argparse.ArgumentTypeError(f"every dimension must be >= 2, got {text!r}")
    return rows, cols, bands


def relative_difference(candidate: np.ndarray, reference: np.ndarray) -> float:
    """The largest ``|c - r| / (|r| + 1e-6 max|r|)`` over pixels scored in both; inf when the NaNs differ."""
    if candidate.shape != reference.shape or not np.array_equal(np.isnan(candidate), np.isnan(reference)):
        return float("inf")
    both = ~np.isnan(reference)
    if not both.any():
        return 0.0
    c, r = candidate[both].astype(np.float64), reference[both].astype(np.float64)
    floor = 1e-6 * float(np.max(np.abs(r)))
    return float(np.max(np.abs(c - r) / (np.abs(r) + floor))) if floor > 0 else float(np.max(np.abs(c - r)))


def read_floor(path: str) -> float:
    """Seconds to read every band of every 256x256 window (the I/O floor, as ``timing.py``'s ``read``)."""
    import rasterio
    from rasterio.windows import Window

    start = time.perf_counter()
    with rasterio.Env(GDAL_CACHEMAX=2**20), rasterio.open(path) as ds:
        for row in range(0, ds.height, 256):
            for col in range(0, ds.width, 256):
                ds.read(window=Window(col, row, min(256, ds.width - col), min(256, ds.height - row)))
    return time.perf_counter() - start


def score_map(path: str, build, device: str, library: str | None, tile_size: int) -> tuple[np.ndarray, float]:
    """The map of a fresh detector (``build()``) over the scene, and the seconds it took."""
    import hadinfer
    from hadinfer.arrays import array_library
    from hadinfer.pipeline import run_detector

    with hadinfer.open_scene(path) as scene:
        info = scene.info
        out = np.full((info.height, info.width), np.nan, dtype=np.float32)

        def sink(tile, scores):
            out[tile.core.toslices()] = scores

        detector = build()
        arrays = array_library(device, library) if library else None
        start = time.perf_counter()
        run_detector(scene, detector, sink=sink, tile_size=tile_size, device=device, arrays=arrays)
        return out, time.perf_counter() - start


def tensorrt_engine(folder: Path) -> str:
    """Build a TensorRT engine from the shipped checkpoint with ``hadinfer export`` (needs tensorrt)."""
    import subprocess

    from hadinfer.weights import shipped_model

    onnx, engine = folder / "general.onnx", folder / "general.engine"
    subprocess.run([sys.executable, "-c", "from hadinfer.cli.main import main; main()", "export", str(shipped_model("general", checkpoint=True)),
                    "-o", str(onnx), "--engine", str(engine), "--overwrite", "-q"], check=True,
                   capture_output=True, timeout=300)
    return str(engine)


def plan_cases(dry_run: bool, folder: Path) -> tuple[list[dict], list[dict]]:
    """``(cases, skipped)``: what to check, from the detector registry, and what cannot run here."""
    from hadinfer.detectors import builtin  # noqa: F401  (registers the built-ins)
    from hadinfer.detectors.builtin import open_model_file
    from hadinfer.detectors.network import NetworkDetector
    from hadinfer.detectors.registry import build, registered

    device = "cpu" if dry_run else "cuda"
    cases, skipped = [], []
    for name, entry in registered().items():
        if entry.needs_scene:
            skipped.append({"detector": name, "reason": "trains on the scene first (not a scoring check)"})
            continue
        if name == "model":
            skipped.append({"detector": name, "reason": "needs a model file; general's runtimes cover it"})
            continue
        missing = entry.missing_modules()
        if missing:
            skipped.append({"detector": name, "reason": f"not installed: {', '.join(missing)}"})
            continue
        probe = build(name)
        if isinstance(probe, NetworkDetector):
            reference = {"detector": name, "kind": "network", "device": "cpu", "library": None,
                         "build": lambda n=name: build(n, runtime="onnxruntime"), "runtime": "onnxruntime"}
            cases.append({**reference, "label": f"{name} onnxruntime-{device}", "device": device,
                          "reference": reference})
            cases.append({**reference, "label": f"{name} torch-{device}", "device": device, "runtime": "torch",
                          "build": lambda n=name: build(n, runtime="torch"), "reference": reference})
            try:
                import tensorrt  # noqa: F401
            except ImportError:
                skipped.append({"detector": f"{name} tensorrt", "reason": "tensorrt does not import here"})
            else:
                if dry_run:
                    skipped.append({"detector": f"{name} tensorrt", "reason": "TensorRT needs CUDA (dry run)"})
                else:
                    cases.append({**reference, "label": f"{name} tensorrt-cuda", "device": device,
                                  "runtime": "tensorrt", "reference": reference,
                                  "build": lambda: open_model_file(tensorrt_engine(folder), "tensorrt")})
        else:
            reference = {"detector": name, "kind": "arrays", "device": "cpu", "library": "numpy",
                         "build": lambda n=name: build(n), "runtime": None}
            cases.append({**reference, "label": f"{name} torch-arrays-{device}", "device": device,
                          "library": "torch", "reference": reference})
    return cases, skipped


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="The CPU stands in for CUDA, on small scenes.")
    parser.add_argument("--size", type=parse_size, help="Timing scene ROWSxCOLSxBANDS (default 4096x4096x200; "
                        "dry run 64x64x16).")
    parser.add_argument("--check-size", type=parse_size, help="Check scene ROWSxCOLSxBANDS (default "
                        "1024x1024x200; dry run 48x40x16).")
    parser.add_argument("--tile-size", type=int, default=512)
    parser.add_argument("--budget", type=float, default=450.0,
                        help="Seconds; cases not started by then are recorded as skipped (default 450).")
    parser.add_argument("--out", type=Path, help="The JSON file (default benchmarks/results/gpu_check/"
                        "<machine>-<utc time>.json).")
    parser.add_argument("--workdir", type=Path, help="Where the scenes are written (default a temporary folder).")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    size = args.size or ((64, 64, 16) if args.dry_run else (4096, 4096, 200))
    check_size = args.check_size or ((48, 40, 16) if args.dry_run else (1024, 1024, 200))

    import hadinfer
    from hadinfer.synthetic.geotiff import write_synthetic_scene

    from machine import cpu_model, gpu_model, machine_label  # benchmarks/, beside this script

    if not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            print("gpu_check: PyTorch sees no CUDA device; use --dry-run on a CPU machine", file=sys.stderr)
            return 2
        torch.backends.cuda.matmul.allow_tf32 = False  # the RX products in true float32
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "benchmarks" / "results" / "gpu_check" / f"{machine_label()}-{stamp}.json"
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as scratch:
        folder = args.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        check_path, timing_path = str(folder / "check.tif"), str(folder / "timing.tif")
        for path, (rows, cols, bands) in ((check_path, check_size), (timing_path, size)):
            write_synthetic_scene(path, height=rows, width=cols, bands=bands, dtype="int16", overwrite=True)
        floor = read_floor(timing_path)
        cases, skipped = plan_cases(args.dry_run, folder)
        references: dict[int, np.ndarray] = {}
        results = []
        for case in cases:
            record = {"case": case["label"], "detector": case["detector"], "kind": case["kind"],
                      "device": case["device"], "tolerance": TOLERANCE[case["kind"]]}
            if time.perf_counter() - started > args.budget:
                skipped.append({"detector": case["label"], "reason": f"budget of {args.budget:.0f} s spent"})
                continue
            try:
                ref = case["reference"]
                if id(ref) not in references:
                    references[id(ref)], record["reference_seconds"] = score_map(
                        check_path, ref["build"], ref["device"], ref["library"], args.tile_size)
                candidate, record["check_seconds"] = score_map(check_path, case["build"], case["device"],
                                                               case["library"], args.tile_size)
                difference = relative_difference(candidate, references[id(ref)])
                record["relative_difference"] = difference if np.isfinite(difference) else "nan masks differ"
                record["agree"] = bool(difference <= record["tolerance"])
                _, seconds = score_map(timing_path, case["build"], case["device"], case["library"], args.tile_size)
                record["seconds"] = round(seconds, 4)
                record["ratio_to_read_floor"] = round(seconds / floor, 3) if floor > 0 else None
                record["megapixels_per_second"] = round(size[0] * size[1] / 1e6 / seconds, 3)
            except Exception as exc:  # one failing case is a result, not the end of the check
                record["agree"] = False
                record["error"] = f"{type(exc).__name__}: {exc}"
                record["traceback"] = traceback.format_exc(limit=5)
            results.append(record)
        import platform

        payload = {
            "script": "benchmarks/gpu_check.py",
            "dry_run": args.dry_run,
            "ran_on_gpu": not args.dry_run,
            "utc": stamp,
            "machine": {"label": machine_label(), "cpu": cpu_model(), "gpu": gpu_model(),
                        "python": platform.python_version(), "hadinfer": hadinfer.__version__},
            "scenes": {"check": "x".join(map(str, check_size)), "timing": "x".join(map(str, size)),
                       "dtype": "int16", "tile_size": args.tile_size},
            "read_floor_seconds": round(floor, 4),
            "tolerances": TOLERANCE,
            "cases": results,
            "skipped": skipped,
            "all_agree": bool(results) and all(r["agree"] for r in results),
            "seconds": round(time.perf_counter() - started, 2),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    for record in results:
        print(f"{record['case']:<36} agree={record['agree']} "
              f"diff={record.get('relative_difference', '-')} s={record.get('seconds', '-')} "
              f"x_floor={record.get('ratio_to_read_floor', '-')} {record.get('error', '')}")
    print(json.dumps({"all_agree": payload["all_agree"], "json": str(out), "cases": len(results),
                      "skipped": len(skipped), "dry_run": args.dry_run, "seconds": payload["seconds"]}))
    return 0 if payload["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
