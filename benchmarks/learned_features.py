"""Background feature learning (design B) under the confirmation protocol of issue 18.

    python benchmarks/learned_features.py --stage tuning --seeds 0,1,2
    python benchmarks/learned_features.py --stage confirmation --seeds 0,1,2
    python benchmarks/learned_features.py --stage shipped     # the shipped file itself
    python benchmarks/learned_features.py --stage tuning --design reconstruction   # design D
    python benchmarks/learned_features.py --stage tuning --design conditioned      # design F
    python benchmarks/learned_features.py --stage tuning --objective fusion        # design G (shipped)
    python benchmarks/learned_features.py --stage tuning --objective fusion --implants foreign  # design I
    python benchmarks/learned_features.py --stage tuning --objective fusion --implants shuffled  # design J
    python benchmarks/learned_features.py --stage tuning --objective fusion --generated 8   # design K
    python benchmarks/learned_features.py --stage tuning --objective fusion --generated 8 --implant-sizes log64  # N

Protocol, fixed before any candidate of this design was scored:

- **Tuning scenes** (the groups that already chose recipes, ``unseen.py``'s folds 0-1):
  abu-airport-1, abu-airport-4, abu-urban-3 and HYDICE (two files, one place).
  Candidates are compared here only, by leave-one-group-out: each fold model trains on the
  eight unlabelled scenes and the *other* tuning groups' cubes (never a mask).
- **Confirmation scenes**: abu-beach-1, abu-beach-3, abu-urban-1, pavia-center,
  san-diego and Salinas (two files, one background).  Looked at once per candidate, at
  the ``confirmation`` stage, which scores, for each seed,
  (a) the *file we would ship*: trained on the unlabelled scenes and every tuning scene,
  never on a confirmation scene, and
  (b) the cross-validation estimate on the same scenes: leave-one-group-out fold models
  trained on everything except the held-out group,
  side by side.  If (a) and (b) disagree by more than the seeds' spread, the
  cross-validation does not predict the file and must not be trusted.

Variants scored from each trained network (no choice among them is made on confirmation
scenes): ``feat`` = the fusion detector on the learned features; ``feat+fusion`` = the
geometric mean of that and the plain fusion; ``feat+grx`` = the learned features' fusion
terms with plain global RX as a fourth term; ``untrained`` = ``feat+fusion`` with the
network before training (does training matter?).  Masks are read only to score.
Results go to ``benchmarks/results/learned-features/<stage>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import hadinfer
from hadinfer.detectors.fusion_rx import FusionRX
from hadinfer.models.scene_descriptor import DESCRIPTOR_SIZE
from hadinfer.training.corpus import generated_scenes
from hadinfer.training.feature_learning import FeatureRecipe, canonical_pixels, feature_corpus, train_feature_net
from hadinfer.training.scene_data import read_cube
from unseen import DATA, ROOT, labelled_scenes, unlabelled_scenes  # benchmarks/, beside this script

TUNING_GROUPS = ("abu-airport-1", "abu-airport-4", "abu-urban-3", "hydice-urban")
VARIANTS = ("feat", "feat+fusion", "feat+grx", "untrained")
OUT = ROOT / "benchmarks" / "results" / "learned-features"


def feature_fusion(net, cube: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The fusion detector run on the network's features of the scene (NaN where invalid)."""
    import torch

    pixels = canonical_pixels(cube, valid)
    descriptor = None
    if getattr(net.config, "condition", 0):  # design F: the scene's descriptor, as the fit pass gives it
        from hadinfer.models.scene_descriptor import descriptor_from_canonical

        descriptor = torch.from_numpy(descriptor_from_canonical(np.cov(pixels.astype(np.float64), rowvar=False),
                                                                net.config.condition))
    with torch.no_grad():
        features = net.embed(torch.from_numpy(pixels), descriptor).numpy().astype(np.float64)
    return view_fusion(features, valid)


