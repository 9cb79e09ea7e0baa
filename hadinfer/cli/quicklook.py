"""``hadinfer quicklook``: a PNG picture of a map."""

from __future__ import annotations

import click
import numpy as np

from ..errors import AllNodataError
from ..io import open_scene
from ..io.atomic import atomic_output
from .options import OutputFile, check_optional_output, check_png_extension, verbosity_options


@click.command("quicklook")
@click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=OutputFile("map.png"), help="PNG file (named .png).")
@click.option("--overwrite", is_flag=True, help="Replace an existing PNG.")
@verbosity_options
def command(map_path, output, overwrite):
    """Render MAP (band 1) as a contrast-stretched PNG; nodata shown grey."""
    check_optional_output(output, overwrite, inputs=(map_path,))  # the same-file check first
    check_png_extension(output)
    from ..plots import save_quicklook_png

    with open_scene(map_path, bands="1") as scene:
        cube, valid = scene.read_all()
    if not (valid & np.isfinite(cube[:, :, 0])).any():
        raise AllNodataError(f"{map_path}: every pixel of the map is nodata or not finite; nothing to show")
    with atomic_output(output, overwrite=overwrite, inputs=(map_path,), suffix=".tmp.png") as tmp:
        save_quicklook_png(cube[:, :, 0], tmp, valid=valid, title=str(map_path))
