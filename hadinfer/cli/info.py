"""``hadinfer info``: what a scene holds, before reading its pixels."""

from __future__ import annotations

import json

import click

from ..io import open_scene


def _ranges(bands) -> str:
    """Compress 1-based band numbers into ``1-3,7`` form."""
    parts, start, prev = [], None, None
    for band in bands:
        if start is None:
            start = prev = band
        elif band == prev + 1:
            prev = band
        else:
            parts.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = prev = band
    if start is not None:
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ",".join(parts) or "none"


@click.command("info")
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("--key", default=None, help=".mat variable holding the cube.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(scene, key, as_json):
    """Describe SCENE: shape, bands, dtype, interleave, blocks, CRS, nodata, bad bands."""
    with open_scene(scene, key=key) as opened:
        info = opened.info
    fields = {
        "path": info.path, "driver": info.driver, "height": info.height, "width": info.width,
        "bands": info.band_count, "bands_used": _ranges(info.bands), "dtype": info.dtype,
        "interleave": info.interleave, "block_shape": info.block_shape,
        "crs": info.crs.to_string() if info.crs else None, "transform": list(info.transform)[:6],
        "nodata": info.nodata, "bad_bands": _ranges(info.bad_bands) if info.bad_bands else "none",
    }
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for name, value in fields.items():
        click.echo(f"{name:<12} {value}")
