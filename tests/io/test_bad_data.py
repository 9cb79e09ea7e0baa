"""Issue 11: data hadinfer cannot score is refused with one line that says what it is.

Complex pixels (GDAL complex types, complex MATLAB variables, complex arrays) would lose
their imaginary part with only a NumPy warning; a ``.mat --key`` naming a cell array,
struct, text or sparse matrix used to surface as an unwrapped library message.
"""

import re

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import hadinfer
from hadinfer.errors import MatKeyError, NotARasterError, ParameterError

from ..cli.test_data_loss import assert_one_line_error, checksums, run

scipy_io = pytest.importorskip("scipy.io", reason="reading .mat files needs scipy (extra 'mat')")


def cube(bands=6, height=12, width=10):
    return np.random.default_rng(0).normal(size=(height, width, bands)) + 10


def write_complex_tif(path, dtype):
    data = cube()
    values = data + 1j * data[:, :, ::-1]
    profile = dict(driver="GTiff", width=10, height=12, count=6, dtype=dtype, crs="EPSG:32633",
                   transform=from_origin(500000, 4600000, 2.0, 2.0))
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(np.moveaxis(values, -1, 0).astype(np.complex64 if dtype == "complex_int16" else dtype))
    return path


def write_v73(path, variables):
    """A MATLAB v7.3 file: HDF5 behind a 512-byte MATLAB header; ``variables`` is ``name -> writer(file, name)``."""
    h5py = pytest.importorskip("h5py", reason="h5py (extra 'mat') needed for MATLAB v7.3")
    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, write in variables.items():
            write(fh, name, h5py)
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(128, b" "))
    return path


def v73_real(fh, name, h5py):
    fh[name] = cube().T
    fh[name].attrs["MATLAB_class"] = np.bytes_("double")


def v73_complex(fh, name, h5py):
    data = cube().T
    values = np.empty(data.shape, dtype=[("real", "<f8"), ("imag", "<f8")])
    values["real"], values["imag"] = data, -data
    fh[name] = values
    fh[name].attrs["MATLAB_class"] = np.bytes_("double")


def v73_cell(fh, name, h5py):
    refs = fh.require_group("#refs#")
    refs["a"] = cube().T
    cell = fh.create_dataset(name, (1, 2), dtype=h5py.ref_dtype)
    cell[0, 0] = cell[0, 1] = refs["a"].ref
    cell.attrs["MATLAB_class"] = np.bytes_("cell")


def v73_struct(fh, name, h5py):
    group = fh.create_group(name)
    group["field"] = cube().T
    group.attrs["MATLAB_class"] = np.bytes_("struct")


def v73_char(fh, name, h5py):
    fh[name] = np.frombuffer("hello".encode("utf-16-le"), dtype=np.uint16).reshape(5, 1)
    fh[name].attrs["MATLAB_class"] = np.bytes_("char")


# ---------------------------------------------------------------- complex pixels

@pytest.mark.parametrize("dtype", ["complex64", "complex128", "complex_int16"])
def test_complex_geotiff_is_refused_naming_its_dtype(tmp_path, dtype):
    scene = write_complex_tif(tmp_path / "c.tif", dtype)
    before = checksums(tmp_path)
    result = run("detect", scene, "-o", tmp_path / "map.tif", "--report", tmp_path / "run.json")
    assert_one_line_error(result, f"complex pixels ({dtype}) are not supported")
    assert checksums(tmp_path) == before  # no map, no report, no temp file
    with pytest.raises(NotARasterError, match=dtype):
        hadinfer.open_scene(scene)


def test_complex_truth_is_refused_too(tmp_path):
    write_complex_tif(tmp_path / "t.tif", "complex64")
    hadinfer.detect(cube(), tmp_path / "m.tif", detector="grx")
    result = run("evaluate", tmp_path / "m.tif", "--truth", tmp_path / "t.tif")
    assert_one_line_error(result, "complex pixels (complex64)")


@pytest.mark.parametrize("key", [None, "z"])
def test_complex_mat_v5_is_refused_naming_its_dtype(tmp_path, key):
    path = tmp_path / "c.mat"
    scipy_io.savemat(path, {"z": cube() * (1 + 2j), "small": np.ones((2, 2, 2))})
    before = checksums(tmp_path)
    result = run("detect", path, "-o", tmp_path / "map.tif", *(["--key", key] if key else []))
    assert_one_line_error(result, "variable 'z' holds complex numbers (complex128)")
    assert checksums(tmp_path) == before


