"""Side-by-side speed of hadinfer's detectors, this machine's floors, and Spectral Python.

Every case runs in a fresh Python process, so its peak memory is its own, and each is
repeated (min and median reported).  Ratios compare cases measured in this one run on
this one machine; compare timings only within one run.

The repeats run in rounds, every case once per round (every other round in reverse
order), so cases that are compared run minutes apart at most, not one case's repeats
after another's.  A shared VM's speed drifts: on the 2-core AMD VM (2026-12-07) ``fusion``
took 2.62 s in one run and 2.99 s in the next, ten minutes later, and ``general`` against
``fusion`` read 1.58x in the one and 1.36x in the other.  Besides the ratio of the
best times, the targets' ratios are also given paired, round by round
(``timing_report.PAIRED``): their median and range say how far the drift moved them.

The floors are what the arithmetic costs at this machine's BLAS speed, with nothing else:

- ``read``: every band of every 256x256 window of the scene, nothing else (the I/O floor);
- ``floor-f32``, ``floor-f64``: the two products GRX cannot avoid, on random data of the
  scene's size already in memory, one 256x256 tile of rows at a time: the B x B scatter
  ``X^T X`` (the statistics) and the projection and row norms ``||X P||^2`` (scoring), in
  the faster of two schedules: one product at a time with every BLAS thread, or a tile per
  core with one BLAS thread each (as the pipeline scores);
- ``floor-f32-tri``: ``floor-f32`` with the norms from the triangular product global RX now
  uses (:mod:`hadinfer.kernels.triangular_energy`, SciPy's BLAS), in place on column-major
  chunks of 4096 rows as the pipeline centres them: the stricter floor, about half the
  projection's multiplications;
- ``floor-deep``: the shipped network's FLOPs per pixel, counted from its ONNX graph,
  divided by this machine's measured float32 GEMM rate (a computed time, not a run).

::

    python benchmarks/timing.py --synthetic 1024x1024x200 --repeat 3
    python benchmarks/timing.py --interleave pixel   # the synthetic scene as GDAL writes GeoTIFFs by default
    python benchmarks/timing.py --contention      # each case again beside one busy CPU-bound process
    python benchmarks/timing.py --device cuda     # hadinfer and floor rows on the GPU (where there is one)
    python benchmarks/timing.py --scene my.tif --cases read,grx,floor-f32
    python benchmarks/timing.py --smoke           # seconds; checks the plumbing
    python benchmarks/timing.py --scaling 0.25,1,4,16   # time linear in pixels, memory flat

Results: ``benchmarks/results/<machine>-<date>/timing.json``, ``timing.md`` and ``timing.png``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

from floors import blas_floor, gemm_rate, network_flops_per_pixel  # benchmarks/, beside this script
from machine import cpu_model, gpu_model, machine_label
from timing_report import chart, markdown, ratios, scaling_table, summarize

from hadinfer.kernels.compiled import compiled_kernels
from hadinfer.kernels.triangular_energy import triangular_blas

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- cases
# Each runs inside a child process and returns {"seconds": ..., "pixels": ...}.

#: The cases by name, in the order they are defined (the default ``--cases``); filled by :func:`case`.
CASES: dict = {}


def case(name: str):
    """Register the decorated function as the case ``name``: ``fn(scene, args) -> dict``."""
    def register(fn):
        if name in CASES:
            raise ValueError(f"case {name!r} registered twice")
        CASES[name] = fn
        return fn

    return register


@case("read")
def case_read(scene: str, args) -> dict:
    """The I/O floor: every band of every block-aligned 256x256 window, nothing else."""
    import rasterio
    from rasterio.windows import Window

    from hadinfer.io import RasterioScene
    from hadinfer.io.read_options import direct_read_options

    start = time.perf_counter()
    # As hadinfer.detect reads: its block cache and direct reads, each window in the file's
    # own layout (pixel-major for a pixel-interleaved file, RasterioScene._pixel_major).
    with rasterio.Env(GDAL_CACHEMAX=2**20, **direct_read_options()), RasterioScene(scene) as opened:
        height, width = opened.info.height, opened.info.width
        for row in range(0, height, 256):
            for col in range(0, width, 256):
                opened._read_raw(Window(col, row, min(256, width - col), min(256, height - row)))
    return {"seconds": time.perf_counter() - start, "pixels": height * width}


@case("floor-f32")
def case_floor_f32(scene, args):
    """BLAS floor, float32: X^T X plus ||X P||^2 on random in-memory data of the scene's size."""
    return blas_floor(scene_shape(scene), "float32", args.device)


