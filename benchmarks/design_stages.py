"""The two stages of a training-free design under issue 18's protocol, shared by its benchmarks.

A design's variants are scored on the five tuning files; rule 2 of its plan (written before
the run) picks the variant with the best mean, which passes only if it beats the plain
detector by a set margin and loses no more than a set amount on any file; only then are the
seven confirmation files scored, once.  Used by ``spatial_context.py`` (design O) and
``knn_density.py`` (design P) and ``attribute_profile.py`` (design Q); :func:`map_design_rows` is
the rows of the two, which multiply a training-free map with ``fusion``, and
:func:`run_map_design` their whole run.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

import hadinfer
from hadinfer.training.scene_data import read_cube
from learned_features import OUT, TUNING_GROUPS, auc, classical_maps, feature_fusion, with_fusion  # benchmarks/
from paired_uncertainty import compare, describe
from second_view import SEEDS, untrained_network
from unseen import DATA, labelled_scenes


def mean(rows: dict, key: str) -> float:
    """Mean of one column over the files of ``rows``."""
    return float(np.mean([r[key] for r in rows.values()]))


def table(rows: dict, columns: list[str], title: str) -> list[str]:
    """A Markdown table of ``columns`` per file, and their means."""
    lines = [f"## {title}", "", "| file | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in list(rows.items()) + [("**mean**", {c: mean(rows, c) for c in columns})]:
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + " |")
    return lines + [""]


def rule_two(rows: dict, candidates: dict[str, str], *, least_gain: float, largest_loss: float,
             base: str = "fusion") -> tuple[str | None, list[str]]:
    """The candidate (a key of ``candidates``, naming its column) that passes rule 2, if any, and the verdict's lines."""
    best = max(candidates, key=lambda c: mean(rows, candidates[c]))
    gain = mean(rows, candidates[best]) - mean(rows, base)
    worst = min(r[candidates[best]] - r[base] for r in rows.values())
    passed = gain >= least_gain and worst >= -largest_loss
    verdict = (f"Rule 2: best variant {best}, tuning mean {mean(rows, candidates[best]):.4f} against {base} "
               f"{mean(rows, base):.4f} ({gain:+.4f}, needs >= +{least_gain}); worst file {worst:+.4f} (needs >= "
               f"-{largest_loss}): " + ("**passed**" if passed
                                         else "**not passed**: nothing is scored on the confirmation files"))
    return (best if passed else None), [verdict, ""]


def map_design_rows(design_maps: Callable[[np.ndarray, np.ndarray], dict],
                    combined: Callable[[dict, str], dict], suffixes: list[str]) -> tuple[Callable, Callable]:
    """``(tuning_row, confirmation_row)`` of a design that multiplies a training-free map with a detector's.

    ``design_maps(cube, valid)`` gives the design's maps of a scene, ``combined(maps, base)``
    each of them multiplied with ``maps[base]`` as ``base + suffix`` for every suffix.  A tuning
    row holds GRX, LRX, ``fusion``, the design's maps, ``fusion`` and the untrained feature
    networks' ``learned`` maps (seeds :data:`SEEDS`, and their mean as ``untrained``) with and
    without them; a confirmation row the same with the shipped ``learned`` in place of the
    untrained networks.  AUC(D,F) of each.
    """
    def maps_of(scene: dict) -> tuple[dict, np.ndarray, np.ndarray]:
        cube, valid = read_cube(scene["path"], key=scene["key"])
        maps = classical_maps(scene)
        maps.update(design_maps(cube, valid))
        maps.update(combined(maps, "fusion"))
        return maps, cube, valid

    def tuning_row(scene: dict) -> dict:
        maps, cube, valid = maps_of(scene)
        for seed in SEEDS:
            name = f"untrained/seed{seed}"
            maps[name] = with_fusion(feature_fusion(untrained_network(seed), cube, valid), maps["fusion"])
            maps.update(combined(maps, name))
        row = {k: auc(m, scene) for k, m in maps.items()}
        for suffix in [""] + suffixes:  # the seeds averaged, for the table
            row[f"untrained{suffix}"] = float(np.mean([row[f"untrained/seed{s}{suffix}"] for s in SEEDS]))
        return row

    def confirmation_row(scene: dict) -> dict:
        maps, _, _ = maps_of(scene)
        maps["learned"] = hadinfer.detect(scene["path"], detector="learned", device="cpu").scores.astype(np.float64)
        maps.update(combined(maps, "learned"))
        return {name: auc(m, scene) for name, m in maps.items()}

    return tuning_row, confirmation_row