def view_fusion(pixels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The fusion detector on per-pixel vectors of a view, (P, D) for the valid pixels (NaN elsewhere)."""
    image = np.full(valid.shape + (pixels.shape[1],), np.nan)
    image[valid] = pixels
    return FusionRX(n_components=min(10, pixels.shape[1])).fit_score(image)


def with_fusion(view: np.ndarray, fusion: np.ndarray) -> np.ndarray:
    """Geometric mean of two maps, as the ``learned`` detector combines its views."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(0.5 * (np.log(np.maximum(view, 1e-300)) + np.log(np.maximum(fusion, 1e-300))))


def variants(net, untrained, scene: dict, classical: dict) -> dict:
    cube, valid = read_cube(scene["path"], key=scene["key"])
    feat = feature_fusion(net, cube, valid)
    with np.errstate(divide="ignore", invalid="ignore"):
        feat_grx = np.exp(0.75 * np.log(np.maximum(feat, 1e-300)) + 0.25 * np.log(np.maximum(classical["grx"], 1e-300)))
    maps = {"feat": feat, "feat+fusion": with_fusion(feat, classical["fusion"]), "feat+grx": feat_grx,
            "untrained": with_fusion(feature_fusion(untrained, cube, valid), classical["fusion"])}
    return {k: auc(m, scene) for k, m in maps.items()}


def auc(scores: np.ndarray, scene: dict) -> float:
    return hadinfer.evaluate(scores, scene["path"], key=scene["truth_key"])["auc_df"]


def protocol_runs(stage: str, held: list, tuning: list, scenes: list, unlabelled: dict, *, cv: bool = True) -> list:
    """The networks a stage trains, as ``(label, training sources, scenes scored)``.

    ``cv``: one per held-out group, trained on the unlabelled scenes and every other group of
    the pool (the tuning scenes at the tuning stage, all labelled scenes at confirmation);
    ``file``, at the confirmation stage only: the network as shipped, trained on the
    unlabelled and tuning scenes, scored on every confirmation scene.
    """
    runs = []
    if cv:
        pool = tuning if stage == "tuning" else scenes
        for group in sorted({s["group"] for s in held}):
            sources = {**unlabelled, **{s["name"]: s["path"] for s in pool if s["group"] != group}}
            runs.append(("cv", sources, [s for s in held if s["group"] == group]))
    if stage == "confirmation":
        runs.append(("file", {**unlabelled, **{s["name"]: s["path"] for s in tuning}}, held))
    return runs


def classical_maps(scene: dict) -> dict:
    kinds = {"grx": {"detector": "grx"}, "lrx": {"detector": "lrx", "inner": 5, "outer": 21, "n_components": 10},
             "fusion": {"detector": "fusion"}}
    return {k: hadinfer.detect(scene["path"], device="cpu", **p).scores.astype(np.float64) for k, p in kinds.items()}


def train(sources: dict, seed: int, recipe: FeatureRecipe, design: str = "rx-loss"):
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet
    import torch

    if design == "reconstruction":  # design D (training/background_reconstruction.py)
        from hadinfer.training.background_reconstruction import residual_net, train_reconstruction_net

        torch.manual_seed(seed)
        untrained = residual_net().eval()
        net, report = train_reconstruction_net(feature_corpus(sources, recipe, seed=seed), seed=seed)
        return net, untrained, report
    torch.manual_seed(seed)
    untrained = SpectralFeatureNet(FeatureNetConfig(width=recipe.width, features=recipe.features,
                                                    depth=recipe.depth, condition=recipe.condition)).eval()
    net, report = train_feature_net(feature_corpus(sources, recipe, seed=seed), recipe, seed=seed)
    return net, untrained, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=("tuning", "confirmation", "shipped"), required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=FeatureRecipe.steps)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--design", choices=("rx-loss", "reconstruction", "conditioned"), default="rx-loss",
                        help="rx-loss: design B (with --objective fusion, design G: the shipped one); "
                             "reconstruction: design D, results in reconstruction-<stage>.json; "
                             "conditioned: design F (B conditioned on the scene's descriptor), results in "
                             "conditioned-<stage>.json")
    parser.add_argument("--objective", choices=("features", "combined", "fusion"), default="features",
                        help="design B's loss on RX of the features (learned-v1), on its geometric mean with RX of "
                             "the spectra (results in combined-<stage>.json) or on the features' fusion, global "
                             "and ring RX as the detector scores them (design G, learned-v2; fusion-<stage>.json)")
    parser.add_argument("--implants", choices=("mixed", "foreign", "shuffled"), default="mixed",
                        help="the training positives: foreign spectra and band-shuffled own spectra (shipped), "
                             "foreign spectra only (design I with --objective fusion; fusion-foreign-<stage>.json) "
                             "or band-shuffled own spectra only (design J; fusion-shuffled-<stage>.json)")
    parser.add_argument("--implant-sizes", choices=("uniform", "log64"), default="uniform",
                        help="implanted regions of 1-9 px, uniformly (the shipped recipes), or of 1-64 px, "
                             "log-uniformly and proportionally fewer (design N; ...-log64-<stage>.json)")
    parser.add_argument("--generated", type=int, default=0,
                        help="add N generated scenes (hadinfer.synthetic, 128x128, 64-224 bands, their targets "
                             "unlabelled) to every network's training sources (design K; results in "
                             "...-generatedN-<stage>.json)")
    parser.add_argument("--without-unlabelled", action="store_true",
                        help="leave the eight unlabelled scenes out of every network's training sources (results "
                             "in ...-no-unlabelled-<stage>.json; without-unlabelled-tuning-plan.md)")
    parser.add_argument("--runs", choices=("all", "file"), default="all",
                        help="confirmation stage: every network (the cross-validation folds and the file), or the "
                             "file's networks only (the folds can follow in a later run: trained runs are kept)")
    parser.add_argument("--feature-model", type=Path, default=None,
                        help="shipped stage: score this candidate file instead of the shipped one (results in "
                             "shipped-<file name>.json and .md)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # design F is B with its network conditioned on the scene's descriptor
    sizes = {"uniform": {}, "log64": {"implant_sizes": "log-uniform", "implant_max_size": 64}}[args.implant_sizes]
    recipe = FeatureRecipe(steps=args.steps, objective=args.objective,
                           condition=DESCRIPTOR_SIZE if args.design == "conditioned" else 0, implants=args.implants,
                           **sizes)
    scenes = labelled_scenes(DATA)
    unlabelled = {**({} if args.without_unlabelled else unlabelled_scenes(DATA)), **generated_scenes(args.generated)}
    tuning = [s for s in scenes if s["group"] in TUNING_GROUPS]
    confirmation = [s for s in scenes if s["group"] not in TUNING_GROUPS]
    if args.stage == "shipped":
        return score_shipped([s for s in scenes if s["group"] not in TUNING_GROUPS], args.out, args.feature_model)
    path = args.out / f"{results_prefix(args)}{args.stage}.json"
    results = json.loads(path.read_text()) if path.exists() else {"recipe": recipe.__dict__, "rows": {}}
    held = tuning if args.stage == "tuning" else confirmation
    classical = {}
    for s in held:
        classical[s["name"]] = classical_maps(s)
        results["rows"].setdefault(s["name"], {}).update(
            {k: auc(m, s) for k, m in classical[s["name"]].items()})
    for seed in (int(v) for v in args.seeds.split(",")):
        for label, sources, test in protocol_runs(args.stage, held, tuning, scenes, unlabelled,
                                                  cv=args.runs == "all"):
            tag = f"{label}/seed{seed}"
            if all(tag in results["rows"][s["name"]] for s in test):
                continue
            start = time.perf_counter()
            net, untrained, report = train(sources, seed, recipe, args.design)
            for s in test:
                results["rows"][s["name"]][tag] = variants(net, untrained, s, classical[s["name"]])
            results.setdefault("train_seconds", []).append(round(time.perf_counter() - start, 1))
            path.write_text(json.dumps(results, indent=1))
            print(f"{tag} {[s['name'] for s in test]} {time.perf_counter() - start:.0f}s", flush=True)
    write_table(results, held, args)


def results_prefix(args) -> str:
    """What a design's result files are named by: ``""`` for B, ``"fusion-"`` for G, and so on."""
    prefix = "" if args.design == "rx-loss" else f"{args.design}-"
    prefix += "" if args.objective == "features" else f"{args.objective}-"
    prefix += "" if args.implants == "mixed" else f"{args.implants}-"
    prefix += f"generated{args.generated}-" if args.generated else ""
    prefix += "no-unlabelled-" if getattr(args, "without_unlabelled", False) else ""
    return prefix + ("" if args.implant_sizes == "uniform" else f"{args.implant_sizes}-")


def score_shipped(confirmation: list, out: Path, candidate: Path | None = None) -> None:
    """The shipped file itself (or ``candidate``, a file that would ship), through
    ``hadinfer.detect``, on the confirmation scenes, with the seconds of ``learned`` and
    ``fusion`` measured side by side (best of three runs each)."""
    from hadinfer.detectors.learned_features import LearnedFeatureRX
    from hadinfer.models.feature_model import load_feature_model
    from hadinfer.weights import shipped_model

    shipped = candidate or shipped_model("learned")

    def detector(name: str):
        """A registered name, or a fresh detector on the candidate file for ``learned``."""
        return LearnedFeatureRX(model=shipped) if candidate and name == "learned" else name

    sources = set(load_feature_model(shipped).metadata["report"]["sources"])
    rows, seconds = {}, {"learned": [], "fusion": []}
    for s in confirmation:
        if s["name"] in sources:
            raise SystemExit(f"the shipped file trained on {s['name']}: it cannot be judged there")
        row = rows[s["name"]] = {}
        for name in ("grx", "lrx", "fusion", "general", "learned"):
            params = {"inner": 5, "outer": 21, "n_components": 10} if name == "lrx" else {}
            row[name] = auc(hadinfer.detect(s["path"], detector=detector(name), device="cpu",
                                            **params).scores, s)
        for name in seconds:
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                hadinfer.detect(s["path"], detector=detector(name), device="cpu")
                runs.append(time.perf_counter() - start)
            seconds[name].append(min(runs))
    head = ["grx", "lrx", "fusion", "general", "learned"]
    lines = [f"# The shipped {shipped.name} on the confirmation scenes", "",
             "`python benchmarks/learned_features.py --stage shipped"
             + (f" --feature-model {candidate}`" if candidate else "`"), "",
             "AUC(D,F), every map from `hadinfer.detect` with the shipped files; LRX at (5,21) on 10 components.", "",
             f"| scene | GRX | LRX | fusion (default) | general-v3 | **{shipped.stem}** | learned − fusion |",
             "|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[h]:.4f}" for h in head)
                     + f" | {row['learned'] - row['fusion']:+.4f} |")
    means = {h: float(np.mean([r[h] for r in rows.values()])) for h in head}
    lines.append("| **mean** | " + " | ".join(f"**{means[h]:.4f}**" for h in head)
                 + f" | {means['learned'] - means['fusion']:+.4f} |")
    ratio = float(np.sum(seconds["learned"]) / np.sum(seconds["fusion"]))
    lines += ["", f"CPU time, all confirmation scenes, best of 3 each: learned {np.sum(seconds['learned']):.2f} s, "
              f"fusion {np.sum(seconds['fusion']):.2f} s: **{ratio:.2f}x** (same run, same machine)."]
    out.mkdir(parents=True, exist_ok=True)
    stem = f"shipped-{shipped.stem}" if candidate else "shipped"
    (out / f"{stem}.json").write_text(json.dumps({"file": shipped.name, "rows": rows, "seconds": seconds,
                                                  "ratio": ratio}, indent=1))
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def write_table(results: dict, held: list, args) -> None:
    rows = results["rows"]
    labels = sorted({k.split("/")[0] for r in rows.values() for k in r if "/" in k})
    design = ("" if args.design == "rx-loss" else f" --design {args.design}") + (
        "" if args.objective == "features" else f" --objective {args.objective}") + (
        "" if args.implants == "mixed" else f" --implants {args.implants}") + (
        f" --generated {args.generated}" if args.generated else "") + (
        "" if args.implant_sizes == "uniform" else f" --implant-sizes {args.implant_sizes}") + (
        " --without-unlabelled" if getattr(args, "without_unlabelled", False) else "")
    lines = [f"# Learned features ({args.design}), {args.stage} scenes", "",
             f"`python benchmarks/learned_features.py --stage {args.stage} --seeds {args.seeds}{design}`", "",
             "AUC(D,F); learned columns are mean ± sd over seeds.", ""]
    head = ["scene", "GRX", "LRX (5,21)", "fusion"] + [f"{v} ({lab})" for lab in labels for v in VARIANTS]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means = {h: [] for h in head[1:]}
    for s in held:
        r = rows[s["name"]]
        cells = [f"{r['grx']:.4f}", f"{r['lrx']:.4f}", f"{r['fusion']:.4f}"]
        for h, v in zip(head[1:4], (r["grx"], r["lrx"], r["fusion"])):
            means[h].append(v)
        for lab in labels:
            for v in VARIANTS:
                vals = [x[v] for k, x in r.items() if k.startswith(lab + "/")]
                cells.append(f"{np.mean(vals):.4f} ± {np.std(vals):.4f}")
                means[f"{v} ({lab})"].append(np.mean(vals))
        lines.append(f"| {s['name']} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{np.mean(means[h]):.4f}**" for h in head[1:]) + " |")
    # the seeds' spread of the mean: one mean per seed
    lines += ["", "Mean over scenes, per seed:", ""]
    for lab in labels:
        for v in VARIANTS:
            per_seed = {}
            for s in held:
                for k, x in rows[s["name"]].items():
                    if k.startswith(lab + "/"):
                        per_seed.setdefault(k, []).append(x[v])
            seeds = [float(np.mean(vals)) for vals in per_seed.values()]
            lines.append(f"- {v} ({lab}): " + ", ".join(f"{m:.4f}" for m in seeds)
                         + f" (sd {np.std(seeds):.4f})")
    (args.out / f"{results_prefix(args)}{args.stage}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