@case("floor-f32-tri")
def case_floor_f32_triangular(scene, args):
    """BLAS floor, float32, with GRX's triangular product: X^T X plus ||X L||^2, L lower triangular (needs SciPy)."""
    return blas_floor(scene_shape(scene), "float32", args.device, triangular=True)


@case("floor-f64")
def case_floor_f64(scene, args):
    """BLAS floor, float64: X^T X plus ||X P||^2 on random in-memory data of the scene's size."""
    return blas_floor(scene_shape(scene), "float64", args.device)


@case("floor-deep")
def case_floor_deep(scene, args):
    """Network FLOP floor: FLOPs per pixel (ONNX graph) / measured float32 GEMM rate (computed)."""
    rows, cols, _ = scene_shape(scene)
    flops = network_flops_per_pixel(args.onnx)
    rate = gemm_rate(args.device)
    return {"seconds": rows * cols * flops / rate, "pixels": rows * cols, "computed": True,
            "flops_per_pixel": flops, "gemm_gflops": rate / 1e9}


def _hadinfer(scene: str, args, **params) -> dict:
    import hadinfer

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        start = time.perf_counter()
        result = hadinfer.detect(scene, Path(tmp) / "map.tif", device=args.device, **params)
        seconds = time.perf_counter() - start
    s = result.report["scene"]
    return {"seconds": seconds, "pixels": s["height"] * s["width"], "stages": result.report["seconds"]}


@case("grx")
def case_grx(scene, args):
    """hadinfer global RX, default (float32 statistics and projection), map written to GeoTIFF."""
    return _hadinfer(scene, args, detector="grx")


@case("grx-fp64")
def case_grx_fp64(scene, args):
    """hadinfer global RX, float64 statistics and projection."""
    return _hadinfer(scene, args, detector="grx", precision="float64")


@case("lrx")
def case_lrx(scene, args):
    """hadinfer dual-window local RX (5,21) on 10 PCA components."""
    return _hadinfer(scene, args, detector="lrx", inner=5, outer=21, n_components=10)


@case("fusion")
def case_fusion(scene, args):
    """hadinfer fusion (the default detector): global RX and local RX at two window pairs."""
    return _hadinfer(scene, args, detector="fusion")


@case("fusion-area")
def case_fusion_area(scene, args):
    """hadinfer fusion-area: fusion and the area profile of its 3 leading components (extra area)."""
    return _hadinfer(scene, args, detector="fusion-area")


@case("fusion-peaks")
def case_fusion_peaks(scene, args):
    """hadinfer fusion-peaks: fusion over the square root of its own area opening (extra area)."""
    return _hadinfer(scene, args, detector="fusion-peaks")


@case("learned")
def case_learned(scene, args):
    """hadinfer learned: fusion on the spectra and on the shipped feature model's features (two statistics passes)."""
    return _hadinfer(scene, args, detector="learned")


@case("deep-torch")
def case_deep_torch(scene, args):
    """The shipped general model (checkpoint) in PyTorch."""
    return _hadinfer(scene, args, detector="general", runtime="torch")


@case("deep-ort")
def case_deep_ort(scene, args):
    """The shipped general model (ONNX, FP32) in ONNX Runtime."""
    return _hadinfer(scene, args, detector="general")


@case("deep-ort-fp16")
def case_deep_ort_fp16(scene, args):
    """The shipped general model exported to FP16, in ONNX Runtime."""
    return _hadinfer(scene, args, detector=args.onnx16, runtime="onnxruntime")


def _read_cube(scene: str, crop: int | None = None):
    import numpy as np
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(scene) as ds:
        if crop is None:
            return np.moveaxis(ds.read(), 0, -1)
        row, col = (ds.height - crop) // 2, (ds.width - crop) // 2
        return np.moveaxis(ds.read(window=Window(col, row, crop, crop)), 0, -1)


@case("spy-rx")
def case_spy_rx(scene, args):
    """Spectral Python global rx (CPU): the whole cube read into memory, then spectral.rx."""
    import spectral

    start = time.perf_counter()
    cube = _read_cube(scene)
    loaded = time.perf_counter()
    spectral.rx(cube)
    end = time.perf_counter()
    return {"seconds": end - start, "rx_seconds": end - loaded, "pixels": cube.shape[0] * cube.shape[1]}


@case("spy-rx-window")
def case_spy_rx_window(scene, args):
    """Spectral Python windowed rx (5,21) (CPU), full bands, on a central crop (per-pixel cost)."""
    import spectral

    cube = _read_cube(scene, args.crop)
    start = time.perf_counter()
    spectral.rx(cube, window=(5, 21))
    return {"seconds": time.perf_counter() - start, "pixels": cube.shape[0] * cube.shape[1]}


