"""Peak memory is bounded by the tile, not the scene: measured in fresh processes."""

import json
import subprocess
import sys

import pytest

from hadinfer.synthetic import write_synthetic_scene

PROBE = """
import json, sys, hadinfer
report = hadinfer.detect(sys.argv[1], sys.argv[2], detector=sys.argv[3], tile_size=128, device="cpu").report
print(json.dumps(report))
"""


def peak_mb(scene, output, detector):
    done = subprocess.run([sys.executable, "-c", PROBE, str(scene), str(output), detector],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["peak_memory_mb"]


@pytest.mark.parametrize("detector", ["grx", "lrx"])
def test_peak_memory_roughly_constant_when_scene_grows_4x(tmp_path, detector):
    small, large = tmp_path / "small.tif", tmp_path / "large.tif"
    write_synthetic_scene(small, height=512, width=512, bands=64)
    write_synthetic_scene(large, height=1024, width=1024, bands=64)
    a = peak_mb(small, tmp_path / "a.tif", detector)
    b = peak_mb(large, tmp_path / "b.tif", detector)
    # The large scene holds 4x the pixels (384 MiB more as float64) but must not cost 4x memory.
    assert b < 1.3 * a, (a, b)
