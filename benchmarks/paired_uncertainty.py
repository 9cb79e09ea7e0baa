"""How much the shipped file's edge over each detector could be chance: paired, over files.

    python benchmarks/paired_uncertainty.py

Reads ``benchmarks/results/learned-features/shipped.json`` (the shipped ``learned`` file
and the other detectors scored on the seven confirmation files by ``learned_features.py
--stage shipped``) and, for ``learned`` against each other detector and for the default
``fusion`` against GRX and LRX, reports the per-file
differences of AUC(D,F), their mean, a 95 % bootstrap interval of that mean (files
resampled with replacement, 10,000 draws, seed 0), the exact two-sided sign-flip
(permutation) p-value of the mean (every one of the 2^n sign patterns), and the mean
without the best file.  Seven files is a small sample: these say how far its figures can
be trusted, not more.  Writes ``shipped-uncertainty.md`` beside the input.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "learned-features"
DRAWS = 10_000


def bootstrap_interval(differences: np.ndarray, draws: int = DRAWS, seed: int = 0) -> tuple[float, float]:
    """2.5 and 97.5 percentiles of the mean of ``differences`` resampled with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, differences.size, size=(draws, differences.size))
    means = differences[picks].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def sign_flip_p_value(differences: np.ndarray) -> float:
    """Exact two-sided p-value of the mean under the null that each difference's sign is a coin toss.

    Examples
    --------
    >>> sign_flip_p_value(np.array([1.0, 2.0, 3.0]))  # only the all-positive and all-negative patterns reach 2
    0.25
    """
    observed = abs(differences.mean())
    patterns = np.array(list(itertools.product((1.0, -1.0), repeat=differences.size)))
    means = np.abs((patterns * differences).mean(axis=1))
    return float(np.mean(means >= observed - 1e-15))


def compare(rows: dict, ours: str, other: str) -> dict:
    """The paired statistics of ``ours`` against ``other`` over the files of ``rows``."""
    names = list(rows)
    differences = np.array([rows[n][ours] - rows[n][other] for n in names])
    best = int(np.argmax(differences))
    low, high = bootstrap_interval(differences)
    return {"ours": ours, "other": other, "differences": dict(zip(names, differences.tolist())),
            "mean": float(differences.mean()),
            "interval_95": [low, high], "p_sign_flip": sign_flip_p_value(differences),
            "wins": int((differences > 0).sum()), "files": len(names),
            "mean_without_best": float(np.delete(differences, best).mean()), "best_file": names[best]}


def describe(result: dict) -> str:
    """One line of :func:`compare`'s result: mean, interval, p-value and files won."""
    low, high = result["interval_95"]
    return (f"`{result['ours']}` against `{result['other']}`: {result['mean']:+.4f}, 95 % bootstrap interval "
            f"[{low:+.4f}, {high:+.4f}], sign-flip p {result['p_sign_flip']:.3f}, {result['wins']} of "
            f"{result['files']} files won")


def main() -> int:
    rows = json.loads((RESULTS / "shipped.json").read_text())["rows"]
    pairs = [("learned", other) for other in ("fusion", "grx", "lrx", "general")]
    pairs += [("fusion", "grx"), ("fusion", "lrx")]
    results = [compare(rows, ours, other) for ours, other in pairs]
    (RESULTS / "shipped-uncertainty.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = ["# How much of the shipped file's edge could be chance", "",
             "`python benchmarks/paired_uncertainty.py`, from `shipped.json` (the shipped `learned` file on the seven "
             "confirmation files, `python benchmarks/learned_features.py --stage shipped`). Differences of AUC(D,F), "
             "one detector minus the other, paired by file.", "",
             "| detector | against | mean | 95 % bootstrap interval | sign-flip p | files won "
             "| mean without the best file |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        low, high = r["interval_95"]
        lines.append(f"| `{r['ours']}` | `{r['other']}` | {r['mean']:+.4f} | [{low:+.4f}, {high:+.4f}] | "
                     f"{r['p_sign_flip']:.3f} | {r['wins']} of {r['files']} | {r['mean_without_best']:+.4f} "
                     f"(without {r['best_file']}) |")
    (RESULTS / "shipped-uncertainty.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