@case("lrx-full-crop")
def case_lrx_full_crop(scene, args):
    """hadinfer local RX (5,21) on all bands, on the same crop as SPy's windowed rx."""
    import hadinfer

    cube = _read_cube(scene, args.crop)
    start = time.perf_counter()
    hadinfer.detect(cube, detector="lrx", inner=5, outer=21, n_components=None, device=args.device,
                    layout="bands-last")
    return {"seconds": time.perf_counter() - start, "pixels": cube.shape[0] * cube.shape[1]}


#: Cases that always run on the CPU, whatever --device says (the peer and the I/O floor).
CPU_ONLY = {"read", "spy-rx", "spy-rx-window"}


def scene_shape(scene: str) -> tuple[int, int, int]:
    """(rows, cols, bands) of a raster or ``.mat`` scene, without reading pixels."""
    import hadinfer

    with hadinfer.open_scene(scene) as opened:
        return opened.info.shape



# --------------------------------------------------------------------------- driver

@contextmanager
def busy_neighbour(enabled: bool = True):
    """One CPU-bound process (a pure-Python loop: one core) running beside the block."""
    if not enabled:
        yield None
        return
    neighbour = subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
    try:
        time.sleep(0.2)  # let it reach the scheduler before the clock starts
        yield neighbour
    finally:
        neighbour.kill()
        neighbour.wait()


def run_child(case: str, scene: str, args, contended: bool = False) -> dict:
    """Run one case in a fresh interpreter (beside a busy process when ``contended``)."""
    command = [sys.executable, __file__, "--child", case, "--scene", scene, "--crop", str(args.crop),
               "--workdir", str(args.workdir), "--onnx", str(args.onnx), "--onnx16", str(args.onnx16),
               "--device", "cpu" if case in CPU_ONLY else args.device] + (["--traced"] if args.traced else [])
    with busy_neighbour(contended):
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(case: str, scene: str, args) -> None:
    from hadinfer import limit_malloc_arenas
    from hadinfer.pipeline import peak_memory_mb

    limit_malloc_arenas()  # as the hadinfer command does
    if args.traced:  # what Python and NumPy allocate, apart from the allocator's and GDAL's own memory
        tracemalloc.start()
    result = CASES[case](scene, args)
    result["peak_memory_mb"] = peak_memory_mb()
    if args.traced:
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(result))


def _network_files(folder: Path, cases: list[str]) -> tuple[str, str, dict]:
    """The shipped ONNX model and an FP16 export of its checkpoint; cases that cannot run are
    skipped with the reason."""
    from hadinfer.weights import shipped_model

    skipped = {}
    onnx_path, onnx16 = str(shipped_model()), ""
    needs = (("torch", ("deep-torch", "deep-ort-fp16")), ("onnxruntime", ("deep-ort", "deep-ort-fp16")),
             ("onnx", ("floor-deep", "deep-ort-fp16")))
    for module, needed_by in needs:
        try:
            __import__(module)
        except ImportError as exc:
            skipped.update({c: f"{module} missing ({exc})" for c in needed_by if c in cases and c not in skipped})
    if "deep-ort-fp16" in cases and "deep-ort-fp16" not in skipped:
        try:
            from hadinfer.export.onnx_export import export_onnx

            onnx16 = str(export_onnx(shipped_model(checkpoint=True), folder / "general-fp16.onnx", fp16=True))
        except Exception as exc:  # noqa: BLE001 - any exporter failure just skips the FP16 case
            skipped["deep-ort-fp16"] = f"FP16 export unavailable ({type(exc).__name__}: {exc})"
    return onnx_path, onnx16, skipped