def write_results(stem: str, payload: dict, lines: list[str]) -> int:
    """Write ``<stem>.json`` (``payload``) and ``<stem>.md`` (``lines``) under :data:`OUT`, print the lines; 0."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stem}.json").write_text(json.dumps(payload, indent=1) + "\n")
    (OUT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def run_design(stem: str, header: list[str], *, tuning_row: Callable[[dict], dict], tuning_columns: list[str],
               candidates: dict[str, str], least_gain: float, largest_loss: float,
               confirmation_row: Callable[[dict], dict],
               confirmation_columns: Callable[[str], list[str]],
               pairs: Callable[[str], list[tuple[str, str]]], meta: dict) -> int:
    """Score the tuning files, apply rule 2, score the confirmation files if a variant passed; write ``<stem>.json/.md``."""
    scenes = labelled_scenes(DATA)
    if not scenes:
        raise SystemExit(f"no labelled scenes under {DATA}")
    rows = {"tuning": {}, "confirmation": {}}
    for s in scenes:
        if s["group"] in TUNING_GROUPS:
            rows["tuning"][s["name"]] = tuning_row(s)
            print(s["name"], {k: round(v, 4) for k, v in rows["tuning"][s["name"]].items() if "seed" not in k},
                  flush=True)
    chosen, verdict = rule_two(rows["tuning"], candidates, least_gain=least_gain, largest_loss=largest_loss)
    lines = header + table(rows["tuning"], tuning_columns, "Tuning files (the variant is chosen here)") + verdict
    if chosen:
        for s in scenes:
            if s["group"] not in TUNING_GROUPS:
                rows["confirmation"][s["name"]] = confirmation_row(s)
                print(s["name"], {k: round(v, 4) for k, v in rows["confirmation"][s["name"]].items()}, flush=True)
        lines += table(rows["confirmation"], confirmation_columns(chosen),
                       "Confirmation files, once (`learned` is the shipped learned-v3.npz, never trained on them)")
        lines += ["- " + describe(compare(rows["confirmation"], a, b)) for a, b in pairs(chosen)] + [""]
    return write_results(stem, {**meta, "chosen": chosen, "rows": rows}, lines)



def run_map_design(stem: str, header: list[str], prefix: str, values: tuple, *,
                   design_maps: Callable[[np.ndarray, np.ndarray], dict], combined: Callable[[dict, str], dict],
                   least_gain: float, largest_loss: float, meta: dict) -> int:
    """:func:`run_design` of a design whose variants are maps ``<prefix><value>`` multiplied with ``fusion``.

    ``design_maps`` and ``combined`` as :func:`map_design_rows`, the combined maps named
    ``<base>x<value>``; rule 2 chooses among ``fusionx<value>``.
    """
    tuning_row, confirmation_row = map_design_rows(design_maps, combined, [f"x{v}" for v in values])
    return run_design(
        stem, header, tuning_row=tuning_row,
        tuning_columns=["grx", "lrx", "fusion"] + [f"{prefix}{v}" for v in values] + [f"fusionx{v}" for v in values]
        + ["untrained"] + [f"untrainedx{v}" for v in values],
        candidates={str(v): f"fusionx{v}" for v in values}, least_gain=least_gain, largest_loss=largest_loss,
        confirmation_row=confirmation_row,
        confirmation_columns=lambda v: ["grx", "lrx", "fusion", f"{prefix}{v}", f"fusionx{v}", "learned",
                                        f"learnedx{v}"],
        pairs=lambda v: [(f"fusionx{v}", "fusion"), (f"learnedx{v}", "fusion"), (f"learnedx{v}", "learned")],
        meta=meta)
