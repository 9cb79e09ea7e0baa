"""Peak memory is bounded by the tile, not the scene: measured in fresh processes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hadinfer.synthetic import make_cube

from .conftest import write_geotiff

PROBE = """
import json, sys, hadinfer
report = hadinfer.detect(sys.argv[1], sys.argv[2], detector=sys.argv[3], tile_size=64, device="cpu").report
print(json.dumps(report))
"""


def peak_mb(scene, output, detector):
    # One ring kernel for both sizes: the smaller scene would otherwise run the NumPy one and
    # never load Numba, whose own 80-90 MiB would then look like the larger scene's.
    done = subprocess.run([sys.executable, "-c", PROBE, str(scene), str(output), detector],
                          capture_output=True, text=True, check=True, env=dict(os.environ, HADINFER_COMPILED="1"))
    return json.loads(done.stdout)["peak_memory_mb"]


@pytest.mark.parametrize("detector", ["grx", "lrx"])
def test_peak_memory_roughly_constant_when_scene_grows_4x(tmp_path, detector):
    peaks = []
    for size in (512, 1024):
        cube, _ = make_cube(size, size, 48, seed=1)
        scene = write_geotiff(tmp_path / f"{size}.tif", (cube * 10000).astype(np.int16), tiled=True, block=64)
        del cube
        peaks.append(peak_mb(scene, tmp_path / f"{size}-map.tif", detector))
    # 64 tiles vs 256 tiles of 64x64: the pipeline is full in both, and the larger scene
    # holds 4x the pixels (288 MiB more as float64) but must not cost 4x memory.
    assert peaks[1] < 1.25 * peaks[0], peaks
