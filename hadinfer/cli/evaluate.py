"""``hadinfer evaluate``: ROC metrics of a map against a ground-truth mask."""

from __future__ import annotations

import click

from ..api import evaluate as run_evaluate
from ..io.json_text import dumps as json_dumps
from .options import OutputFile, check_optional_output, check_png_extension, verbosity_options


@click.command("evaluate")
@click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False))
@click.option("--truth", required=True, type=click.Path(dir_okay=False),
              help="Ground-truth mask: a raster (band 1) or a .mat file; nonzero = anomaly.")
@click.option("--key", default=None, help=".mat variable of the mask (default: auto-detect).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--roc", "roc_path", type=OutputFile("roc.png"), default=None,
              help="Save the ROC curve as a PNG (named .png).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --roc file.")
@verbosity_options
def command(map_path, truth, key, as_json, roc_path, overwrite):
    """Evaluate MAP against a truth mask: AUC(D,F), AUC(D,tau), AUC(F,tau), SNPR.

    Nodata pixels of MAP are excluded.  AUC(D,F) is the rank-based ROC AUC (ties
    exact); the 3-D ROC areas use min-max normalised scores.
    """
    check_optional_output(roc_path, overwrite, inputs=(map_path, truth))  # the same-file check first
    if roc_path:
        check_png_extension(roc_path, param_hint="--roc")
    metrics = run_evaluate(map_path, truth, key=key)
    if roc_path:
        from ..io import open_scene, read_truth
        from ..io.atomic import atomic_output
        from ..metrics import roc_curve
        from ..plots import save_roc_png

        with open_scene(map_path, bands="1") as scene:
            cube, valid = scene.read_all()
        mask, labelled, _ = read_truth(truth, key=key)
        valid &= labelled  # as the metrics: pixels the mask does not label are left out
        fpr, tpr, _ = roc_curve(cube[:, :, 0][valid], mask[valid])
        with atomic_output(roc_path, overwrite=overwrite, inputs=(map_path, truth), suffix=".tmp.png") as tmp:
            save_roc_png(fpr, tpr, tmp, auc=metrics["auc_df"], title=str(map_path))
    if as_json:
        click.echo(json_dumps(metrics, indent=2))  # an undefined metric (one class only) is null
        return
    click.echo(f"AUC(D,F)   {metrics['auc_df']:.4f}\n"
               f"AUC(D,tau) {metrics['auc_dt']:.4f}\n"
               f"AUC(F,tau) {metrics['auc_ft']:.4f}\n"
               f"SNPR       {metrics['snpr']:.3f} ({metrics['snpr_db']:.2f} dB)\n"
               f"pixels     {metrics['n_anomaly']} anomaly, {metrics['n_background']} background"
               + (f", {metrics['n_unlabelled']} not labelled by the mask (its nodata), left out"
                  if metrics.get("n_unlabelled") else ""))
