"""Training data for general models: other-sensor views, implanted spectra, consensus labels."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="training needs torch (extra 'train')")

from hadinfer.errors import ParameterError  # noqa: E402
from hadinfer.models.input_policy import InputPolicy  # noqa: E402
from hadinfer.training.corpus import build_corpus, generated_scenes, generated_spectra, implant  # noqa: E402
from hadinfer.training.sensor_augment import augment_sensor, resample_bands  # noqa: E402
from hadinfer.training.synthetic_anomalies import implant_spectra, mean_region_size, region_size  # noqa: E402


def _scene(seed, bands=60, size=40):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(size, size, 3)) @ np.abs(rng.normal(size=(3, bands))) * 10 + 100 \
        + rng.normal(size=(size, size, bands))


def test_resampling_a_linear_spectrum_is_exact():
    spectrum = np.linspace(2.0, 5.0, 101)[None]
    np.testing.assert_allclose(resample_bands(spectrum, 11)[0], np.linspace(2.0, 5.0, 11))


def test_other_sensor_views_change_bands_but_keep_pixels():
    cube = _scene(0)
    rng = np.random.default_rng(1)
    counts = {augment_sensor(cube, rng).shape[2] for _ in range(20)}
    assert len(counts) > 3 and all(c >= 20 for c in counts)
    assert augment_sensor(cube, rng).shape[:2] == cube.shape[:2]
    with pytest.raises(ParameterError, match="bands"):
        augment_sensor(cube[..., :10], rng)


def test_implanted_spectra_are_linear_mixtures_at_sub_pixel_abundance():
    cube = _scene(2)
    foreign = np.linspace(1.0, 3.0, 80)
    out, mask = implant_spectra(cube, np.random.default_rng(3), [foreign], count=5, abundance=(0.2, 0.5))
    assert 5 <= mask.sum() <= 45 and np.array_equal(out[~mask], cube[~mask])
    target = resample_bands(foreign[None], 60)[0]
    for y, x in zip(*np.nonzero(mask)):
        # x' = (1 - a) x + a s c: solve for a and c from two bands, check every band
        d = out[y, x] - cube[y, x]
        coef = np.linalg.lstsq(np.stack([-cube[y, x], target], 1), d, rcond=None)[0]
        np.testing.assert_allclose(np.stack([-cube[y, x], target], 1) @ coef, d, atol=1e-6)
        assert 0.2 * 0.6 - 1e-9 <= coef[0] <= 0.5 + 1e-9


def _mixture_residuals(out, cube, mask, target):
    """How far each implanted pixel is from a linear mix of its own spectrum and ``target``."""
    basis = lambda y, x: np.stack([-cube[y, x], target], 1)  # noqa: E731
    return np.array([np.abs(basis(y, x) @ np.linalg.lstsq(basis(y, x), out[y, x] - cube[y, x], rcond=None)[0]
                            - (out[y, x] - cube[y, x])).max() for y, x in zip(*np.nonzero(mask))])


def test_implants_are_mixtures_shuffles_or_both_as_asked():
    cube, valid = _scene(6, size=80), np.ones((80, 80), bool)
    foreign = np.linspace(1.0, 3.0, 80)
    target = resample_bands(foreign[None], 60)[0]
    out, mask = implant(cube, valid, np.random.default_rng(7), [foreign], kinds="foreign")
    assert mask.sum() >= 10 and np.array_equal(out[~mask], cube[~mask])
    assert _mixture_residuals(out, cube, mask, target).max() < 1e-6
    out, mask = implant(cube, valid, np.random.default_rng(7), [foreign])  # half band-shuffled
    assert (_mixture_residuals(out, cube, mask, target) > 1e-3).sum() >= 2
    out, mask = implant(cube, valid, np.random.default_rng(7), [foreign], kinds="shuffled")
    assert mask.sum() >= 10 and np.array_equal(out[~mask], cube[~mask])
    assert (_mixture_residuals(out, cube, mask, target) > 1e-3).mean() > 0.5
    # each pixel keeps its values, reordered (where two regions overlap it may not)
    kept = (np.sort(out[mask], axis=1) == np.sort(cube[mask], axis=1)).all(axis=1)
    assert kept.mean() > 0.9
    with pytest.raises(ParameterError, match="implants"):
        implant(cube, valid, np.random.default_rng(7), [foreign], kinds="real")


def test_region_sizes_follow_their_law_and_its_stated_mean():
    rng = np.random.default_rng(0)
    for law, largest in (("uniform", 9), ("log-uniform", 64)):
        sizes = np.array([region_size(rng, largest, law) for _ in range(40000)])
        assert sizes.min() == 1 and sizes.max() == largest
        assert abs(sizes.mean() - mean_region_size(largest, law)) < 0.02 * mean_region_size(largest, law)
    logs = np.array([region_size(rng, 64, "log-uniform") for _ in range(40000)])
    # log-uniform: each doubling of the size about as likely (1-2 px against 32-64 px, the top half-bin aside)
    assert 0.8 < np.mean(logs <= 2) / np.mean(logs >= 32) < 1.4
    for unknown in (lambda: region_size(rng, 9, "normal"), lambda: mean_region_size(9, "normal")):
        with pytest.raises(ParameterError, match="sizes"):
            unknown()


def test_larger_implants_come_fewer_so_about_the_same_share_is_implanted():
    cube, valid = _scene(8, size=120), np.ones((120, 120), bool)
    foreign = [np.linspace(1.0, 3.0, 80)]
    shares = {law: np.mean([implant(cube, valid, np.random.default_rng(seed), foreign, **law_args)[1].mean()
                            for seed in range(12)])
              for law, law_args in (("default", {}), ("log64", {"max_size": 64, "sizes": "log-uniform"}))}
    assert 0.7 < shares["log64"] / shares["default"] < 1.3
    default = implant(cube, valid, np.random.default_rng(3), foreign)
    spelled = implant(cube, valid, np.random.default_rng(3), foreign, max_size=9, sizes="uniform")
    assert all(np.array_equal(a, b) for a, b in zip(default, spelled))


def test_corpus_labels_its_implants_and_uses_consensus_of_global_and_local_evidence():
    policy = InputPolicy(4, ((3, 7), (5, 11)), 3)
    scenes = build_corpus({"a": _scene(4), "b": _scene(5, bands=50)}, policy, versions=2, seed=0)
    assert len(scenes) == 4 and all(s.inputs.shape[2] == policy.channels for s in scenes)
    assert all(s.cube is None for s in scenes)
    for s in scenes:
        assert (s.labels == 1).sum() >= 10 and (s.labels == 0).mean() > 0.8
    again = build_corpus({"a": _scene(4), "b": _scene(5, bands=50)}, policy, versions=2, seed=0)
    np.testing.assert_array_equal(scenes[1].inputs, again[1].inputs)  # seeded


def test_generated_spectra_are_positive_and_varied():
    spectra = generated_spectra(np.random.default_rng(0), 10, bands=50)
    assert all(s.shape == (50,) and (s > 0).all() for s in spectra)
    assert np.std([s.mean() for s in spectra]) > 0


def test_students_see_prepared_implants_as_certain_positives():
    from hadinfer.training.trainer import BatchSampler, TrainConfig

    policy = InputPolicy(4, ((3, 7),), 3)
    scenes = build_corpus({"a": _scene(6), "b": _scene(7)}, policy, versions=1, seed=0)
    config = TrainConfig(batch=4, patch=16, entropy_patch=8, synthetic_per_patch=0, lrx_windows=((3, 7),),
                         lrx_components=3, network={**TrainConfig().network, "in_channels": policy.channels})
    _, _, labels, synthetic = BatchSampler(scenes, config, np.random.default_rng(0)).sample()
    assert synthetic.any() and bool((labels[synthetic] == 1).all())


def test_generated_scenes_are_fixed_and_spread_over_band_counts():
    scenes = generated_scenes(3)
    assert [cube.shape for cube in scenes.values()] == [(128, 128, 64), (128, 128, 101), (128, 128, 138)]
    assert all(np.isfinite(cube).all() and cube.max() > 100 for cube in scenes.values())  # radiance-like scale
    np.testing.assert_array_equal(scenes["generated-0-64b"], generated_scenes(1)["generated-0-64b"])
