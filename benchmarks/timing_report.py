"""What ``timing.py`` reports: each case's summary, the ratios between cases, the tables and the chart.

Ratios compare cases of one run only: :func:`ratios` takes best against best, and
:func:`paired_ratios` the ratio within each round (the cases of a round ran minutes apart
at most), whose median and range say how far the machine's drift moved them.
"""

from __future__ import annotations

import statistics
from pathlib import Path

#: The floor each case is measured against (``x floor`` = case seconds / floor seconds).
FLOOR_OF = {"grx": "floor-f32", "grx-fp64": "floor-f64", "deep-torch": "floor-deep", "deep-ort": "floor-deep",
            "deep-ort-fp16": "floor-deep"}

#: Pairs ``(case, reference)`` whose ratio is also given round by round (``<case>_x_<reference>_paired``,
#: the median over rounds): the speed issue's targets.
PAIRED = (("grx", "floor-f32"), ("fusion", "floor-f32"), ("deep-ort", "fusion"), ("deep-torch", "fusion"),
          ("learned", "fusion"), ("fusion-area", "fusion"), ("fusion-peaks", "fusion"))


def paired_ratios(results: dict) -> dict:
    """Each :data:`PAIRED` ratio round by round: ``{name: [ratio per round]}``, rounds where both ran."""
    out = {}
    for case, reference in PAIRED:
        mine = results.get(case, {}).get("seconds_runs")
        theirs = results.get(reference, {}).get("seconds_runs")
        if not mine or not theirs or len(mine) != len(theirs):
            continue
        rounds = [a / b for a, b in zip(mine, theirs) if a is not None and b]
        if rounds:
            out[f"{_key(case, reference)}_paired"] = rounds
    return out


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"]}
    seconds = [r["seconds"] for r in ok]
    out = {"seconds_min": min(seconds), "seconds_median": statistics.median(seconds), "repeats": len(ok),
           "pixels": ok[0]["pixels"], "peak_memory_mb": max(r["peak_memory_mb"] for r in ok),
           "peak_memory_mb_runs": [r["peak_memory_mb"] for r in ok]}
    if all("traced_peak_mb" in r for r in ok):
        out["traced_peak_mb_runs"] = [r["traced_peak_mb"] for r in ok]
    out["megapixels_per_second"] = out["pixels"] / 1e6 / out["seconds_min"]
    out["seconds_per_pixel"] = out["seconds_min"] / out["pixels"]
    best = min(ok, key=lambda r: r["seconds"])
    for key in ("rx_seconds", "stages", "covariance_seconds", "projection_seconds", "computed", "flops_per_pixel",
                "gemm_gflops", "data_pixels", "schedule", "schedules"):
        if key in best:
            out[key] = best[key]
    return out


def _key(case: str, floor: str) -> str:
    """Ratio name of a case against its floor: ``deep_ort_x_floor_deep``."""
    return f"{case}_x_{floor}".replace("-", "_")


