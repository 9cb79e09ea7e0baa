"""The scene a benchmark runs on: the one asked for, or the synthetic 1024 x 1024 x 200 int16 GeoTIFF."""

from __future__ import annotations

from pathlib import Path


def scene_or_synthetic(scene: str | None, folder) -> str:
    """``scene``, or a synthetic 1024 x 1024 x 200 int16 GeoTIFF written into ``folder`` (a temporary directory)."""
    if scene is not None:
        return scene
    from hadinfer.synthetic import write_synthetic_scene

    path = str(Path(folder) / "scene.tif")
    write_synthetic_scene(path, height=1024, width=1024, bands=200, dtype="int16")
    return path
