"""Rasters georeferenced by rational polynomial coefficients (satellite level-1 products): maps keep the
RPCs, ``info`` names them, detections are refused in one line."""

import os

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.rpc import RPC

import hadinfer
from hadinfer.cli.main import cli
from hadinfer.errors import ParameterError
from hadinfer.vectors import map_detections

# A plain affine model in RPC form (lines from latitude, samples from longitude): enough for GDAL.
COEFFS = dict(height_off=100.0, height_scale=200.0, lat_off=45.0, lat_scale=0.05, long_off=7.0, long_scale=0.05,
              line_off=20.0, line_scale=20.0, samp_off=18.0, samp_scale=18.0,
              line_num_coeff=[0.0, 0.0, -1.0] + [0.0] * 17, line_den_coeff=[1.0] + [0.0] * 19,
              samp_num_coeff=[0.0, 1.0] + [0.0] * 18, samp_den_coeff=[1.0] + [0.0] * 19)


def write_rpc_scene(path, cube):
    height, width, bands = cube.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=bands, dtype=cube.dtype,
                       rpcs=RPC(**COEFFS)) as ds:
        ds.write(np.moveaxis(cube, -1, 0))
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize("cog", [False, True], ids=["gtiff", "cog"])
def test_the_map_keeps_the_scenes_rpcs(tmp_path, small_cube, cog):
    # The map was written without them: no georeferencing at all, nothing to orthorectify it with.
    scene = write_rpc_scene(tmp_path / "r.tif", small_cube.astype(np.int16))
    result = run("detect", scene, "-o", tmp_path / "m.tif", *(["--cog"] if cog else []))
    assert result.exit_code == 0, result.output
    with rasterio.open(scene) as source, rasterio.open(tmp_path / "m.tif") as ds:
        assert ds.rpcs is not None and ds.rpcs.to_dict() == source.rpcs.to_dict()
        assert ds.transform.is_identity and ds.crs is None and not ds.gcps[0]


def test_info_names_how_a_scene_is_georeferenced(tmp_path, small_cube):
    from ..conftest import write_geotiff

    rpc = run("info", write_rpc_scene(tmp_path / "r.tif", small_cube))
    assert rpc.exit_code == 0 and "georeferencing rational polynomial coefficients (RPCs)" in rpc.stdout
    assert "georeferencing geotransform" in run("info", write_geotiff(tmp_path / "g.tif", small_cube)).stdout
    with hadinfer.open_scene(tmp_path / "r.tif", bands="2-4") as scene:
        assert scene.info.rpcs is not None and not scene.info.gcps


def test_detections_of_an_rpc_scene_are_refused_in_one_line(tmp_path, small_cube):
    scene = write_rpc_scene(tmp_path / "r.tif", small_cube.astype(np.int16))
    out = tmp_path / "out"
    out.mkdir()
    result = run("detect", scene, "-o", out / "m.tif", "--detections", out / "d.geojson", "--pfa", "0.01")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rational polynomial coefficients" in lines[0] and "gdalwarp -rpc" in lines[0]
    assert os.listdir(out) == []
    hadinfer.detect(scene, out / "m.tif")  # a map made without detections, then asked for them
    with pytest.raises(ParameterError, match="RPCs"):
        map_detections(out / "m.tif", out / "d.geojson", pfa=0.01)