def run_rounds(cases: list[str], repeat: int, run, note: str = "") -> dict:
    """``repeat`` rounds of ``run(case)`` over ``cases``, every other round in reverse order.

    Returns each case's runs in round order.  A case that fails is not run again.
    """
    runs = {case: [] for case in cases}
    for index in range(repeat):
        for case in cases if index % 2 == 0 else cases[::-1]:
            if runs[case] and "error" in runs[case][-1]:
                continue
            print(f"{case} {index + 1}/{repeat}{note} ...", file=sys.stderr)
            runs[case].append(run(case))
    return runs


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
            "device": args.device, "command": "python benchmarks/timing.py " + " ".join(sys.argv[1:])}
    (out / "scaling.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (out / "scaling.md").write_text(scaling_table(meta, rows))
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


def cuda_available() -> bool:
    """Whether this machine has a GPU PyTorch can use (no torch import without an NVIDIA driver)."""
    from hadinfer.arrays import torch_sees_cuda

    return torch_sees_cuda()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", help="A raster to time (default: a synthetic scene).")
    parser.add_argument("--synthetic", default="2048x2048x200:int16", help="ROWSxCOLSxBANDS:DTYPE")
    parser.add_argument("--interleave", choices=("band", "pixel"), default="band",
                        help="layout of the synthetic scene: band-interleaved (default) or pixel-interleaved, "
                             "GDAL's default GeoTIFF layout (read pixel-major, hadinfer/io/read_options.py)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crop", type=int, default=48, help="crop edge for windowed-rx cases")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where hadinfer and the floors run (read and Spectral Python stay on the CPU)")
    parser.add_argument("--contention", action="store_true",
                        help="run every case again beside one busy CPU-bound process and report the slow-down")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--smoke", action="store_true", help="tiny scene, one repeat: checks the plumbing")
    parser.add_argument("--scaling", default=None, help="comma list of megapixels, e.g. 0.25,1,4,16: time and "
                                                         "peak memory per size for --cases (default grx,lrx)")
    parser.add_argument("--bands", type=int, default=200, help="bands of --scaling scenes")
    parser.add_argument("--traced", action="store_true",
                        help="also trace Python and NumPy allocations (tracemalloc) in each case: their peak "
                             "beside the process's resident peak; slower, so not for timing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    parser.add_argument("--onnx16", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a missing --workdir used to be a traceback
    if args.child:
        child_main(args.child, args.scene, args)
        return 0
    if args.device == "cuda" and not cuda_available():
        parser.error("--device cuda: no CUDA GPU here (no NVIDIA driver, or PyTorch sees none); "
                     "cuda rows are only measured where a GPU exists")
    if args.smoke:
        args.synthetic, args.repeat, args.crop = "96x96x24:int16", 1, 24
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    if args.scaling:
        args.onnx = args.onnx16 = ""
        chosen = cases if args.cases != ",".join(CASES) else ["grx", "lrx"]
        return scaling(args, [float(v) for v in args.scaling.split(",")], chosen)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        scene = args.scene
        if scene is None:
            from hadinfer.synthetic import write_synthetic_scene

            rows, cols, bands, dtype = parse_synthetic(args.synthetic)
            scene = str(Path(tmp) / "scene.tif")
            print(f"writing synthetic {args.synthetic} scene ...", file=sys.stderr)
            write_synthetic_scene(scene, height=rows, width=cols, bands=bands, dtype=dtype, interleave=args.interleave)
            desc = f"synthetic {args.synthetic} GeoTIFF (uncompressed, 256x256 tiles, {args.interleave}-interleaved)"
        else:
            desc = scene
        args.onnx, args.onnx16, skipped = _network_files(Path(tmp), cases)
        if "floor-f32-tri" in cases and (args.device != "cpu" or not triangular_blas()):
            skipped["floor-f32-tri"] = "the triangular product runs on the CPU with SciPy's BLAS (extras fast, mat)"
        results = {case: {"skipped": reason} for case, reason in skipped.items()}
        runnable = [case for case in cases if case not in skipped]
        for contended in (False, True) if args.contention else (False,):
            if contended:  # beside a busy process only what ran alone without failing
                runnable = [case for case in runnable if "error" not in results[case]]
            runs = run_rounds(runnable, args.repeat,
                              lambda case: run_child(case, scene, args, contended),
                              " beside a busy process" if contended else "")
            for case in runnable:
                summary = summarize(runs[case])
                summary["seconds_runs"] = [r.get("seconds") for r in runs[case]]
                if contended:
                    results[case]["contended"] = summary
                else:
                    results[case] = summary
    date = dt.datetime.now(dt.timezone.utc)
    meta = {"date": date.isoformat(timespec="seconds"), "machine": machine_label(), "host": socket.gethostname(),
            "cpu": cpu_model(), "gpu": gpu_model(), "cpus": os.cpu_count(), "device": args.device,
            "ring_kernel": "compiled" if compiled_kernels() else "numpy",
            "energy_product": "triangular" if triangular_blas() else "dense",
            "platform": platform.platform(), "python": platform.python_version(), "scene_desc": desc,
            "command": "python benchmarks/timing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
            "repeat": args.repeat, "crop": args.crop, "contention": args.contention}
    ratio = ratios(results)
    folder = f"{'smoke-' if args.smoke else ''}{machine_label()}-{date:%Y-%m-%d}"
    out = args.out or ROOT / "benchmarks" / "results" / folder
    out.mkdir(parents=True, exist_ok=True)
    (out / "timing.json").write_text(json.dumps({"meta": meta, "results": results, "ratios": ratio}, indent=2) + "\n")
    table = markdown(meta, results, ratio,
                     {case: (CASES[case].__doc__ or "").strip().splitlines()[0] for case in results})
    (out / "timing.md").write_text(table)
    chart(results, out / "timing.png", f"{desc}\n{meta['machine']}, {meta['date']}")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
