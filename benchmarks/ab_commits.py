"""Side-by-side timing of two versions of hadinfer: a git revision against the working tree.

    python benchmarks/ab_commits.py --base 06b6866 --cases fusion,general --reps 6

Each run is one ``hadinfer.detect`` in a fresh process (imports and first-call costs
included, as a user's command pays them), or with ``--whole-command`` one ``hadinfer detect``
command timed from outside (the interpreter's start, every import and its shutdown too:
all a user waits for), and the two versions alternate run by run, so a
machine whose speed drifts (shared VMs do, by 10 % within an hour) slows both alike.
The base version runs from a temporary ``git worktree`` of the revision, imported ahead of
the installed package through ``PYTHONPATH``; both use this interpreter and its packages.
Prints and writes (``--out``) the minimum and median wall and CPU seconds per version and case,
and, per case, the runs paired as they ran (the base's run ``i`` beside the working tree's run
``i``): the median and mean of the differences, a 95 % bootstrap interval of the mean and the
sign-flip p-value (:mod:`paired_uncertainty`).  On a VM whose speed drifts by 10 % within
minutes, a change of a few per cent shows there, not in the medians of the two columns.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from default_scene import scene_or_synthetic  # benchmarks/, beside this script
from paired_uncertainty import bootstrap_interval, sign_flip_p_value

ROOT = Path(__file__).resolve().parents[1]

#: Runs in the child: one detect, its wall and CPU seconds and its peak memory as a JSON line.
CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
import hadinfer
scene, detector, workdir = sys.argv[1:4]
with tempfile.TemporaryDirectory(dir=workdir) as tmp:
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    report = hadinfer.detect(scene, Path(tmp) / "map.tif", detector=detector, device="cpu").report
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                  "peak_mb": report["peak_memory_mb"], "module": hadinfer.__file__}))
"""


