"""Small peaks of an anomaly map: the score's definition, nodata, scale and the tile halo."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("skimage", reason="the area filters need scikit-image (extra 'area')")
from scipy.ndimage import label  # noqa: E402  (scikit-image needs SciPy)

from hadinfer.kernels.map_peaks import peak_score  # noqa: E402
from .max_tree_paths import max_tree_paths  # noqa: E402


def peaks_by_definition(scores: np.ndarray, area: int) -> np.ndarray:
    """``f / sqrt(g)``, with ``g`` at each scored pixel the highest level at which the 4-connected region
    of scored pixels ``>= level`` holding it has at least ``area`` pixels (``f`` itself if there is none)."""
    scored = np.isfinite(scores)
    opening = np.full(scores.shape, -np.inf)
    for level in np.unique(scores[scored]):
        regions, _ = label(scored & (scores >= level))  # 4-connectivity
        sizes = np.bincount(regions.ravel())
        large = (regions > 0) & (sizes[regions] >= area)
        opening[large] = np.maximum(opening[large], level)
    opening = np.where(np.isfinite(opening), opening, scores)
    with np.errstate(invalid="ignore"):
        return np.where(scored, scores / np.sqrt(opening), np.nan)


@pytest.mark.parametrize("compiled", max_tree_paths(), ids=lambda c: "compiled" if c else "scikit-image")
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), area=st.integers(2, 12), levels=st.integers(2, 6),
       shape=st.tuples(st.integers(1, 11), st.integers(1, 11)), nodata=st.sampled_from([0.0, 0.1, 0.4]))
def test_the_score_is_its_definition_with_nodata_joining_no_region(compiled, seed, area, levels, shape, nodata):
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, levels + 1, size=shape).astype(np.float64)
    scores[rng.random(shape) < nodata] = np.nan
    np.testing.assert_allclose(peak_score(scores, area, compiled), peaks_by_definition(scores, area), rtol=1e-15)


def test_a_small_peak_rises_and_a_large_lifted_region_keeps_the_root_of_its_score():
    scores = np.ones((20, 20))
    scores[5, 5] = 4.0           # one pixel: prominence 4, score 4
    scores[10:19, 10:19] = 3.0   # 81 pixels, more than the area: prominence 1, score sqrt(3)
    got = peak_score(scores, 16)
    assert got[5, 5] == 4.0 and got[12, 12] == pytest.approx(np.sqrt(3.0), rel=1e-15) and got[0, 0] == 1.0


def test_scaling_the_map_scales_the_score_by_its_root():
    rng = np.random.default_rng(1)
    scores = np.exp(rng.normal(size=(30, 40)))
    np.testing.assert_allclose(peak_score(9.0 * scores, 8), 3.0 * peak_score(scores, 8), rtol=1e-12)


def test_an_image_smaller_than_the_area_has_no_prominence():
    scores = np.array([[1.0, 4.0], [np.nan, 9.0]])
    np.testing.assert_array_equal(peak_score(scores, 16), [[1.0, 2.0], [np.nan, 3.0]])


@pytest.mark.parametrize("area", [4, 32])
def test_a_window_reaching_area_minus_one_beyond_a_core_gives_the_whole_maps_values(area):
    rng = np.random.default_rng(area)
    walk = np.cumsum(np.cumsum(rng.normal(size=(120, 130)), axis=0), axis=1)
    scores = np.exp(walk / 40 + rng.normal(size=(120, 130)))
    scores[50:53, 60:90] = np.nan
    whole = peak_score(scores, area)
    halo = area - 1
    rows, cols = slice(45, 65), slice(55, 80)
    window = scores[rows.start - halo:rows.stop + halo, cols.start - halo:cols.stop + halo]
    core = (slice(halo, halo + 20), slice(halo, halo + 25))
    assert peak_score(window, area)[core].tobytes() == whole[rows, cols].tobytes()
