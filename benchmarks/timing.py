"""Side-by-side speed of hadinfer's detectors, the raw read floor, and Spectral Python.

Every case runs in a fresh Python process, so its peak memory (``ru_maxrss``) is its
own, and each is repeated (min and median reported).  Ratios compare cases measured in
this one run on this one machine.

    python benchmarks/timing.py                              # 2048x2048x200 int16 synthetic
    python benchmarks/timing.py --scene my.tif --repeat 5
    python benchmarks/timing.py --smoke                      # seconds; checks the plumbing

Results: ``benchmarks/results/<machine>-<date>/timing.json`` and ``timing.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model, gpu_model, machine_label  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- cases
# Each runs inside a child process and returns {"seconds": ..., "pixels": ...}.

def case_read(scene: str, args) -> dict:
    """The floor: every band of every block-aligned 256x256 window, nothing else."""
    import rasterio
    from rasterio.windows import Window

    start = time.perf_counter()
    with rasterio.Env(GDAL_CACHEMAX=256), rasterio.open(scene) as ds:  # hadinfer.detect's cache
        for row in range(0, ds.height, 256):
            for col in range(0, ds.width, 256):
                ds.read(window=Window(col, row, min(256, ds.width - col), min(256, ds.height - row)))
        pixels = ds.width * ds.height
    return {"seconds": time.perf_counter() - start, "pixels": pixels}


def _hadinfer(scene: str, args, **params) -> dict:
    import hadinfer

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        start = time.perf_counter()
        result = hadinfer.detect(scene, Path(tmp) / "map.tif", device="cpu", **params)
        seconds = time.perf_counter() - start
    s = result.report["scene"]
    return {"seconds": seconds, "pixels": s["height"] * s["width"], "stages": result.report["seconds"]}


def case_grx(scene, args):
    """hadinfer global RX, float64 end to end, map written to GeoTIFF."""
    return _hadinfer(scene, args, detector="grx")


def case_grx_fp32(scene, args):
    """hadinfer global RX, float64 statistics, float32 scoring projection."""
    return _hadinfer(scene, args, detector="grx", precision="float32")


def case_lrx(scene, args):
    """hadinfer dual-window local RX (5,21) on 10 PCA components."""
    return _hadinfer(scene, args, detector="lrx", inner=5, outer=21, n_components=10)


def case_deep_torch(scene, args):
    """The shipped general model (AnomalyFCN checkpoint) in PyTorch on the CPU."""
    from hadinfer.detectors.deep import DeepDetector

    return _hadinfer(scene, args, detector=DeepDetector(args.model))


def case_deep_ort(scene, args):
    """The shipped general model (ONNX, FP32) in ONNX Runtime on the CPU."""
    from hadinfer.detectors.onnx_detector import OnnxDetector

    return _hadinfer(scene, args, detector=OnnxDetector(args.onnx))


def case_deep_ort_fp16(scene, args):
    """The shipped general model exported to FP16, in ONNX Runtime on the CPU."""
    from hadinfer.detectors.onnx_detector import OnnxDetector

    return _hadinfer(scene, args, detector=OnnxDetector(args.onnx16))


def _read_cube(scene: str, crop: int | None = None):
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(scene) as ds:
        if crop is None:
            return np.moveaxis(ds.read(), 0, -1)
        row, col = (ds.height - crop) // 2, (ds.width - crop) // 2
        return np.moveaxis(ds.read(window=Window(col, row, crop, crop)), 0, -1)


def case_spy_rx(scene, args):
    """Spectral Python global rx: the whole cube read into memory, then spectral.rx."""
    import spectral

    start = time.perf_counter()
    cube = _read_cube(scene)
    loaded = time.perf_counter()
    spectral.rx(cube)
    end = time.perf_counter()
    return {"seconds": end - start, "rx_seconds": end - loaded, "pixels": cube.shape[0] * cube.shape[1]}


def case_spy_rx_window(scene, args):
    """Spectral Python windowed rx (5,21), full bands, on a central crop (per-pixel cost)."""
    import spectral

    cube = _read_cube(scene, args.crop)
    start = time.perf_counter()
    spectral.rx(cube, window=(5, 21))
    return {"seconds": time.perf_counter() - start, "pixels": cube.shape[0] * cube.shape[1]}


def case_lrx_full_crop(scene, args):
    """hadinfer local RX (5,21) on all bands, on the same crop as SPy's windowed rx."""
    import hadinfer

    cube = _read_cube(scene, args.crop)
    start = time.perf_counter()
    hadinfer.detect(cube, detector="lrx", inner=5, outer=21, n_components=None, device="cpu")
    return {"seconds": time.perf_counter() - start, "pixels": cube.shape[0] * cube.shape[1]}


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items() if name.startswith("case_")}


