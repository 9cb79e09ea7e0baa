"""``fusion-area``: its definition, what it adds to ``fusion``, its halo, parameters and registration."""

import numpy as np
import pytest

pytest.importorskip("skimage", reason="fusion-area needs scikit-image (extra 'area')")

import hadinfer  # noqa: E402
from hadinfer.detectors import FusionRX, make_detector, registered  # noqa: E402
from hadinfer.detectors.fusion_area import AREA_OFFSET, DEFAULT_AREA, FusionArea  # noqa: E402
from hadinfer.errors import ParameterError  # noqa: E402
from hadinfer.kernels.area_profile import area_profile  # noqa: E402
from hadinfer.kernels.statistics import BackgroundStats  # noqa: E402
from hadinfer.kernels.whitening import pca_whitening  # noqa: E402


def _scene(size=(60, 64)):
    """Three materials in large patches, noise, and two anomalies of one spectrum: one pixel and a 3 x 3 object."""
    rng = np.random.default_rng(5)
    materials = rng.normal(size=(3, 12)) * 30 + 400
    patch = (np.arange(size[0])[:, None] // 20 + np.arange(size[1])[None, :] // 16) % 3
    cube = materials[patch] + rng.normal(size=size + (12,)) * 3
    target = materials[0] + np.linspace(-25, 25, 12)
    cube[10, 50] = target
    cube[40:43, 8:11] = target
    return cube


def test_the_map_is_the_geometric_mean_of_fusion_and_the_area_profile_plus_its_offset():
    cube = _scene()
    got = FusionArea(windows=((3, 9),), n_components=4).fit_score(cube)
    fused = FusionRX(windows=((3, 9),), n_components=4).fit_score(cube).astype(np.float64)
    centre, projection = pca_whitening(BackgroundStats(12).update(cube.reshape(-1, 12)), 3)
    components = ((cube.reshape(-1, 12) - centre) @ projection).reshape(cube.shape[:2] + (3,))
    expected = np.sqrt(fused * (area_profile(components, DEFAULT_AREA) + AREA_OFFSET))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


@pytest.mark.parametrize("seed", [0, 3])
def test_an_object_wider_than_the_guard_window_ranks_far_higher_than_under_fusion_alone(seed):
    # 6 x 6 pixels of a mixture of two background materials inside a patch of the third: it
    # fills its own local ring (inner window 3), and its spectrum is no rarity to global RX.
    rng = np.random.default_rng(seed)
    materials = rng.normal(size=(3, 12)) * 30 + 400
    patch = (np.arange(60)[:, None] // 20 + np.arange(64)[None, :] // 16) % 3
    cube = materials[patch] + rng.normal(size=(60, 64, 12)) * 3
    cube[25:31, 20:26] = (materials[0] + materials[1]) / 2 + rng.normal(size=(6, 6, 12)) * 3

    def outranked(scores):  # the fraction of the scene below the object's median pixel
        return (scores < np.median(scores[25:31, 20:26])).mean()

    fused = outranked(FusionRX(windows=((3, 9),), n_components=4).fit_score(cube))
    with_area = outranked(FusionArea(windows=((3, 9),), n_components=4).fit_score(cube))
    assert fused < 0.7 and with_area > 0.85


def test_the_halo_covers_the_area_and_the_widest_window():
    assert FusionArea().halo == DEFAULT_AREA - 1
    assert FusionArea(windows=((5, 151),), area=16).halo == 75


def test_tiles_smaller_than_the_halo_give_the_whole_scenes_map_and_nodata_stays_nodata():
    cube = _scene((90, 70))
    cube[0:2, 0:3] = np.nan
    whole = hadinfer.detect(cube, detector="fusion-area", device="cpu", tile_size=4096).scores
    tiled = hadinfer.detect(cube, detector="fusion-area", device="cpu", tile_size=16).scores
    assert tiled.tobytes() == whole.tobytes()
    assert np.isnan(whole[0:2, 0:3]).all() and np.isfinite(whole).sum() == 90 * 70 - 6


def test_the_weight_sets_the_geometric_means_exponents():
    cube = _scene()
    half = FusionArea(windows=((3, 9),), n_components=4).fit_score(cube).astype(np.float64)
    fifth = FusionArea(windows=((3, 9),), n_components=4, weight=0.2).fit_score(cube).astype(np.float64)
    fused = FusionRX(windows=((3, 9),), n_components=4).fit_score(cube).astype(np.float64)
    evidence = half ** 2 / fused  # A + c, from the default's square root of the product
    np.testing.assert_allclose(fifth, fused ** 0.8 * evidence ** 0.2, rtol=1e-5)


@pytest.mark.parametrize("params, message", [({"area": 1}, "area"), ({"area": 2.5}, "area"),
                                             ({"area": float("nan")}, "area"), ({"offset": 0.0}, "offset"),
                                             ({"offset": float("nan")}, "offset"),
                                             ({"weight": 0.0}, "weight"), ({"weight": 1.0}, "weight"),
                                             ({"weight": float("nan")}, "weight")])
def test_bad_parameters_are_refused_before_any_pass(params, message):
    with pytest.raises(ParameterError, match=message):
        make_detector("fusion-area", **params)


def test_registered_with_its_extra_and_its_parameters_in_the_provenance():
    entry = registered()["fusion-area"]
    assert entry.extra == "area" and entry.modules == ("skimage",) and not entry.needs_scene
    params = make_detector("fusion-area").params()
    assert params["area"] == 64 and params["offset"] == 0.6 and params["weight"] == 0.5 and params["n_components"] == 10