def ratios(results: dict) -> dict:
    """Multiples of the floors, speed-ups, memory fractions and slow-downs; pairs with a side missing are left out."""
    def get(case, key, within=None):
        entry = results.get(case, {})
        return (entry.get(within) or {}).get(key) if within else entry.get(key)

    def div(a, b):
        return a / b if a is not None and b not in (None, 0) else None

    out = {}
    for case, floor in FLOOR_OF.items():
        out[_key(case, floor)] = div(get(case, "seconds_min"), get(floor, "seconds_min"))
    out["grx_x_floor_f64"] = div(get("grx", "seconds_min"), get("floor-f64", "seconds_min"))
    out["grx_x_floor_f32_tri"] = div(get("grx", "seconds_min"), get("floor-f32-tri", "seconds_min"))
    out["floor_f64_x_floor_f32"] = div(get("floor-f64", "seconds_min"), get("floor-f32", "seconds_min"))
    for ours in ("grx", "grx-fp64"):
        key = ours.replace("-", "_")
        out[f"{key}_speedup_vs_spy_rx"] = div(get("spy-rx", "seconds_min"), get(ours, "seconds_min"))
        out[f"{key}_memory_fraction_of_spy_rx"] = div(get(ours, "peak_memory_mb"), get("spy-rx", "peak_memory_mb"))
    out["lrx_per_pixel_speedup_vs_spy_windowed_rx"] = div(get("spy-rx-window", "seconds_per_pixel"),
                                                          get("lrx", "seconds_per_pixel"))
    out["lrx_full_bands_per_pixel_speedup_vs_spy_windowed_rx"] = div(get("spy-rx-window", "seconds_per_pixel"),
                                                                     get("lrx-full-crop", "seconds_per_pixel"))
    for case in results:
        if case not in ("read", "floor-f32", "floor-f32-tri", "floor-f64", "floor-deep", "spy-rx-window",
                        "lrx-full-crop"):
            out[f"{case.replace('-', '_')}_time_x_read"] = div(get(case, "seconds_min"), get("read", "seconds_min"))
    for case in results:
        out[f"{case.replace('-', '_')}_slowdown_with_busy_neighbour"] = div(
            get(case, "seconds_min", "contended"), get(case, "seconds_min"))
    for name, rounds in paired_ratios(results).items():
        out[name] = statistics.median(rounds)
    return {k: v for k, v in out.items() if v is not None}


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
    colours = ["#999999" if c.startswith("floor") or c == "read" else "#3b75af" for c in cases]
    ax.barh(cases, [results[c]["megapixels_per_second"] for c in cases], color=colours)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("megapixels per second (log scale; grey: floors; per-pixel extrapolation for crop cases)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(meta: dict, results: dict, ratio: dict, descriptions: dict[str, str]) -> str:
    """The run as Markdown: a row per case (``descriptions``: a line each), the floors' parts, the ratios."""
    contention = any("contended" in r for r in results.values())
    lines = [f"# Timing: {meta['scene_desc']}", "",
             f"{meta['date']} on {meta['machine']} ({meta['cpus']} CPUs, device {meta['device']}, "
             f"{meta.get('ring_kernel', 'numpy')} ring kernel, {meta.get('energy_product', 'dense')} energy product), "
             f"command: `{meta['command']}`", "",
             "| case | what | s (min) | s (median) | MP/s | µs/pixel | peak MiB | × floor |"
             + (" s beside a busy process | slow-down |" if contention else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|---|" if contention else "")]
    for case, res in results.items():
        what = descriptions.get(case, "")
        if "skipped" in res or "error" in res:
            state = f"skipped: {res['skipped']}" if "skipped" in res else f"failed: {res['error']}"
            lines.append(f"| {case} | {what} | {state} | | | | | |" + (" | |" if contention else ""))
            continue
        floor = FLOOR_OF.get(case)
        multiple = ratio.get(_key(case, floor)) if floor else None
        row = (f"| {case} | {what} | {res['seconds_min']:.3f}{' (computed)' if res.get('computed') else ''} | "
               f"{res['seconds_median']:.3f} | {res['megapixels_per_second']:.3g} | "
               f"{res['seconds_per_pixel'] * 1e6:.3g} | {res['peak_memory_mb']:.0f} | "
               f"{'' if multiple is None else f'{multiple:.2f} × {floor}'} |")
        if contention:
            busy = res.get("contended", {})
            slow = ratio.get(f"{case.replace('-', '_')}_slowdown_with_busy_neighbour")
            row += (f" {busy['seconds_min']:.3f} |" if "seconds_min" in busy else " |") + \
                (f" {slow:.2f}× |" if slow is not None else " |")
        lines.append(row)
    details = []
    for case in ("floor-f32", "floor-f32-tri", "floor-f64"):
        if "covariance_seconds" in results.get(case, {}):
            r = results[case]
            schedules = "; ".join(f"{name} {seconds:.3f} s" for name, seconds in r.get("schedules", {}).items())
            details.append(f"- {case}: scatter {r['covariance_seconds']:.3f} s + projection and norms "
                           f"{r['projection_seconds']:.3f} s ({r['data_pixels']} random pixels in memory"
                           + (f"; the faster schedule of: {schedules}" if schedules else "") + ")")
    if "flops_per_pixel" in results.get("floor-deep", {}):
        r = results["floor-deep"]
        details.append(f"- floor-deep: {r['flops_per_pixel']:.0f} FLOP/pixel (ONNX graph convolutions) at "
                       f"{r['gemm_gflops']:.1f} GFLOP/s (best float32 GEMM here)")
    lines += [""] + details + ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3g} |" for k, v in ratio.items()]
    paired = paired_ratios(results)
    if paired:
        lines += ["", "Paired, round by round (the cases of a round ran minutes apart at most; `_paired` above is "
                  "the median):", "", "| ratio | each round | range |", "|---|---|---|"]
        lines += [f"| {name} | {', '.join(f'{v:.2f}' for v in rounds)} | {min(rounds):.2f} to {max(rounds):.2f} |"
                  for name, rounds in paired.items()]
    return "\n".join(lines) + "\n"


def scaling_table(meta: dict, rows: list[dict]) -> str:
    """The scaling run as a Markdown table: every run's peaks, so their spread shows."""
    traced = any("traced_peak_mb_runs" in r for r in rows)
    lines = [f"# Scaling: square synthetic scenes of {meta['bands']} int16 bands", "",
             f"{meta['date']} on {meta['machine']}, command: `{meta['command']}`", "",
             "Resident peak: the process's `VmHWM`. " + (
                 "Traced peak: what Python and NumPy allocated at most (tracemalloc), without the "
                 "allocator's free lists or GDAL's own memory." if traced else ""), "",
             "| case | megapixels | s (min) | resident peak MiB, each run | " + (
                 "traced peak MiB, each run |" if traced else ""),
             "|---|---|---|---|" + ("---|" if traced else "")]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['megapixels']:.2f} | {r['error']} | |" + (" |" if traced else ""))
            continue
        cells = [r["case"], f"{r['megapixels']:.2f}", f"{r['seconds_min']:.2f}",
                 ", ".join(f"{v:.0f}" for v in r["peak_memory_mb_runs"])]
        if traced:
            cells.append(", ".join(f"{v:.1f}" for v in r.get("traced_peak_mb_runs", [])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
