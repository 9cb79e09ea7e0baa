"""Synthetic, georeferenced hyperspectral scenes with planted anomalies.

The project's built-in example, the fixture of the tests and the input of the
benchmarks.  One job per module:

* :mod:`~hadinfer.synthetic.scene_model`: the scene model, rendered in memory,
  whole (:func:`make_cube`) or any window of it (:func:`synthetic_window`),
  bit for bit the same;
* :mod:`~hadinfer.synthetic.geotiff`: the scene and its truth written as
  GeoTIFFs, block by block (:func:`write_synthetic_scene`);
* :mod:`~hadinfer.synthetic.validation`: checks of the integer arguments.
"""

from .geotiff import (
    REFLECTANCE_SCALE,
    SCENE_DTYPES,
    SYNTHETIC_CRS,
    SYNTHETIC_TRANSFORM,
    default_block_rows,
    write_synthetic_scene,
)
# _SceneModel is private, but tests patch it here to interrupt a write.
from .scene_model import _SceneModel, make_cube, synthetic_window  # noqa: F401

__all__ = [
    "REFLECTANCE_SCALE",
    "SCENE_DTYPES",
    "SYNTHETIC_CRS",
    "SYNTHETIC_TRANSFORM",
    "default_block_rows",
    "make_cube",
    "synthetic_window",
    "write_synthetic_scene",
]
