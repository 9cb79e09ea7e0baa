"""``hadinfer train``: self-train a deep detector with no labels."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .logs import ProgressLog
from .options import FiniteFloatRange, OutputFile, check_optional_output, is_quiet, verbosity_options, write_json


class TrainProgress:
    """One progress bar per stage (teacher, student-1, ...) showing the loss; periodic log lines off a terminal."""

    def __init__(self, enabled: bool, *, terminal: bool | None = None, log: ProgressLog | None = None):
        import sys

        terminal = sys.stderr.isatty() if terminal is None else terminal
        self.enabled = enabled
        self.log = (log or ProgressLog("steps")) if enabled and not terminal else None
        self.stage, self.bar, self.done = None, None, 0

    def __call__(self, stage, step, total, record):
        if not self.enabled:
            return
        if self.log is not None:
            self.log.update(stage, step, total, f"loss {record['loss']:.4f}")
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=total, label=f"{stage:<10}", show_pos=True, show_eta=True,
                                         item_show_func=lambda item: item)
            self.bar.__enter__()
        alpha = f" alpha {record['alpha']:.3f}" if "alpha" in record else ""
        self.bar.update(step - self.done, f"loss {record['loss']:.4f}{alpha} +{record['positives']}")
        self.done = step

    def close(self):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command("train")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=OutputFile("model.pt"), help="Checkpoint file (.pt).")
@click.option("--mode", type=click.Choice(["adapt", "general"]), default="adapt", show_default=True,
              help="adapt: fine-tune a model (--start, default the shipped one) on one scene; general: train "
                   "one model on many scenes, for scenes never seen (the evidence recipe).")
@click.option("--start", type=click.Path(dir_okay=False), default=None,
              help="adapt: the checkpoint to fine-tune (default: the shipped general model).")
@click.option("--versions", type=click.IntRange(min=1), default=None,
              help="general: versions of each scene (itself plus other-sensor views), each with its own implants.")
@click.option("--synthetic", type=click.IntRange(min=0), default=0, show_default=True,
              help="general: add this many generated 128x128 scenes (64-224 bands).")
@click.option("--loss", type=click.Choice(["ce", "aucm", "ce+aucm", "ce+hinge"]), default="ce+aucm",
              show_default=True)
@click.option("--rounds", type=click.IntRange(min=0), default=None,
              help="Noisy-student rounds after the teacher (default: 0 for adapt, where they did not help on "
                   "the dev scenes; the general recipe's for general; see README).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Steps per round (default: the adapt or general recipe's).")
@click.option("--rotate/--no-rotate", default=None,
              help="Mix the whitened components with random rotations while training (default: on).")
@click.option("--entropy-ratio", type=FiniteFloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Fraction of the most uncertain patches hidden from each student.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--key", default=None, help=".mat variable holding the cubes.")
@click.option("--bands", default=None, help="1-based band selection.")
@click.option("--report", "report_path", type=OutputFile("train.json"), default=None, help="JSON training report.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@verbosity_options
def command(scenes, output, mode, start, versions, synthetic, loss, rounds, steps, rotate, entropy_ratio, seed,
            key, bands, report_path, overwrite):
    """Self-train a deep detector on SCENES (no labels) and save a checkpoint.

    Pseudo-labels come from the consensus of global RX and local RX at four windows;
    certain positives from implanted anomalies (foreign spectra at sub-pixel abundances
    and band-shuffled regions); a teacher learns with weighted cross-entropy plus AUC-M,
    and optional noisy students (--rounds) learn from it with the most uncertain patches
    masked.  ``general`` also trains on other-sensor views of every scene.
    """
    from ..errors import ParameterError

    quiet = is_quiet()
    if mode == "adapt" and len(scenes) != 1:
        raise click.BadParameter("adapt trains on exactly one scene", param_hint="SCENES")
    from ..arrays.torch_arrays import import_torch

    import_torch()  # one-line error naming the extra when torch is missing
    from ..models.checkpoint import load_checkpoint, save_checkpoint
    from ..training.adapt import EVIDENCE_VERSIONS, evidence_config, evidence_policy, fine_tune, train_general
    from ..weights import shipped_model

    model_in = start or shipped_model("general", checkpoint=True)  # adapt's starting point: an input too
    check_optional_output(output, overwrite, inputs=(*scenes, model_in), others=(report_path,))
    check_optional_output(report_path, overwrite, inputs=(*scenes, model_in), others=(output,))
    if Path(output).suffix.lower() == ".npz":  # hadinfer export takes any .npz for a feature model
        raise click.BadParameter(f"{output}: a checkpoint named .npz would be exported as a feature model; "
                                 "name it .pt", param_hint="-o")
    if mode == "adapt" and (synthetic or versions):
        raise ParameterError("--synthetic and --versions are for --mode general")
    if mode == "general" and start:
        raise ParameterError("--start is for --mode adapt")
    chosen = {"steps": steps, "rounds": rounds, "rotate": rotate}  # None: the mode's recipe decides
    overrides = dict(loss=loss, entropy_ratio=entropy_ratio, seed=seed,
                     **{name: value for name, value in chosen.items() if value is not None})
    progress = TrainProgress(enabled=not quiet)
    try:
        if mode == "general":
            from ..synthetic import make_cube

            sources = {os.path.basename(s): s for s in scenes}
            for i in range(synthetic):  # generated scenes: their truth is discarded
                bands_i = int(64 + (i * 37 + seed) % 161)
                sources[f"synthetic-{i}-{bands_i}b"] = make_cube(128, 128, bands_i, seed=seed * 1000 + i)[0] * 10000
            policy = evidence_policy()
            model, report, provenance = train_general(sources, config=evidence_config(**overrides), key=key,
                                                      bands=bands, versions=versions or EVIDENCE_VERSIONS,
                                                      progress=progress)
        else:
            from ..models.input_policy import InputPolicy

            begin = load_checkpoint(start or shipped_model("general", checkpoint=True))
            policy = InputPolicy.from_metadata(begin[1]["input"], begin[0].config.in_channels)
            model, report, provenance = fine_tune(scenes[0], begin, key=key, bands=bands, progress=progress,
                                                  **overrides)
    finally:
        progress.close()
    provenance["mode"] = mode
    save_checkpoint(output, model, provenance=provenance, report=report, overwrite=overwrite, policy=policy)
    if report_path:
        write_json(report_path, {"mode": mode, **report}, overwrite=overwrite, inputs=scenes, others=(output,))
    if not quiet:
        click.echo(f"{output}: trained in {report['train_seconds']:.1f} s "
                   f"({len(provenance['scenes'])} scenes, {report['samples']} patches)", err=True)
