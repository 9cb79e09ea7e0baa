"""Issue 20: a scene is every file GDAL reads for it; inputs that would hang or lie are refused at open.

``hadinfer.io.inputs`` (what an input is), its use in the write rule
(``hadinfer.io.atomic``), short temporary names, and ``RasterioScene``'s checks of the
files a dataset is made of (a missing VRT source, a truncated ENVI data file).
"""

import os
import warnings

import numpy as np
import pytest
import rasterio

import hadinfer

from hadinfer.errors import InputNotFoundError, NotARasterError, OutputPathError
from hadinfer.io import open_scene, read_mask
from hadinfer.io.atomic import InputIndex, atomic_output, check_distinct, check_output_path, make_temp, temp_name
from hadinfer.io.inputs import check_input_file, input_files

from ..conftest import write_geotiff


def write_envi(path, cube, *, header_offset=0):
    """An ENVI data file and its .hdr (optionally with a header offset of zero bytes)."""
    height, width, bands = cube.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path, "w", driver="ENVI", width=width, height=height, count=bands,
                           dtype="float32") as ds:
            ds.write(np.moveaxis(cube.astype(np.float32), -1, 0))
    if header_offset:
        header = path.with_suffix(".hdr")
        header.write_text(header.read_text().replace("header offset = 0", f"header offset = {header_offset}"))
        path.write_bytes(b"\0" * header_offset + path.read_bytes())
    return path


def write_vrt(path, source, bands=3, size=(40, 36)):
    rows, cols = size
    body = "".join(f'<VRTRasterBand dataType="Float32" band="{b}"><SimpleSource><SourceFilename '
                   f'relativeToVRT="1">{source}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource>'
                   "</VRTRasterBand>" for b in range(1, bands + 1))
    path.write_text(f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">{body}</VRTDataset>')
    return path


def names(files):
    return {os.path.basename(f) for f in files}


@pytest.fixture
def envi(tmp_path, small_cube):
    return write_envi(tmp_path / "e.img", small_cube)


# --------------------------------------------------------------------------- input_files


def test_envi_data_and_header_are_both_inputs(envi):
    assert {"e.img", "e.hdr"} <= names(input_files(envi))
    assert {"e.img", "e.hdr"} <= names(input_files(envi.with_suffix(".hdr")))  # named by its header


def test_vrt_sources_are_inputs(tmp_path, small_cube):
    write_geotiff(tmp_path / "src.tif", small_cube)
    assert {"v.vrt", "src.tif"} <= names(input_files(write_vrt(tmp_path / "v.vrt", "src.tif")))


@pytest.mark.parametrize("side", ["s.tfw", "s.tif.aux.xml", "s.tif.msk"])
def test_side_files_gdal_reads_are_inputs(tmp_path, small_cube, side):
    scene = write_geotiff(tmp_path / "s.tif", small_cube)
    if side.endswith(".tfw"):
        (tmp_path / side).write_text("1\n0\n0\n-1\n500000\n4000000\n")
    elif side.endswith(".aux.xml"):
        (tmp_path / side).write_text('<PAMDataset><Metadata><MDI key="a">b</MDI></Metadata></PAMDataset>')
    else:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False), rasterio.open(scene, "r+") as ds:
            ds.write_mask(np.full(ds.shape, 255, np.uint8))
        assert (tmp_path / side).exists()
    assert side in names(input_files(scene))


def test_side_files_gdal_would_read_count_before_they_exist(tmp_path, small_cube):
    """Writing s.tif.aux.xml, s.tif.msk or a world file would change what GDAL reads as s.tif."""
    scene = write_geotiff(tmp_path / "s.tif", small_cube)
    assert {"s.tif.aux.xml", "s.tif.msk", "s.tif.ovr", "s.tfw", "s.wld"} <= names(input_files(scene))


@pytest.mark.parametrize("name", ["model.onnx", "model.pt", "cube.mat", "junk.bin", "missing.tif"])
def test_files_gdal_does_not_read_are_only_themselves(tmp_path, name):
    path = tmp_path / name
    if name != "missing.tif":
        path.write_bytes(b"not a raster at all")
    assert input_files(path) == (str(path),)


def test_a_fifo_is_never_opened_to_list_its_files(tmp_path):
    fifo = tmp_path / "f.tif"
    os.mkfifo(fifo)
    assert input_files(fifo) == (str(fifo),)  # returns: GDAL would have blocked on it