# --------------------------------------------------------------------------- driver

def run_child(case: str, scene: str, args) -> dict:
    """Run one case in a fresh interpreter; return its result plus peak memory."""
    command = [sys.executable, __file__, "--child", case, "--scene", scene, "--crop", str(args.crop),
               "--workdir", str(args.workdir), "--model", str(args.model), "--onnx", str(args.onnx),
               "--onnx16", str(args.onnx16)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(case: str, scene: str, args) -> None:
    from hadinfer.pipeline import peak_memory_mb

    result = CASES[case](scene, args)
    result["peak_memory_mb"] = peak_memory_mb()
    print(json.dumps(result))


def _network_files(folder: Path, cases: list[str]) -> tuple[str, str, str, dict]:
    """The shipped model's checkpoint, its ONNX model and an FP16 export for the deep cases;
    cases whose runtime is missing are skipped with the reason."""
    from hadinfer.weights import shipped_model

    skipped = {}
    model, onnx_path, onnx16 = str(shipped_model(checkpoint=True)), str(shipped_model()), ""
    deep = [c for c in cases if c.startswith("deep")]
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        skipped.update({c: f"torch missing ({exc})" for c in deep if c != "deep-ort"})
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        skipped.update({c: f"onnxruntime missing ({exc})" for c in deep if c.startswith("deep-ort")})
    if "deep-ort-fp16" in deep and "deep-ort-fp16" not in skipped:
        try:
            from hadinfer.export.onnx_export import export_onnx

            onnx16 = str(export_onnx(model, folder / "general-fp16.onnx", fp16=True))
        except Exception as exc:  # noqa: BLE001 - any exporter failure just skips the FP16 case
            skipped["deep-ort-fp16"] = f"FP16 export unavailable ({type(exc).__name__}: {exc})"
    return model, onnx_path, onnx16, skipped


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"]}
    seconds = [r["seconds"] for r in ok]
    out = {"seconds_min": min(seconds), "seconds_median": statistics.median(seconds), "repeats": len(ok),
           "pixels": ok[0]["pixels"], "peak_memory_mb": max(r["peak_memory_mb"] for r in ok)}
    out["megapixels_per_second"] = out["pixels"] / 1e6 / out["seconds_min"]
    out["seconds_per_pixel"] = out["seconds_min"] / out["pixels"]
    for key in ("rx_seconds", "stages"):
        if key in ok[0]:
            out[key] = min((r[key] for r in ok), key=lambda v: v if isinstance(v, float) else v["total"])
    return out


def ratios(results: dict) -> dict:
    """Speed-ups and memory fractions; None where a side is missing."""
    def get(case, key):
        return results.get(case, {}).get(key)

    def div(a, b):
        return a / b if a is not None and b not in (None, 0) else None

    out = {}
    for ours in ("grx", "grx-fp32"):
        out[f"{ours}_speedup_vs_spy_rx"] = div(get("spy-rx", "seconds_min"), get(ours, "seconds_min"))
        out[f"{ours}_memory_fraction_of_spy_rx"] = div(get(ours, "peak_memory_mb"), get("spy-rx", "peak_memory_mb"))
        out[f"{ours}_throughput_vs_read"] = div(get("read", "seconds_min"), get(ours, "seconds_min"))
    out["lrx_per_pixel_speedup_vs_spy_windowed_rx"] = div(get("spy-rx-window", "seconds_per_pixel"),
                                                          get("lrx", "seconds_per_pixel"))
    out["lrx_full_bands_per_pixel_speedup_vs_spy_windowed_rx"] = div(get("spy-rx-window", "seconds_per_pixel"),
                                                                     get("lrx-full-crop", "seconds_per_pixel"))
    out["lrx_throughput_vs_read"] = div(get("read", "seconds_min"), get("lrx", "seconds_min"))
    for ours in ("deep-torch", "deep-ort", "deep-ort-fp16"):
        if get(ours, "seconds_min") is not None:
            out[f"{ours}_throughput_vs_read"] = div(get("read", "seconds_min"), get(ours, "seconds_min"))
    return out


def chart(results: dict, path: Path, title: str) -> None:
    """Megapixels per second per case, log scale (needs matplotlib; skipped without it)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return
    cases = [c for c, r in results.items() if "megapixels_per_second" in r]
    fig = Figure(figsize=(8, 0.5 * len(cases) + 1.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(cases, [results[c]["megapixels_per_second"] for c in cases], color="#3b75af")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("megapixels per second (log scale; per-pixel extrapolation for crop cases)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(meta: dict, results: dict, ratio: dict) -> str:
    lines = [f"# Timing: {meta['scene_desc']}", "",
             f"{meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), command: `{meta['command']}`", "",
             "| case | what | s (min) | s (median) | MP/s | µs/pixel | peak MiB |", "|---|---|---|---|---|---|---|"]
    for case, res in results.items():
        what = (CASES[case].__doc__ or "").strip().splitlines()[0]
        if "skipped" in res:
            lines.append(f"| {case} | {what} | skipped: {res['skipped']} | | | | |")
            continue
        if "error" in res:
            lines.append(f"| {case} | {what} | failed: {res['error']} | | | | |")
            continue
        lines.append(f"| {case} | {what} | {res['seconds_min']:.3f} | {res['seconds_median']:.3f} | "
                     f"{res['megapixels_per_second']:.3g} | {res['seconds_per_pixel'] * 1e6:.3g} | "
                     f"{res['peak_memory_mb']:.0f} |")
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {'n/a' if v is None else f'{v:.3g}'} |" for k, v in ratio.items()]
    return "\n".join(lines) + "\n"


def scaling(args, sizes: list[float], cases: list[str]) -> int:
    """Time and peak memory of ``cases`` on square synthetic scenes of ``sizes`` megapixels."""
    from hadinfer.synthetic import write_synthetic_scene

    rows = []
    for megapixels in sizes:
        edge = int(round((megapixels * 1e6) ** 0.5))
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            scene = str(Path(tmp) / "scene.tif")
            print(f"writing {edge}x{edge}x{args.bands} ...", file=sys.stderr)
            write_synthetic_scene(scene, height=edge, width=edge, bands=args.bands, dtype="int16")
            for case in cases:
                runs = [run_child(case, scene, args) for _ in range(args.repeat)]
                rows.append({"case": case, "edge": edge, "megapixels": edge * edge / 1e6, **summarize(runs)})
                print(f"{case} {edge}x{edge}: {rows[-1].get('seconds_min')} s, "
                      f"{rows[-1].get('peak_memory_mb')} MiB", file=sys.stderr)
    date = dt.datetime.now(dt.timezone.utc)
    out = args.out or ROOT / "benchmarks" / "results" / f"{machine_label()}-{date:%Y-%m-%d}"
    out.mkdir(parents=True, exist_ok=True)
    meta = {"date": date.isoformat(timespec="seconds"), "machine": machine_label(), "bands": args.bands,
            "command": "python benchmarks/timing.py " + " ".join(sys.argv[1:])}
    (out / "scaling.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return 0
    fig = Figure(figsize=(9, 4))
    FigureCanvasAgg(fig)
    for index, (key, label) in enumerate((("seconds_min", "seconds"), ("peak_memory_mb", "peak MiB"))):
        ax = fig.add_subplot(1, 2, index + 1)
        for case in cases:
            mine = [r for r in rows if r["case"] == case and key in r]
            ax.loglog([r["megapixels"] for r in mine], [r[key] for r in mine], "o-", label=case)
        ax.set_xlabel(f"megapixels ({args.bands} bands)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"scaling, {meta['machine']}, {meta['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=110)
    return 0


def parse_synthetic(spec: str) -> tuple[int, int, int, str]:
    size, _, dtype = spec.partition(":")
    rows, cols, bands = (int(v) for v in size.lower().split("x"))
    return rows, cols, bands, dtype or "int16"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", help="A raster to time (default: a synthetic scene).")
    parser.add_argument("--synthetic", default="2048x2048x200:int16", help="ROWSxCOLSxBANDS:DTYPE")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crop", type=int, default=48, help="crop edge for windowed-rx cases")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--smoke", action="store_true", help="tiny scene, one repeat: checks the plumbing")
    parser.add_argument("--scaling", default=None, help="comma list of megapixels, e.g. 0.25,1,4,16: time and "
                                                         "peak memory per size for --cases (default grx,lrx)")
    parser.add_argument("--bands", type=int, default=200, help="bands of --scaling scenes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    parser.add_argument("--onnx16", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a missing --workdir used to be a traceback
    if args.child:
        child_main(args.child, args.scene, args)
        return 0
    if args.smoke:
        args.synthetic, args.repeat, args.crop = "96x96x24:int16", 1, 24
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    if args.scaling:
        args.model = args.onnx = args.onnx16 = ""
        chosen = cases if args.cases != ",".join(CASES) else ["grx", "lrx"]
        return scaling(args, [float(v) for v in args.scaling.split(",")], chosen)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        scene = args.scene
        if scene is None:
            from hadinfer.synthetic import write_synthetic_scene

            rows, cols, bands, dtype = parse_synthetic(args.synthetic)
            scene = str(Path(tmp) / "scene.tif")
            print(f"writing synthetic {args.synthetic} scene ...", file=sys.stderr)
            write_synthetic_scene(scene, height=rows, width=cols, bands=bands, dtype=dtype)
            desc = f"synthetic {args.synthetic} GeoTIFF (uncompressed, 256x256 tiles, band-interleaved)"
        else:
            desc = scene
        args.model, args.onnx, args.onnx16, skipped = _network_files(Path(tmp), cases)
        results = {case: {"skipped": reason} for case, reason in skipped.items()}
        for case in cases:
            if case in skipped:
                continue
            runs = []
            for i in range(args.repeat):
                print(f"{case} {i + 1}/{args.repeat} ...", file=sys.stderr)
                runs.append(run_child(case, scene, args))
                if "error" in runs[-1]:
                    break
            results[case] = summarize(runs)
    date = dt.datetime.now(dt.timezone.utc)
    meta = {"date": date.isoformat(timespec="seconds"), "machine": machine_label(), "host": socket.gethostname(),
            "cpu": cpu_model(), "gpu": gpu_model(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "scene_desc": desc,
            "command": "python benchmarks/timing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
            "repeat": args.repeat, "crop": args.crop}
    ratio = ratios(results)
    folder = f"{'smoke-' if args.smoke else ''}{machine_label()}-{date:%Y-%m-%d}"
    out = args.out or ROOT / "benchmarks" / "results" / folder
    out.mkdir(parents=True, exist_ok=True)
    (out / "timing.json").write_text(json.dumps({"meta": meta, "results": results, "ratios": ratio}, indent=2) + "\n")
    table = markdown(meta, results, ratio)
    (out / "timing.md").write_text(table)
    chart(results, out / "timing.png", f"{desc}\n{meta['machine']}, {meta['date']}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
