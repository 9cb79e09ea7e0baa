"""``hadinfer quicklook``: a PNG picture of a map."""

from __future__ import annotations

import click

from ..io import open_scene
from .options import check_optional_output


@click.command("quicklook")
@click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing PNG.")
def command(map_path, output, overwrite):
    """Render MAP (band 1) as a contrast-stretched PNG; nodata shown grey."""
    check_optional_output(output, overwrite)
    from ..plots import save_quicklook_png

    with open_scene(map_path, bands="1") as scene:
        cube, valid = scene.read_all()
    save_quicklook_png(cube[:, :, 0], output, valid=valid, title=str(map_path))
