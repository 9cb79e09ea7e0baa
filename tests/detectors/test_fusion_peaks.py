"""``fusion-peaks``: its definition, what it adds to ``fusion``, its halo, parameters and registration."""

import numpy as np
import pytest

pytest.importorskip("skimage", reason="fusion-peaks needs scikit-image (extra 'area')")

import hadinfer  # noqa: E402
from hadinfer.detectors import FusionRX, make_detector, registered  # noqa: E402
from hadinfer.detectors.fusion_peaks import DEFAULT_PEAK_AREA, FusionPeaks  # noqa: E402
from hadinfer.errors import ParameterError  # noqa: E402
from hadinfer.kernels.area_profile import area_opening  # noqa: E402


def _scene(size=(60, 64), seed=5):
    """Three materials in large patches and noise, as ``fusion-area``'s tests."""
    rng = np.random.default_rng(seed)
    materials = rng.normal(size=(3, 12)) * 30 + 400
    patch = (np.arange(size[0])[:, None] // 20 + np.arange(size[1])[None, :] // 16) % 3
    return materials, materials[patch] + rng.normal(size=size + (12,)) * 3


def test_the_map_is_fusion_over_the_root_of_its_area_opening():
    _, cube = _scene()
    got = FusionPeaks(windows=((3, 9),), n_components=4, area=16).fit_score(cube).astype(np.float64)
    fused = FusionRX(windows=((3, 9),), n_components=4).fit_score(cube).astype(np.float64)
    np.testing.assert_allclose(got, fused / np.sqrt(area_opening(fused, 16)), rtol=1e-6)


def test_a_small_target_rises_above_a_field_of_an_odd_material():
    # A 12 x 12 field of a foreign material lifts fusion's map as a whole (its edge pixels score
    # high), a 2 x 2 target of another spectrum less: the opening keeps the field's level and
    # flattens the target's, so fewer of the field's pixels outrank the target.
    materials, cube = _scene(seed=0)
    rng = np.random.default_rng(0)
    cube[5:17, 30:42] = materials[0] + rng.normal(size=12) * 60 + rng.normal(size=(12, 12, 12)) * 3
    cube[40:42, 50:52] += 0.2 * rng.normal(size=12) * 30
    fused = FusionRX(windows=((3, 9),), n_components=4).fit_score(cube)
    peaks = FusionPeaks(windows=((3, 9),), n_components=4, area=16).fit_score(cube)

    def above(scores, where):  # the fraction of ``where`` scoring above the target's weakest pixel
        return (scores[where] > scores[40:42, 50:52].min()).mean()

    field = (slice(5, 17), slice(30, 42))
    assert above(fused, field) > 0.08 and above(peaks, field) < above(fused, field) / 2
    assert above(peaks, np.s_[:, :]) < above(fused, np.s_[:, :])


def test_the_halo_is_fusions_plus_the_area_less_one():
    assert FusionPeaks().halo == 20 + DEFAULT_PEAK_AREA - 1
    assert FusionPeaks(windows=((3, 9),), area=16).halo == 4 + 15


def test_tiles_smaller_than_the_halo_give_the_whole_scenes_map_and_nodata_stays_nodata():
    _, cube = _scene((90, 70))
    cube[0:2, 0:3] = np.nan
    cube[50:52, 20:60] = np.nan  # a strip of nodata that cuts regions of the map
    whole = hadinfer.detect(cube, detector="fusion-peaks", device="cpu", tile_size=4096).scores
    tiled = hadinfer.detect(cube, detector="fusion-peaks", device="cpu", tile_size=16).scores
    assert tiled.tobytes() == whole.tobytes()
    assert np.isnan(whole[0:2, 0:3]).all() and np.isfinite(whole).sum() == 90 * 70 - 6 - 80


@pytest.mark.parametrize("area", [1, 2.5, 64.0, "64", float("nan"), float("inf"), None, True])
def test_a_bad_area_is_refused_before_any_pass(area):
    with pytest.raises(ParameterError, match="area"):
        make_detector("fusion-peaks", area=area)


def test_registered_with_its_extra_and_its_parameters_in_the_provenance():
    entry = registered()["fusion-peaks"]
    assert entry.extra == "area" and entry.modules == ("skimage",) and not entry.needs_scene
    params = make_detector("fusion-peaks").params()
    assert params["area"] == 64 and params["n_components"] == 10 and params["windows"] == [[5, 15], [11, 41]]