def run_once(tree: Path, scene: str, detector: str, workdir: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    # From a neutral folder: ``python -c`` puts the current folder first on sys.path.
    done = subprocess.run([sys.executable, "-c", CHILD, scene, detector, workdir], env=env,
                          capture_output=True, text=True, cwd=workdir, check=False)
    if done.returncode:
        raise SystemExit(f"{detector} from {tree} failed: {done.stderr.strip().splitlines()[-1]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result.pop("module").startswith(str(tree)):
        raise SystemExit(f"{tree}: hadinfer was not imported from there (is PYTHONPATH ignored?)")
    return result


#: ``--whole-command``: the CLI, checked to come from the version's tree (``sys.argv[1]``).
COMMAND = """
import sys
import hadinfer
if not hadinfer.__file__.startswith(sys.argv.pop(1)):
    raise SystemExit("hadinfer was not imported from its tree (is PYTHONPATH ignored?)")
from hadinfer.cli.main import main
sys.argv[0] = "hadinfer"
main()
"""


def run_command(tree: Path, scene: str, detector: str, workdir: str) -> dict:
    """One whole ``hadinfer detect`` process: wall seconds from outside, its CPU seconds and peak resident memory."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    with open(Path(workdir) / "command.err", "w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", COMMAND, str(tree), "detect", scene, "-o",
                                  str(Path(workdir) / "command-map.tif"), "--detector", detector, "--device", "cpu",
                                  "--overwrite", "-q"], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own resource use, unlike RUSAGE_CHILDREN
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            err.seek(0)
            raise SystemExit(f"hadinfer detect --detector {detector} from {tree} failed: "
                             f"{(err.read().strip().splitlines() or ['?'])[-1]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def paired(base: list[float], ours: list[float]) -> dict:
    """Run-by-run differences ``base - ours`` (positive: ``ours`` is faster) and how far they can be chance."""
    differences = np.array(base) - np.array(ours)
    low, high = bootstrap_interval(differences)
    # Every sign pattern up to 16 pairs (65,536); beyond, the p-value of the first 16.
    return {"differences": differences.tolist(), "median": float(np.median(differences)),
            "mean": float(differences.mean()), "interval_95": [low, high],
            "p_sign_flip": sign_flip_p_value(differences[:16]), "faster_in": int((differences > 0).sum())}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare the working tree with")
    parser.add_argument("--cases", default="fusion", help="comma list of detector names")
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--scene", help="raster to run on (default: a synthetic 1024x1024x200 int16 GeoTIFF)")
    parser.add_argument("--out", type=Path, help="folder for ab.json and ab.md")
    parser.add_argument("--whole-command", action="store_true",
                        help="time whole 'hadinfer detect' processes from outside (start-up and shutdown included)")
    args = parser.parse_args(argv)
    run = run_command if args.whole_command else run_once
    # A name such as HEAD moves once the change is committed: the report names the commits.
    base_commit, head_commit = (_git("rev-parse", "--short=12", rev) for rev in (f"{args.base}^{{commit}}", "HEAD"))
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    with tempfile.TemporaryDirectory() as tmp:
        scene = scene_or_synthetic(args.scene, tmp)
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base], check=True)
        try:
            trees = {f"base {args.base}": base, "working tree": ROOT}
            runs = {(label, case): [] for case in args.cases.split(",") for label in trees}
            for case in args.cases.split(","):  # one warm-up each: compiled kernels' disk caches
                for tree in trees.values():
                    run(tree, scene, case, tmp)
            for _ in range(args.reps):
                for case in args.cases.split(","):
                    for label, tree in trees.items():
                        runs[(label, case)].append(run(tree, scene, case, tmp))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    rows = []
    for (label, case), results in runs.items():
        walls, cpus, peaks = ([r[k] for r in results] for k in ("wall", "cpu", "peak_mb"))
        rows.append({"version": label, "case": case, "wall_min": min(walls), "wall_median": statistics.median(walls),
                     "cpu_min": min(cpus), "cpu_median": statistics.median(cpus), "walls": walls,
                     "peak_mb_median": statistics.median(peaks), "peaks_mb": peaks})
    from datetime import UTC, datetime

    from machine import machine_label  # benchmarks/, beside this script

    command = f"python benchmarks/ab_commits.py --base {args.base} --cases {args.cases} --reps {args.reps}"
    command += f" --scene {args.scene}" if args.scene else ""
    command += " --whole-command" if args.whole_command else ""
    lines = [f"`{command}`", "",
             (f"{datetime.now(UTC):%Y-%m-%dT%H:%M} UTC on {machine_label()} ({os.cpu_count()} CPUs); "
              + ("one whole `hadinfer detect` command per run, timed from outside (peak: its resident memory)"
               if args.whole_command else "one detect per fresh process") + ", the versions alternating run by run."), "",
             f"Base: commit {base_commit}; working tree: commit {head_commit}"
             + (" with uncommitted changes (to tracked files)." if dirty else ", nothing uncommitted."), "",
             "| case | version | wall s (min) | wall s (median) | CPU s (median) | peak MiB (median; each run) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['version']} | {r['wall_min']:.2f} | {r['wall_median']:.2f} | {r['cpu_median']:.2f} "
              f"| {r['peak_mb_median']:.0f}; {', '.join(f'{p:.0f}' for p in r['peaks_mb'])} |"
              for r in sorted(rows, key=lambda r: (r["case"], r["version"]))]
    base_label = f"base {args.base}"
    pairs = {case: paired([r["wall"] for r in runs[(base_label, case)]], [r["wall"] for r in runs[("working tree", case)]])
             for case in args.cases.split(",")}
    lines += ["", "Paired run by run, wall seconds, base − working tree (positive: the working tree is faster):", "",
              "| case | median | mean | 95 % interval of the mean | sign-flip p | working tree faster in |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {case} | {p['median']:+.3f} | {p['mean']:+.3f} | {p['interval_95'][0]:+.3f} to "
              f"{p['interval_95'][1]:+.3f} | {p['p_sign_flip']:.3f} | {p['faster_in']} of {len(p['differences'])} |"
              for case, p in pairs.items()]
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ab.json").write_text(json.dumps({"base": args.base, "base_commit": base_commit, "head_commit": head_commit,
                                                      "uncommitted_changes": dirty, "reps": args.reps, "rows": rows,
                                                      "paired": pairs}, indent=1))
        (args.out / "ab.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
