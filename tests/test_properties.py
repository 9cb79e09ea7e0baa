"""Property-based tests (Hypothesis) for the option parsers and the tiler.

Parsers: any text gives either a valid value or the parser's own one-line error (never
another exception), and every valid value written out is read back unchanged.
Tiling: any grid over any image, tile size and halo covers every pixel exactly once by
the cores; each read window stays inside the image and is the core plus the halo,
clipped at the border.
"""

import click
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis (extra 'test')")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from hadinfer.cli.options import WindowType  # noqa: E402
from hadinfer.cli.synth import _SizeType  # noqa: E402
from hadinfer.errors import BandSelectionError, ParameterError  # noqa: E402
from hadinfer.io.bands import parse_band_spec  # noqa: E402
from hadinfer.tiling import aligned_tile_shape, count_tiles, tile_windows  # noqa: E402

# deadline=None: the suite shares a busy machine, and no example here is slow by design.
PROPERTY = settings(max_examples=200, deadline=None)

# Text that looks like what people type, plus anything at all.
spec_text = st.one_of(st.text(alphabet="0123456789-, x", max_size=20), st.text(max_size=20))


# ---------------------------------------------------------------- --bands

@st.composite
def band_selections(draw):
    """(count, spec, the bands it names): comma-separated singles and ranges, with spaces."""
    count = draw(st.integers(1, 500))
    parts, expected = [], set()
    for _ in range(draw(st.integers(1, 6))):
        first = draw(st.integers(1, count))
        last = draw(st.integers(first, count))
        pad = draw(st.sampled_from(["", " ", "  "]))
        if first == last and draw(st.booleans()):
            parts.append(f"{pad}{first}{pad}")
        else:
            parts.append(f"{pad}{first}{pad}-{pad}{last}{pad}")
        expected.update(range(first, last + 1))
    return count, ",".join(parts), sorted(expected)


@PROPERTY
@given(band_selections())
def test_band_spec_names_exactly_its_bands(selection):
    count, spec, expected = selection
    assert parse_band_spec(spec, count) == expected


@PROPERTY
@given(spec_text, st.integers(1, 300))
def test_band_spec_is_valid_bands_or_a_band_selection_error(spec, count):
    try:
        bands = parse_band_spec(spec, count)
    except BandSelectionError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("--bands:")
        return
    assert bands == sorted(set(bands)) and bands and all(1 <= b <= count for b in bands)


@PROPERTY
@given(st.integers(1, 100), st.integers(1, 10**6), st.integers(0, 10**6))
def test_band_outside_the_raster_is_refused(count, first, extra):
    spec = f"{first}-{first + extra}"
    if first + extra <= count:
        assert parse_band_spec(spec, count) == list(range(first, first + extra + 1))
    else:
        with pytest.raises(BandSelectionError, match="outside the raster's bands"):
            parse_band_spec(spec, count)


def test_band_number_with_thousands_of_digits_is_a_band_selection_error():
    with pytest.raises(BandSelectionError, match="outside the raster's bands 1-10"):
        parse_band_spec("1" * 5000, 10)


# ---------------------------------------------------------------- --window and --size

odd = st.integers(0, 500).map(lambda k: 2 * k + 1)


@PROPERTY
@given(odd, odd, st.sampled_from(["", " "]))
def test_window_accepts_exactly_odd_widths_with_inner_below_outer(inner, outer, pad):
    text = f"{pad}{inner}{pad},{pad}{outer}{pad}"
    if inner < outer:
        assert WindowType().convert(text, None, None) == (inner, outer)
    else:
        with pytest.raises(click.BadParameter, match="inner < outer"):
            WindowType().convert(text, None, None)


@PROPERTY
@given(st.integers(-50, 50), st.integers(-50, 50))
def test_window_refuses_even_or_non_positive_widths(inner, outer):
    valid = inner >= 1 and outer >= 1 and inner % 2 == 1 and outer % 2 == 1 and inner < outer
    if valid:
        assert WindowType().convert(f"{inner},{outer}", None, None) == (inner, outer)
    else:
        with pytest.raises(click.BadParameter):
            WindowType().convert(f"{inner},{outer}", None, None)


