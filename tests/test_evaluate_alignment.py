"""``evaluate`` checks that a georeferenced mask lies on the map's pixels."""

import numpy as np
from click.testing import CliRunner
from rasterio.transform import from_origin

from hadinfer.cli.main import cli

from .conftest import write_geotiff


def test_a_mask_moved_elsewhere_is_refused_and_an_aligned_one_is_scored(tmp_path, small_cube):
    scene = write_geotiff(tmp_path / "scene.tif", small_cube)
    truth = np.zeros(small_cube.shape[:2] + (1,), np.uint8)
    truth[10, 20] = 1
    aligned = write_geotiff(tmp_path / "truth.tif", truth)
    moved = write_geotiff(tmp_path / "moved.tif", truth, transform=from_origin(600000, 4600000, 2.0, 2.0))
    runner = CliRunner()
    assert runner.invoke(cli, ["detect", str(scene), "-o", str(tmp_path / "map.tif"), "-q"]).exit_code == 0
    good = runner.invoke(cli, ["evaluate", str(tmp_path / "map.tif"), "--truth", str(aligned), "--json"])
    assert good.exit_code == 0, good.output
    bad = runner.invoke(cli, ["evaluate", str(tmp_path / "map.tif"), "--truth", str(moved), "--json"])
    assert bad.exit_code == 1
    assert "does not match the map" in bad.output and len(bad.output.strip().splitlines()) == 1
