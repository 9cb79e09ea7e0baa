"""Band centre wavelengths: read from ENVI headers and GeoTIFF metadata, shown by ``info``,
selected by ``--wavelengths`` nanometre ranges (with the bad-band list), refused without them."""

import json

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from hadinfer.cli.main import cli
from hadinfer.errors import BandSelectionError
from hadinfer.io import open_scene, wavelength_band_spec
from hadinfer.io.bands import (bands_in_wavelength_ranges, envi_header_field, format_band_spec, parse_band_spec,
                               parse_wavelength_ranges, read_envi_wavelengths, select_bands, wavelengths_to_nm)

from ..conftest import write_geotiff

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis (extra 'test')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY = settings(max_examples=200, deadline=None)  # deadline=None: a busy shared machine
NM = [400.0, 500.0, 700.0, 1340.0, 1400.0, 1450.0, 1790.0, 2400.0]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def cube(bands=len(NM), seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(24, 20, 3)) @ rng.normal(size=(3, bands)) * 40 + 500
    data[6, 9] += np.linspace(-60, 60, bands)
    return (data + rng.normal(scale=3, size=data.shape)).astype(np.float32)


def write_envi(path, data, header_lines=()):
    """An ENVI scene (``path`` the data file) with extra header lines appended."""
    height, width, bands = data.shape
    with rasterio.open(path, "w", driver="ENVI", width=width, height=height, count=bands, dtype=data.dtype,
                       crs="EPSG:32633", transform=from_origin(500000, 4600000, 2, 2)) as ds:
        ds.write(np.moveaxis(data, -1, 0))
    header = path.with_suffix(".hdr")
    header.write_text(header.read_text() + "".join(line + "\n" for line in header_lines))
    return path


def envi_list(values):
    return "{" + ",\n ".join(f"{v:g}" for v in values) + "}"


@pytest.fixture
def envi_um(tmp_path):
    """ENVI scene whose header gives wavelengths in micrometres and marks band 2 (500 nm) bad."""
    bbl = [1, 0, 1, 1, 1, 1, 1, 1]
    return write_envi(tmp_path / "scene.img", cube(), [
        "wavelength units = Micrometers", f"wavelength = {envi_list(v / 1000 for v in NM)}",
        f"bbl = {envi_list(bbl)}"])


@pytest.fixture
def tif_band_items(tmp_path):
    """GeoTIFF with GDAL per-band ``WAVELENGTH`` items in nm (as gdal_translate copies them from ENVI)."""
    path = write_geotiff(tmp_path / "bands.tif", cube())
    with rasterio.open(path, "r+") as ds:
        for band, nm in enumerate(NM, 1):
            ds.update_tags(band, WAVELENGTH=f"{nm:g}", WAVELENGTH_UNITS="Nanometers")
    return path


# ------------------------------------------------------------------------------ reading

def test_envi_header_in_micrometres_becomes_nanometres(envi_um):
    assert read_envi_wavelengths(envi_um) == tuple(NM)
    assert read_envi_wavelengths(envi_um.with_suffix(".hdr")) == tuple(NM)
    with open_scene(envi_um) as scene:  # the bad band's wavelength is dropped with it
        assert scene.info.bad_bands == (2,)
        assert scene.info.wavelengths == tuple(nm for i, nm in enumerate(NM) if i != 1)


def test_geotiff_per_band_items(tif_band_items):
    with open_scene(tif_band_items) as scene:
        assert scene.info.wavelengths == tuple(NM)


def test_geotiff_converted_from_envi_keeps_them(envi_um, tmp_path):
    import rasterio.shutil

    rasterio.shutil.copy(envi_um, tmp_path / "copy.tif", driver="GTiff")  # lower-case items, band units
    with open_scene(tmp_path / "copy.tif") as scene:
        assert scene.info.wavelengths == tuple(NM)


def test_geotiff_dataset_envi_domain(tmp_path):
    path = write_geotiff(tmp_path / "envi-domain.tif", cube())
    with rasterio.open(path, "r+") as ds:
        ds.update_tags(ns="ENVI", wavelength=envi_list(v / 1000 for v in NM), wavelength_units="um")
    with open_scene(path) as scene:
        assert scene.info.wavelengths == tuple(NM)


def test_geotiff_imagery_domain(tmp_path):
    path = write_geotiff(tmp_path / "imagery.tif", cube())
    with rasterio.open(path, "r+") as ds:
        for band, nm in enumerate(NM, 1):
            ds.update_tags(band, ns="IMAGERY", CENTRAL_WAVELENGTH_UM=f"{nm / 1000:.3f}")
    with open_scene(path) as scene:
        assert scene.info.wavelengths == tuple(NM)


def test_no_wavelengths_is_none(small_tif):
    with open_scene(small_tif) as scene:
        assert scene.info.wavelengths is None