# --------------------------------------------------------------------------- the write rule


@pytest.mark.parametrize("output", ["e.hdr", "e.img", "e.img.aux.xml"])
def test_no_output_replaces_a_file_of_an_input(envi, output):
    with pytest.raises(OutputPathError, match="its own input"):
        check_output_path(envi.parent / output, overwrite=True, inputs=(envi,))


def test_no_output_replaces_a_vrt_source(tmp_path, small_cube):
    write_geotiff(tmp_path / "src.tif", small_cube)
    vrt = write_vrt(tmp_path / "v.vrt", "src.tif")
    with pytest.raises(OutputPathError, match=r"src.tif \(a file of .*v.vrt\)"):
        check_output_path(tmp_path / "src.tif", overwrite=True, inputs=(vrt,))


def test_input_index_finds_hard_links_and_dotdot_paths(envi):
    index = InputIndex([envi])
    os.link(envi.with_suffix(".hdr"), envi.parent / "alias.hdr")
    (envi.parent / "sub").mkdir()
    for alias in (envi.parent / "alias.hdr", envi.parent / "sub" / ".." / "e.hdr"):
        with pytest.raises(OutputPathError, match="its own input"):
            check_distinct(alias, inputs=index)
    check_distinct(envi.parent / "map.tif", inputs=index)  # anything else is fine


# --------------------------------------------------------------------------- long names


def test_a_legal_name_near_the_limit_gets_a_short_enough_temp_name(tmp_path):
    target = tmp_path / ("a" * 250 + ".json")  # 255 bytes: legal
    with atomic_output(target) as tmp:
        assert len(os.fsencode(tmp.name)) <= 255 and tmp.name.endswith(".tmp")
        tmp.write_text("{}")
    assert target.read_text() == "{}" and os.listdir(tmp_path) == [target.name]