@PROPERTY
@given(spec_text)
def test_window_is_a_valid_pair_or_a_usage_error(text):
    try:
        inner, outer = WindowType().convert(text, None, None)
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()
        return
    assert 1 <= inner < outer and inner % 2 == 1 and outer % 2 == 1


@PROPERTY
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.sampled_from(["x", "X"]))
def test_size_reads_rows_by_cols(rows, cols, sep):
    assert _SizeType().convert(f"{rows}{sep}{cols}", None, None) == (rows, cols)


@PROPERTY
@given(spec_text)
def test_size_is_a_positive_pair_or_a_usage_error(text):
    try:
        rows, cols = _SizeType().convert(text, None, None)
    except click.BadParameter as exc:
        assert "\n" not in exc.format_message()
        return
    assert rows >= 1 and cols >= 1


# ---------------------------------------------------------------- tiling

sizes = st.integers(1, 120)
tile_sizes = st.one_of(st.integers(1, 150), st.tuples(st.integers(1, 150), st.integers(1, 150)))


@PROPERTY
@given(sizes, sizes, tile_sizes, st.integers(0, 60))
def test_tile_cores_cover_every_pixel_exactly_once(rows, cols, tile, halo):
    tiles = tile_windows((rows, cols), tile, halo=halo)
    hits = np.zeros((rows, cols), dtype=np.int32)
    for t in tiles:
        hits[t.core.toslices()] += 1
    assert (hits == 1).all()
    assert len(tiles) == count_tiles((rows, cols), tile if isinstance(tile, tuple) else (tile, tile))
    assert tiles == sorted(tiles, key=lambda t: (t.core.row_off, t.core.col_off))  # row-major


@PROPERTY
@given(sizes, sizes, tile_sizes, st.integers(0, 60))
def test_read_windows_are_the_core_plus_the_halo_clipped_to_the_image(rows, cols, tile, halo):
    tile_rows, tile_cols = tile if isinstance(tile, tuple) else (tile, tile)
    for t in tile_windows((rows, cols), tile, halo=halo):
        core, read = t.core, t.read
        assert all(isinstance(v, int) for v in (*core.flatten(), *read.flatten()))
        assert 1 <= core.height <= tile_rows and 1 <= core.width <= tile_cols
        assert 0 <= read.row_off and read.row_off + read.height <= rows
        assert 0 <= read.col_off and read.col_off + read.width <= cols
        assert read.row_off == max(0, core.row_off - halo)
        assert read.col_off == max(0, core.col_off - halo)
        assert read.row_off + read.height == min(rows, core.row_off + core.height + halo)
        assert read.col_off + read.width == min(cols, core.col_off + core.width + halo)
        image = np.arange(rows * cols).reshape(rows, cols)
        np.testing.assert_array_equal(image[read.toslices()][t.core_in_read], image[core.toslices()])


@PROPERTY
@given(st.integers(-3, 5), st.integers(-3, 5), st.one_of(st.integers(-3, 5), st.floats(0, 5), st.none()),
       st.integers(-3, 3))
def test_tiling_is_valid_tiles_or_a_parameter_error(rows, cols, tile, halo):
    try:
        tiles = tile_windows((rows, cols), tile, halo=halo)
    except ParameterError as exc:
        assert "\n" not in str(exc)
        return
    assert rows >= 1 and cols >= 1 and halo >= 0 and sum(t.pixels for t in tiles) == rows * cols


@PROPERTY
@given(st.integers(1, 5000), st.integers(1, 5000), st.integers(1, 1000), st.integers(1, 1000),
       st.integers(1, 1024), st.integers(1, 1024))
def test_aligned_tiles_are_whole_blocks_within_the_image(rows, cols, tile_rows, tile_cols, block_rows, block_cols):
    out = aligned_tile_shape((tile_rows, tile_cols), (rows, cols), (block_rows, block_cols))
    for size, requested, image, block in zip(out, (tile_rows, tile_cols), (rows, cols), (block_rows, block_cols)):
        assert 1 <= size <= image
        assert size >= min(requested, image)  # never smaller than asked, unless the image is
        if 1 < block < image and size < image:
            assert size % block == 0  # no file block decoded by two tiles