@pytest.mark.parametrize("lines", [
    ["wavelength units = Nanometers", "wavelength = {400, 500}"],  # 2 for 8 bands
    ["wavelength units = Index", f"wavelength = {envi_list(range(1, 9))}"],  # not a length
    ["wavelength units = nm", "wavelength = {" + ", ".join(["-1"] * 8) + "}"],  # "unknown" placeholders
], ids=["wrong-count", "index-units", "placeholders"])
def test_unusable_header_wavelengths_are_ignored(tmp_path, lines):
    path = write_envi(tmp_path / "odd.img", cube(), lines)
    with open_scene(path) as scene:
        assert scene.info.wavelengths is None
    with pytest.raises(BandSelectionError, match="no wavelengths"):
        open_scene(path, wavelengths="400-900")


@pytest.mark.parametrize(("values", "units", "expected"), [
    (["0.4", "2.5"], "Micrometers", (400.0, 2500.0)),
    (["0.4", "2.5"], "\u00b5m", (400.0, 2500.0)),
    (["0.4", "2.5"], None, (400.0, 2500.0)),  # unstated and below 100: micrometres
    (["400", "2500"], "Unknown", (400.0, 2500.0)),
    (["400", "2500"], "NANOMETERS", (400.0, 2500.0)),
    (["4000", "25000"], "Angstroms", (400.0, 2500.0)),
    ([1, 2], "GHz", None),
    ([1, 2], "Wavenumber", None),
    (["400", "x"], "nm", None),
    ([], "nm", None),
    ([400, float("nan")], "nm", None),
])
def test_wavelengths_to_nm(values, units, expected):
    assert wavelengths_to_nm(values, units) == expected


def test_envi_header_field_spans_lines_and_ignores_longer_names():
    text = "ENVI\nwavelength units = Micrometers\nfwhm = {1, 2}\nWavelength= {0.4,\n  0.5 }\n"
    assert envi_header_field(text, "wavelength").split(",")[1].strip() == "0.5"
    assert envi_header_field(text, "wavelength units") == "Micrometers"
    assert envi_header_field(text, "bbl") is None


# ---------------------------------------------------------------------------- selecting

def test_open_scene_selects_by_wavelength_and_drops_bad_bands(envi_um):
    with open_scene(envi_um, wavelengths="400-1340,1450-1790") as scene:
        # 500 nm is in range but bad; 1400 nm and 2400 nm are out of range
        assert scene.info.bands == (1, 3, 4, 6, 7)
        assert scene.info.wavelengths == (400.0, 700.0, 1340.0, 1450.0, 1790.0)
        assert scene.read_all()[0].shape == (24, 20, 5)


def test_wavelengths_and_bands_must_both_hold(tif_band_items):
    with open_scene(tif_band_items, bands="1-4", wavelengths=[(450, 1500)]) as scene:
        assert scene.info.bands == (2, 3, 4)
    assert wavelength_band_spec(tif_band_items, "400-1340,1450-1790") == "1-4,6-7"


def test_ranges_that_hold_no_band_say_where_the_bands_are(tif_band_items):
    with pytest.raises(BandSelectionError, match="400-2400 nm"):
        open_scene(tif_band_items, wavelengths="3000-4000")