def test_complex_mat_v73_is_refused_naming_its_dtype(tmp_path):
    path = write_v73(tmp_path / "c.mat", {"z": v73_complex})
    before = checksums(tmp_path)
    result = run("detect", path, "-o", tmp_path / "map.tif")
    assert_one_line_error(result, "variable 'z' holds complex numbers (complex128)")
    assert checksums(tmp_path) == before


def test_a_real_cube_beside_a_complex_one_is_read_with_its_key(tmp_path):
    path = tmp_path / "both.mat"
    scipy_io.savemat(path, {"z": np.ones((20, 20, 6)) * 1j, "cube": cube()})
    with hadinfer.open_scene(path, key="cube") as scene:
        assert scene.info.shape == (12, 10, 6)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_array_is_refused_naming_its_dtype(dtype):
    with pytest.raises(ParameterError, match=f"got dtype {np.dtype(dtype)}"):
        hadinfer.detect(cube().astype(dtype), detector="grx")


# ---------------------------------------------------------------- .mat --key naming something else

V5_VARIABLES = {  # name -> (value as scipy writes it, what the message calls it)
    "cells": (np.array([[cube(), "label"]], dtype=object), "is a cell array"),
    "cells3d": (None, "is a cell array"),  # built in the test (a 3-D cell array)
    "info": ({"sensor": "AVIRIS", "bands": np.arange(6)}, "is a struct"),
    "name": ("a text", "is text (a char array)"),
}


@pytest.mark.parametrize("key", list(V5_VARIABLES))
def test_mat_v5_key_naming_a_non_numeric_variable(tmp_path, key):
    variables = {name: value for name, (value, _) in V5_VARIABLES.items()}
    variables["cells3d"] = np.array([[[cube(), 1], [2, 3]], [[4, 5], [6, 7]]], dtype=object)
    path = tmp_path / "s.mat"
    scipy_io.savemat(path, variables | {"cube": cube()})
    before = checksums(tmp_path)
    result = run("detect", path, "-o", tmp_path / "map.tif", "--key", key)
    assert_one_line_error(result, f"variable {key!r} {V5_VARIABLES[key][1]}, not a numeric array")
    assert checksums(tmp_path) == before
    with pytest.raises(MatKeyError, match=re.escape(V5_VARIABLES[key][1])):
        hadinfer.open_scene(path, key=key)


def test_mat_v5_key_naming_a_sparse_matrix(tmp_path):
    sparse = pytest.importorskip("scipy.sparse")
    path = tmp_path / "s.mat"
    scipy_io.savemat(path, {"m": sparse.csc_matrix(np.eye(4))})
    with pytest.raises(MatKeyError, match="variable 'm' is a sparse matrix"):
        hadinfer.read_mask(path, key="m")


def test_mat_truth_key_naming_a_cell_array(tmp_path):
    hadinfer.detect(cube(), tmp_path / "m.tif", detector="grx")
    scipy_io.savemat(tmp_path / "t.mat", {"gt": np.array([[1, "x"]], dtype=object)})
    result = run("evaluate", tmp_path / "m.tif", "--truth", tmp_path / "t.mat", "--key", "gt")
    assert_one_line_error(result, "variable 'gt' is a cell array, not a numeric array")


@pytest.mark.parametrize("key, kind", [("cells", "is a cell array"), ("info", "is a struct"),
                                       ("name", "is text (a char array)")])
def test_mat_v73_key_naming_a_non_numeric_variable(tmp_path, key, kind):
    path = write_v73(tmp_path / "s.mat", {"cube": v73_real, "cells": v73_cell, "info": v73_struct,
                                          "name": v73_char})
    before = checksums(tmp_path)
    result = run("detect", path, "-o", tmp_path / "map.tif", "--key", key)
    assert_one_line_error(result, f"variable {key!r} {kind}, not a numeric array")
    assert checksums(tmp_path) == before


def test_auto_detection_skips_cells_structs_and_text(tmp_path):
    v5 = tmp_path / "v5.mat"
    scipy_io.savemat(v5, {"cells": np.full((30, 30, 30), 1.0, dtype=object), "cube": cube()})
    v73 = write_v73(tmp_path / "v73.mat", {"cells": v73_cell, "info": v73_struct, "cube": v73_real})
    for path in (v5, v73):
        with hadinfer.open_scene(path) as scene:
            assert scene.key == "cube" and scene.info.shape == (12, 10, 6)


def test_missing_key_lists_every_variable(tmp_path):
    path = write_v73(tmp_path / "s.mat", {"cube": v73_real, "info": v73_struct})
    with pytest.raises(MatKeyError, match=r"no variable 'data' \(has: cube, info\)"):
        hadinfer.open_scene(path, key="data")
