"""``hadinfer info``: what a scene holds, before reading its pixels."""

from __future__ import annotations

import click

from ..io import open_scene
from ..io.bands import format_band_spec
from ..io.json_text import dumps as json_dumps
from .options import verbosity_options


def _ranges(bands) -> str:
    """1-based band numbers in ``1-3,7`` form, ``none`` when there are none."""
    return format_band_spec(bands) or "none"


def _wavelength_summary(wavelengths) -> str:
    if not wavelengths:
        return "none"
    count = len(wavelengths)
    return f"{count} band{'s' if count != 1 else ''}, {wavelengths[0]:g}-{wavelengths[-1]:g} nm"


@click.command("info")
@click.argument("scene", type=click.Path(dir_okay=False))
@click.option("--key", default=None, help=".mat variable holding the cube.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with every band's wavelength).")
@verbosity_options
def command(scene, key, as_json):
    """Describe SCENE: shape, bands, dtype, interleave, blocks, compression, CRS, georeferencing, nodata, bad
    bands, wavelengths.

    Wavelengths (band centres, in nm) come from an ENVI header or GDAL band metadata,
    for the bands used (bad bands dropped).
    """
    with open_scene(scene, key=key) as opened:
        info = opened.info
    fields = {
        "path": info.path, "driver": info.driver, "height": info.height, "width": info.width,
        "bands": info.band_count, "bands_used": _ranges(info.bands), "dtype": info.dtype,
        "interleave": info.interleave, "block_shape": info.block_shape, "compression": info.compression,
        "crs": info.crs.to_string() if info.crs else None, "transform": list(info.transform)[:6],
        "georeferencing": _georeferencing(info),
        "nodata": info.nodata, "bad_bands": _ranges(info.bad_bands) if info.bad_bands else "none",
        "wavelengths": _wavelength_summary(info.wavelengths),
    }
    if as_json:
        fields["wavelengths_nm"] = list(info.wavelengths) if info.wavelengths else None
        click.echo(json_dumps(fields, indent=2))  # a NaN nodata is null
        return
    for name, value in fields.items():
        click.echo(f"{name:<14} {value}")


def _georeferencing(info) -> str:
    """How the scene is placed on the ground, which its maps keep: a geotransform, GCPs, RPCs or nothing."""
    if info.gcps:
        crs = info.gcp_crs.to_string() if info.gcp_crs else "no CRS"
        return f"{len(info.gcps)} ground control points ({crs})"
    if info.rpcs is not None:
        return "rational polynomial coefficients (RPCs)"
    if info.crs is not None or not info.transform.is_identity:
        return "geotransform"
    return "none"
