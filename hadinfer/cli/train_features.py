"""``hadinfer train-features``: train the ``learned`` detector's feature network, without labels."""

from __future__ import annotations

import os

import click

from .logs import ProgressLog
from .options import (OutputFile, ProgressBars, check_extension, check_optional_output, is_quiet, verbosity_options,
                      write_json)


@click.command("train-features")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=OutputFile("learned.npz"),
              help="Feature model file (.npz), for --detector learned --feature-model.")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimiser steps (default: the recipe's, 1500).")
@click.option("--versions", type=click.IntRange(min=1), default=None,
              help="Versions of each scene: itself plus other-sensor views, each with its own implants (default 6).")
@click.option("--objective", type=click.Choice(["fusion", "features"]), default="fusion", show_default=True,
              help="What the loss ranks implants under: the features' fusion (global and ring RX at the "
                   "detector's windows, as the learned detector scores them: the shipped recipe), or global RX "
                   "of the features alone (learned-v1's).")
@click.option("--generated", type=click.IntRange(min=0), default=0, show_default=True,
              help="Add N generated scenes (128x128, 64-224 bands; their targets never labelled) to SCENES.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--key", default=None, help=".mat variable holding the cubes (default: found in each file).")
@click.option("--bands", default=None, help="1-based band selection of every scene, e.g. 1-100,120-200.")
@click.option("--report", "report_path", type=OutputFile("train.json"), default=None, help="JSON training report.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@verbosity_options
def command(scenes, output, steps, versions, objective, generated, seed, key, bands, report_path, overwrite):
    """Train a spectral feature network on SCENES (no labels) for the ``learned`` detector.

    Every scene, and other-sensor views of it, gets anomalies implanted on about 1 % of
    its pixels; those are the only positives.  The network learns features on which the
    fusion of global RX and ring RX, with each scene's own statistics, ranks the implants
    above the scene's background (a pairwise AUC loss through a differentiable fusion).
    Labels and masks are never read.  The shipped model's command is in
    hadinfer/weights/MODEL_CARD.md.
    """
    from ..arrays.torch_arrays import import_torch

    import_torch()  # one-line error naming the extra when torch is missing
    from dataclasses import replace

    from ..models.feature_model import FeatureModel
    from ..training.corpus import generated_scenes
    from ..training.feature_learning import FeatureRecipe, feature_corpus, train_feature_net

    check_optional_output(output, overwrite, inputs=scenes, others=(report_path,))
    check_optional_output(report_path, overwrite, inputs=scenes, others=(output,))
    # hadinfer export tells a feature model from a checkpoint by this suffix
    check_extension(output, (".npz",), "NumPy .npz", "a feature model", "-o")
    chosen = {"steps": steps, "versions": versions, "objective": objective}
    recipe = replace(FeatureRecipe(), **{k: v for k, v in chosen.items() if v is not None})
    sources = {os.path.splitext(os.path.basename(s))[0]: s for s in scenes}
    if len(sources) != len(scenes):
        raise click.BadParameter("two scenes share a file name", param_hint="SCENES")
    progress = ProgressBars(enabled=not is_quiet(), log=ProgressLog("steps"))
    try:
        corpus = feature_corpus({**sources, **generated_scenes(generated)}, recipe, seed=seed, key=key, bands=bands,
                                progress=progress)
        net, report = train_feature_net(corpus, recipe, seed=seed, progress=progress)
    finally:
        progress.close()
    report["sources"] = list(sources)
    report["generated"] = generated
    model = FeatureModel.from_torch(net, {"report": report})
    from ..io.atomic import atomic_output

    with atomic_output(output, overwrite=overwrite, inputs=scenes, others=(report_path,)) as tmp:
        model.save(tmp)
    if report_path:
        write_json(report_path, report, overwrite=overwrite, inputs=scenes, others=(output,))
    if not is_quiet():
        halves = [v for v in report["loss_by_source"].values() if v["first_half"] is not None
                  and v["second_half"] is not None]
        fell = sum(v["second_half"] < v["first_half"] for v in halves)
        extra = f" + {generated} generated" if generated else ""
        # The first and last 100 steps mix scenes of very different difficulty, so the
        # per-source halves say more about whether the network learned.
        count = f"{len(sources)} scene{'' if len(sources) == 1 else 's'}"
        click.echo(f"{output}: trained in {report['train_seconds']:.1f} s ({count}{extra}, "
                   f"loss {report['loss_first_100']:.3f} -> {report['loss_last_100']:.3f}; lower in the "
                   f"second half on {fell} of {len(halves)} sources)", err=True)
