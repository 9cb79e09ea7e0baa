"""``hadinfer synth``: the built-in example, a synthetic georeferenced scene with its truth."""

from __future__ import annotations

import click

from ..errors import ParameterError
from ..pairs import as_pair
from .options import OutputFile, check_map_extension, is_quiet, verbosity_options


class _SizeType(click.ParamType):
    name = "ROWSxCOLS"

    def convert(self, value, param, ctx):
        try:
            parts = value if isinstance(value, tuple) else [int(v) for v in str(value).lower().split("x")]
        except ValueError:
            self.fail(f"expected ROWSxCOLS like 512x512, got {value!r}", param, ctx)
        try:
            return as_pair(parts, "size", scalar=False)
        except ParameterError as exc:
            self.fail(str(exc).removeprefix("size: "), param, ctx)


@click.command("synth")
@click.argument("output", type=OutputFile("scene.tif"))
@click.option("--truth", type=OutputFile("truth.tif"), default=None, help="Also write the anomaly mask here.")
@click.option("--size", type=_SizeType(), default="256x256", show_default=True)
@click.option("--bands", type=click.IntRange(min=2), default=100, show_default=True)
@click.option("--dtype", type=click.Choice(["int16", "uint16", "float32", "float64"]), default="int16",
              show_default=True)
@click.option("--interleave", type=click.Choice(["band", "pixel"]), default="band", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@verbosity_options
def command(output, truth, size, bands, dtype, interleave, seed, overwrite):
    """Write a synthetic hyperspectral GeoTIFF: smooth materials in patches, sensor
    noise, planted sub-pixel and full-pixel anomalies (and their mask with --truth)."""
    from ..synthetic import write_synthetic_scene

    for path, hint in ((output, "OUTPUT"), (truth, "--truth")):  # both are GeoTIFFs, whatever the name says
        if path is not None:
            check_map_extension(path, param_hint=hint)

    summary = write_synthetic_scene(output, truth, height=size[0], width=size[1], bands=bands, dtype=dtype,
                                    seed=seed, interleave=interleave, overwrite=overwrite)
    if not is_quiet():
        click.echo(f"{output}: {size[0]}x{size[1]}x{bands} {dtype}, "
                   f"{summary.get('anomaly_pixels', '?')} anomaly pixels", err=True)
