"""Area openings and closings: their definition, the halo that makes them exact on a tile, and their extra."""

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("skimage", reason="the area filters need scikit-image (extra 'area')")
from scipy.ndimage import label  # noqa: E402  (scikit-image needs SciPy)

from hadinfer.errors import MissingDependencyError  # noqa: E402
from hadinfer.kernels.area_profile import area_differential, area_opening, area_profile  # noqa: E402
from .max_tree_paths import max_tree_paths  # noqa: E402


def opening_by_definition(image: np.ndarray, area: int) -> np.ndarray:
    """Each pixel's area opening from the definition: the highest level at which the 4-connected
    region of ``image >= level`` holding it has at least ``area`` pixels (the image's minimum if none)."""
    out = np.full(image.shape, image.min())
    for level in np.unique(image):
        regions, _ = label(image >= level)  # 4-connectivity
        sizes = np.bincount(regions.ravel())
        large = (regions > 0) & (sizes[regions] >= area)
        out[large] = np.maximum(out[large], level)
    return out


@pytest.mark.parametrize("compiled", max_tree_paths(), ids=lambda c: "compiled" if c else "scikit-image")
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), area=st.integers(2, 12), levels=st.integers(2, 6),
       shape=st.tuples(st.integers(1, 11), st.integers(1, 11)))
def test_the_differential_is_the_openings_and_closings_definition(compiled, seed, area, levels, shape):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, levels, size=shape).astype(np.float64)
    got = area_differential(image, area, compiled)
    if image.size < area:  # scikit-image's rule: nothing of an image smaller than the area is kept
        assert not got.any()
        return
    expected = (image - opening_by_definition(image, area)) + (-opening_by_definition(-image, area) - image)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(max_tree_paths() == [False], reason="the compiled max-tree needs Numba (extra 'fast')")
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), area=st.integers(1, 90), shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
       ties=st.booleans())
def test_the_compiled_max_tree_gives_scikit_images_bits(seed, area, shape, ties):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 5, size=shape).astype(np.float64) if ties else rng.normal(size=shape)
    assert area_opening(image, area, compiled=True).tobytes() == area_opening(image, area).tobytes()
    # The compiled differential sorts once for the opening and the closing.
    assert area_differential(image, area, compiled=True).tobytes() == area_differential(image, area).tobytes()


def test_an_object_smaller_than_the_area_stands_out_and_a_larger_one_does_not():
    image = np.zeros((20, 20))
    image[3:5, 3:5] = 2.0     # 4 pixels, bright
    image[10:17, 10:17] = -1.0  # 49 pixels, dark
    small = area_differential(image, 8)
    assert small[3, 3] == 2.0 and small[12, 12] == 0.0 and small.sum() == 8.0
    large = area_differential(image, 64)
    assert large[3, 3] == 2.0 and large[12, 12] == 1.0


@pytest.mark.parametrize("area", [4, 16, 64])
def test_a_window_with_a_halo_of_area_minus_one_gives_the_whole_images_values(area):
    rng = np.random.default_rng(area)
    # Smooth structure of every size plus noise, so regions of many areas cross the window's edges.
    image = np.cumsum(np.cumsum(rng.normal(size=(160, 170)), axis=0), axis=1) / 20 + rng.normal(size=(160, 170))
    whole = area_differential(image, area)
    halo = area - 1
    rows, cols = slice(70, 90), slice(75, 100)
    window = image[rows.start - halo:rows.stop + halo, cols.start - halo:cols.stop + halo]
    core = (slice(halo, halo + 20), slice(halo, halo + 25))
    assert area_differential(window, area)[core].tobytes() == whole[rows, cols].tobytes()
    # A halo too small to hold a whole region gives other values somewhere (the halo is not idle).
    short = image[rows.start - 1:rows.stop + 1, cols.start - 1:cols.stop + 1]
    assert not np.array_equal(area_differential(short, area)[1:21, 1:26], whole[rows, cols])


def test_the_profile_sums_the_components():
    rng = np.random.default_rng(2)
    components = rng.normal(size=(30, 40, 3))
    expected = sum(area_differential(components[:, :, k], 16) for k in range(3))
    np.testing.assert_array_equal(area_profile(components, 16), expected)


def test_without_scikit_image_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.morphology", None)
    expected = r"^area filters need scikit-image: pip install 'hadinfer\[area\]'$"
    with pytest.raises(MissingDependencyError, match=expected):
        area_differential(np.zeros((4, 4)), 4)
