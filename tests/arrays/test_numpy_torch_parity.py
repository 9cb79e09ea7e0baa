"""Issue 19: NumPy and PyTorch (CPU) array libraries give the same map for every registered detector."""

import numpy as np
import pytest

from hadinfer.detectors.registry import build, registered
from hadinfer.io import open_scene
from hadinfer.pipeline import run_detector

from ..conftest import write_geotiff

pytest.importorskip("torch", reason="PyTorch arrays need torch (extra 'gpu' or 'train')")

#: Detectors that score with an array library (network detectors run through a model runtime).
ARRAY_DETECTORS = [name for name, entry in registered().items()
                   if not entry.needs_scene and name not in ("model", "general")]


def scores_with(path, name, arrays):
    with open_scene(path) as scene:
        out = np.full((scene.info.height, scene.info.width), np.nan, np.float32)

        def sink(tile, scores):
            out[tile.core.toslices()] = scores

        run_detector(scene, build(name), sink=sink, tile_size=32, arrays=arrays)
    return out


@pytest.mark.parametrize("name", ARRAY_DETECTORS)
def test_numpy_and_torch_cpu_arrays_agree(name, small_cube, tmp_path):
    from hadinfer.arrays import NumpyArrays
    from hadinfer.arrays.torch_arrays import TorchArrays

    cube = small_cube.astype(np.float32)
    cube[2, 3] = -9999.0
    path = write_geotiff(tmp_path / "scene.tif", cube, nodata=-9999.0)
    numpy_map = scores_with(path, name, NumpyArrays())
    torch_map = scores_with(path, name, TorchArrays("cpu"))
    np.testing.assert_array_equal(np.isnan(numpy_map), np.isnan(torch_map))
    finite = np.isfinite(numpy_map)
    assert np.max(np.abs(numpy_map[finite] - torch_map[finite]) / np.abs(numpy_map[finite])) <= 1e-5
