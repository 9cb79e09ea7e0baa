"""``hadinfer export``: a checkpoint to an ONNX model (and optionally a TensorRT engine)."""

from __future__ import annotations

import click

from .options import OutputFile, check_optional_output, is_quiet, verbosity_options


@click.command("export")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=OutputFile("model.onnx"), help="ONNX model to write.")
@click.option("--fp16", is_flag=True, help="Float16 weights and convolutions (inputs, outputs and the input "
              "compression stay float32); a TensorRT engine built from it is float16 too.")
@click.option("--opset", type=click.IntRange(min=18), default=18, show_default=True)
@click.option("--engine", type=OutputFile("model.engine"), default=None,
              help="Also build a TensorRT engine file here, metadata inside (needs tensorrt; not yet run on a GPU).")
@click.option("--min-tile", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--opt-tile", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--max-tile", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--timing-cache", type=click.Path(dir_okay=False), default=None, help="TensorRT timing cache file.")
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@verbosity_options
def command(checkpoint, output, fp16, opset, engine, min_tile, opt_tile, max_tile, timing_cache, overwrite):
    """Export CHECKPOINT to ONNX (dynamic batch and tile size, metadata inside) and check
    that ONNX Runtime reproduces PyTorch on a random tile."""
    from ..export.onnx_export import export_onnx
    from ..export.parity import max_abs_difference

    if checkpoint.lower().endswith(".npz"):  # a feature model file (hadinfer train-features)
        return _export_features(checkpoint, output, fp16=fp16, engine=engine, opset=opset, overwrite=overwrite)
    check_optional_output(output, overwrite, inputs=(checkpoint, timing_cache), others=(engine,))
    check_optional_output(engine, overwrite, inputs=(checkpoint, timing_cache), others=(output,))
    if engine:  # before the ONNX model is written, not after
        from ..runtimes.tensorrt_runtime import import_tensorrt

        import_tensorrt()
    path = export_onnx(checkpoint, output, opset=opset, fp16=fp16, overwrite=overwrite)
    diff = max_abs_difference(checkpoint, path)
    if not is_quiet():
        click.echo(f"{path}: ONNX Runtime vs PyTorch max |diff| {diff:.2e} on a random 1x64x64 tile", err=True)
    if engine:
        from ..export.tensorrt_engine import build_engine

        build_engine(path, engine, min_tile=min_tile, opt_tile=opt_tile, max_tile=max_tile,
                     timing_cache=timing_cache, overwrite=overwrite)
        if not is_quiet():
            click.echo(f"{engine}: TensorRT engine ({'float16' if fp16 else 'float32'}, metadata inside)", err=True)


def _export_features(model_path, output, *, fp16, engine, opset, overwrite):
    """Export a feature model to ONNX and check it against the NumPy network the detector runs."""
    from ..errors import ParameterError
    from ..export.feature_export import export_feature_onnx, feature_parity

    if fp16 or engine:
        raise ParameterError("--fp16 and --engine are for network checkpoints (.pt), not feature models (.npz)")
    check_optional_output(output, overwrite, inputs=(model_path,))
    path = export_feature_onnx(model_path, output, opset=opset, overwrite=overwrite)
    diff = feature_parity(model_path, path)
    if not is_quiet():
        click.echo(f"{path}: ONNX Runtime vs the NumPy network max |diff| {diff:.2e} on a random 32x32 tile", err=True)