def test_temp_names_keep_token_and_suffix_and_never_exceed_the_limit(tmp_path):
    for length in (1, 200, 240, 255):
        name = temp_name(tmp_path / ("é" * (length // 2) + ".tif"), "0123456789abcdef", ".cog.tif")
        assert len(os.fsencode(name)) <= 255 and name.endswith(".0123456789abcdef.cog.tif") and name.startswith(".")
    made = make_temp(tmp_path / ("b" * 251 + ".tif"), ".tmp.tif")
    assert made.exists() and len(os.fsencode(made.name)) <= 255


def test_a_name_longer_than_the_file_system_takes_is_one_line(tmp_path):
    with pytest.raises(OutputPathError, match="256 bytes long; this file system allows 255"):
        check_output_path(tmp_path / ("a" * 252 + ".tif"))


def test_a_non_utf8_output_name_is_refused(tmp_path):
    with pytest.raises(OutputPathError, match="not valid UTF-8"):
        check_output_path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/o\xff.tif"))


# --------------------------------------------------------------------------- inputs that hang or lie


def test_fifo_scene_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "f.tif"
    os.mkfifo(fifo)
    for opener in (open_scene, read_mask, check_input_file):
        with pytest.raises(NotARasterError, match=r"named pipe \(FIFO\), not a regular file"):
            opener(fifo)


def test_device_is_refused():
    with pytest.raises(NotARasterError, match="character device"):
        open_scene("/dev/zero")


def test_non_utf8_scene_name_is_one_line(tmp_path, small_cube):
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/s\xff.tif")
    write_geotiff(tmp_path / "ok.tif", small_cube)
    os.rename(tmp_path / "ok.tif", name)
    with pytest.raises(NotARasterError, match=r"s\\xff.tif: the file name is not valid UTF-8"):
        open_scene(name)


def test_missing_vrt_source_is_named_at_open(tmp_path):
    vrt = write_vrt(tmp_path / "m.vrt", "gone.tif")
    with pytest.raises(InputNotFoundError, match=r"m.vrt: its file .*gone.tif does not exist"):
        open_scene(vrt)


def test_vrt_with_a_fifo_source_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe.tif")
    with pytest.raises(NotARasterError, match="named pipe"):
        open_scene(write_vrt(tmp_path / "p.vrt", "pipe.tif"))


@pytest.mark.parametrize("offset", [0, 128])
def test_envi_file_shorter_than_its_header_is_refused(tmp_path, small_cube, offset):
    scene = write_envi(tmp_path / "t.img", small_cube, header_offset=offset)
    with open_scene(scene) as opened:  # whole: fine
        assert opened.info.shape == (40, 36, 12)
    whole = scene.read_bytes()
    scene.write_bytes(whole[:-1])
    with pytest.raises(NotARasterError, match=rf"holds {len(whole) - 1} bytes, but its header describes "
                                              rf"{len(whole)} \(40x36x12 float32.*truncated"):
        open_scene(scene)
    with pytest.raises(NotARasterError, match="truncated"):
        open_scene(scene.with_suffix(".hdr"))  # named by its header too


@pytest.mark.parametrize("interleave", ["band", "pixel"])
@pytest.mark.parametrize("tiled", [False, True])
def test_a_geotiff_cut_short_is_refused_not_zero_filled(tmp_path, small_cube, interleave, tiled):
    """With GTIFF_DIRECT_IO on (as during a run) GDAL read a striped GeoTIFF cut short as zeros,
    silently; any GeoTIFF missing its last block is now refused when opened, even by one byte."""
    scene = write_geotiff(tmp_path / "t.tif", small_cube.astype(np.int16), interleave=interleave, tiled=tiled)
    with open_scene(scene) as opened:  # whole: fine
        assert opened.info.shape == (40, 36, 12)
    whole = scene.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 1):
        scene.write_bytes(whole[:cut])
        with rasterio.Env(GTIFF_DIRECT_IO=True), pytest.raises(
                NotARasterError, match=rf"t\.tif: the file holds {cut} bytes, but its last block of pixels ends at "
                                       rf"byte \d+; the file is truncated"):
            hadinfer.detect(scene, detector="grx")


@pytest.mark.parametrize("driver, extension", [("EHdr", "bil"), ("PAux", "raw"), ("ISCE", "slc")])
def test_other_raw_files_shorter_than_their_header_are_refused(tmp_path, small_cube, driver, extension):
    # GDAL reads them as zeros past the end, as it did ENVI (issue 20, cause 6).
    scene = tmp_path / f"t.{extension}"
    with rasterio.open(scene, "w", driver=driver, width=36, height=40, count=12, dtype="float32") as ds:
        ds.write(np.moveaxis(small_cube, -1, 0))
    with open_scene(scene) as opened:  # whole: fine
        assert opened.info.shape == (40, 36, 12) and opened.info.driver == driver
    whole = scene.read_bytes()
    scene.write_bytes(whole[:-1])
    with pytest.raises(NotARasterError, match=rf"holds {len(whole) - 1} bytes, but its header describes at least "
                                              rf"{len(whole)} \(40x36x12 float32\); the file is truncated"):
        open_scene(scene)


@pytest.mark.parametrize("path, local", [("/tmp/s.tif", True), ("s.tif", True), ("file:///tmp/s.tif", True),
                                         ("/vsizip/a.zip/s.tif", False), ("zip:///tmp/a.zip!/s.tif", False),
                                         ("zip+file:///tmp/a.zip!s.tif", False), ("tar:///a.tar!/s.tif", False),
                                         ("s3://bucket/s.tif", False), ("az://c/s.tif", False),
                                         ("https://x/s.tif", False)])
def test_urls_of_every_scheme_are_not_local_files(path, local):
    from hadinfer.io.inputs import is_local_path

    assert is_local_path(path) == local


def test_a_scene_in_a_zip_archive_by_url_is_read_and_a_file_url_is_a_file(tmp_path, small_cube):
    """rasterio's archive URLs (``zip://``, ``zip+file://``) were refused as "no such file"; they are
    read like the file itself, and a ``file://`` URL is that file, to the same-file checks too."""
    import zipfile

    scene = write_geotiff(tmp_path / "s.tif", small_cube.astype(np.int16))
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as archive:
        archive.write(scene, "s.tif")
    expected = hadinfer.detect(scene, detector="grx").scores
    for url in (f"zip://{tmp_path}/a.zip!/s.tif", f"zip+file://{tmp_path}/a.zip!s.tif", f"file://{scene}"):
        np.testing.assert_array_equal(hadinfer.detect(url, detector="grx").scores, expected)
    with pytest.raises(OutputPathError, match="its own input"):
        hadinfer.detect(f"file://{scene}", scene, detector="grx", overwrite=True)
    with pytest.raises(InputNotFoundError, match="no such file"):
        hadinfer.detect(f"file://{tmp_path}/gone.tif", detector="grx")