def test_mat_file_has_no_wavelengths(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    path = tmp_path / "cube.mat"
    scipy_io.savemat(path, {"cube": cube()})
    with pytest.raises(BandSelectionError, match=r"\.mat cube has no band wavelengths"):
        open_scene(path, wavelengths="400-900")


@pytest.mark.parametrize(("spec", "fragment"), [
    ("400", "one wavelength"), ("900-400", "reversed"), ("a-b", "cannot parse"), ("", "cannot parse"),
    ("400-900,", "cannot parse"), ("-5-10", "cannot parse"), ("1" * 400 + "-2", "not a range"),
])
def test_bad_ranges(spec, fragment):
    with pytest.raises(BandSelectionError, match=fragment):
        parse_wavelength_ranges(spec)


def test_bad_range_pairs():
    with pytest.raises(BandSelectionError, match="pairs"):
        parse_wavelength_ranges([(400,)])
    with pytest.raises(BandSelectionError, match="no range"):
        parse_wavelength_ranges([])


def test_select_bands_checks_the_wavelength_list():
    with pytest.raises(BandSelectionError, match="no wavelengths"):
        select_bands(3, None, None, wavelength_ranges="400-900")
    with pytest.raises(BandSelectionError, match="2 entries"):
        select_bands(3, None, None, wavelengths=[400, 500], wavelength_ranges="400-900")
    with pytest.raises(BandSelectionError, match="no band left"):
        select_bands(3, None, [False, True, True], wavelengths=[400, 500, 600], wavelength_ranges="390-410")


# ---------------------------------------------------------------------------------- CLI

def test_info_shows_count_and_span(envi_um):
    text = run("info", envi_um)
    assert text.exit_code == 0, text.output
    assert "wavelengths    7 bands, 400-2400 nm" in text.stdout
    shown = json.loads(run("info", envi_um, "--json").stdout)
    assert shown["wavelengths_nm"] == [nm for i, nm in enumerate(NM) if i != 1]


def test_info_without_wavelengths(small_tif):
    assert "wavelengths    none" in run("info", small_tif).stdout


def test_detect_by_wavelength_equals_detect_by_bands(envi_um, tmp_path):
    by_nm = run("detect", envi_um, "-o", tmp_path / "nm.tif", "--detector", "grx", "-q",
                "--wavelengths", "400-1340,1450-1790", "--report", tmp_path / "nm.json")
    assert by_nm.exit_code == 0, by_nm.output
    by_band = run("detect", envi_um, "-o", tmp_path / "b.tif", "--detector", "grx", "-q", "--bands", "1,3-4,6-7")
    assert by_band.exit_code == 0, by_band.output
    with rasterio.open(tmp_path / "nm.tif") as a, rasterio.open(tmp_path / "b.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    report = json.loads((tmp_path / "nm.json").read_text())
    assert report["scene"]["bands"] == 5
    assert report["band_selection"] == {"wavelengths_nm": "400-1340,1450-1790", "bands": "1,3-4,6-7"}


def test_detect_without_wavelengths_is_a_one_line_error(small_tif, tmp_path):
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--wavelengths", "400-900")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "no wavelengths" in result.stderr
    assert result.stderr.startswith("Error:") and not (tmp_path / "m.tif").exists()


def test_detect_bad_range_syntax_is_a_usage_error(small_tif, tmp_path):
    result = run("detect", small_tif, "-o", tmp_path / "m.tif", "--wavelengths", "900-400")
    assert result.exit_code == 2 and "reversed" in result.stderr


# ---------------------------------------------------------------------------- properties

wavelength_lists = st.lists(st.floats(300, 2600, allow_nan=False).map(lambda v: round(v, 3)), min_size=1, max_size=60)
range_lists = st.lists(st.tuples(st.floats(250, 2700), st.floats(0, 800)).map(lambda t: (t[0], t[0] + t[1])),
                       min_size=1, max_size=5)


@PROPERTY
@given(wavelength_lists, range_lists)
def test_selection_is_exactly_the_bands_inside_some_range(wavelengths, ranges):
    chosen = bands_in_wavelength_ranges(wavelengths, ranges)
    assert chosen == sorted(set(chosen)) and all(1 <= b <= len(wavelengths) for b in chosen)
    for band, nm in enumerate(wavelengths, 1):
        assert (band in chosen) == any(low <= nm <= high for low, high in ranges)


@PROPERTY
@given(wavelength_lists, range_lists, st.randoms())
def test_selection_is_the_union_of_its_ranges_in_any_order(wavelengths, ranges, random):
    union = sorted({b for r in ranges for b in bands_in_wavelength_ranges(wavelengths, [r])})
    shuffled = list(ranges)
    random.shuffle(shuffled)
    assert bands_in_wavelength_ranges(wavelengths, ranges) == union == bands_in_wavelength_ranges(wavelengths, shuffled)


@PROPERTY
@given(wavelength_lists, range_lists, st.floats(0, 100), st.floats(0, 100))
def test_widening_a_range_never_drops_a_band(wavelengths, ranges, below, above):
    wider = [(max(0.0, low - below), high + above) for low, high in ranges]
    assert set(bands_in_wavelength_ranges(wavelengths, ranges)) <= set(bands_in_wavelength_ranges(wavelengths, wider))


@PROPERTY
@given(range_lists)
def test_ranges_written_out_are_read_back(ranges):
    spec = ",".join(f"{low!r}-{high!r}" for low, high in ranges)
    assert parse_wavelength_ranges(spec) == ranges


@PROPERTY
@given(st.one_of(st.text(alphabet="0123456789.-, ", max_size=20), st.text(max_size=20)))
def test_any_text_is_ranges_or_a_band_selection_error(text):
    try:
        ranges = parse_wavelength_ranges(text)
    except BandSelectionError as exc:
        assert "\n" not in str(exc)
    else:
        assert ranges and all(0 <= low <= high for low, high in ranges)


@PROPERTY
@given(st.integers(250, 2600))
def test_micrometres_convert_to_exact_nanometres(nm):
    """A header's 1.34 um is 1340 nm exactly, so an inclusive range ending at 1340 keeps it."""
    (converted,) = wavelengths_to_nm([str(nm / 1000)], "um")
    assert converted == nm
    assert bands_in_wavelength_ranges([converted], [(nm, nm)]) == [1]


@PROPERTY
@given(st.lists(st.integers(1, 300), max_size=40))
def test_band_spec_written_out_is_read_back(bands):
    spec = format_band_spec(bands)
    assert (parse_band_spec(spec, 300) if spec else []) == sorted(set(bands))
