"""Background feature learning: the differentiable RX, the loss, and that training helps RX."""

import numpy as np
import pytest

import hadinfer
from hadinfer.errors import ParameterError
from hadinfer.synthetic import make_cube

torch = pytest.importorskip("torch", reason="training needs torch (extra 'train')")

from hadinfer.training.feature_learning import (FeatureRecipe, FeatureScene, canonical_pixels,  # noqa: E402
                                                feature_corpus, loss_by_source, pairwise_auc_loss, rx_scores,
                                                train_feature_net)

TINY = FeatureRecipe(steps=60, versions=2, width=16, features=6, depth=1)


def test_differentiable_rx_is_global_rx():
    pixels = np.random.default_rng(0).normal(size=(300, 5)) @ np.diag([1, 2, 3, 4, 5.0])
    ours = rx_scores(torch.from_numpy(pixels), ridge=0.0).numpy()
    reference = hadinfer.GlobalRX(precision="float64").fit_score(pixels[:, None, :])[:, 0]
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_pairwise_loss_falls_as_implants_outrank_background():
    positive = np.zeros(1000, dtype=bool)
    positive[:10] = True
    rng = np.random.default_rng(0)
    base = torch.ones(1000)
    ranked = torch.where(torch.from_numpy(positive), 50.0, 1.0)
    assert pairwise_auc_loss(ranked, torch.from_numpy(positive), rng) < pairwise_auc_loss(base, torch.from_numpy(
        positive), rng)


def test_corpus_implants_about_one_percent_and_never_reads_a_mask():
    cube, truth = make_cube(40, 40, 30, seed=1)
    scenes = feature_corpus({"a": cube, "b": cube[::-1] * 2}, TINY, seed=0)
    assert len(scenes) == 4 and all(s.pixels.shape == (1600, 64) for s in scenes)
    fractions = [s.implanted.mean() for s in scenes]
    assert all(0.002 < f < 0.05 for f in fractions)
    assert not any(np.array_equal(s.implanted, truth.ravel().astype(bool)) for s in scenes)


def test_the_recipe_chooses_the_implants():
    cube, _ = make_cube(40, 40, 30, seed=1)
    sources = {"a": cube, "b": cube[::-1] * 2}
    mixed = feature_corpus(sources, TINY, seed=0)
    foreign = feature_corpus(sources, FeatureRecipe(**{**TINY.__dict__, "implants": "foreign"}), seed=0)
    assert all(0.002 < s.implanted.mean() < 0.05 for s in foreign)
    assert not all(np.array_equal(m.pixels, f.pixels) for m, f in zip(mixed, foreign))


def test_a_training_file_with_uneven_wavelengths_is_resampled_evenly_first(tmp_path):
    import rasterio

    from hadinfer.models.canonical_spectra import band_positions, resample_matrix

    from ..conftest import write_geotiff

    cube, _ = make_cube(40, 40, 30, seed=1)
    cube = cube.astype(np.float32).astype(np.float64)  # what the GeoTIFF holds
    sources = {"a": write_geotiff(tmp_path / "a.tif", cube.astype(np.float32)), "b": cube[::-1] * 2}
    uneven = 400.0 + 3.0 * np.arange(30) ** 1.5

    def tag(centres):
        with rasterio.open(sources["a"], "r+") as ds:
            for band, nm in enumerate(centres, 1):
                ds.update_tags(band, wavelength=repr(float(nm)), wavelength_units="nm")

    as_file = feature_corpus(sources, TINY, seed=0)  # no wavelengths: the file as it is
    as_array = feature_corpus({"a": cube, "b": sources["b"]}, TINY, seed=0)
    assert all(np.array_equal(f.pixels, a.pixels) for f, a in zip(as_file, as_array))
    tag(np.linspace(400.0, 1000.0, 30))  # evenly spaced: nothing changes, to the bit
    assert all(np.array_equal(f.pixels, a.pixels) for f, a in zip(feature_corpus(sources, TINY, seed=0), as_array))
    tag(uneven)
    resampled = cube @ resample_matrix(30, 30, band_positions(uneven))
    expected = feature_corpus({"a": resampled, "b": sources["b"]}, TINY, seed=0)
    got = feature_corpus(sources, TINY, seed=0)
    for g, e in zip(got, expected):  # the same arithmetic; the file's band-major layout may round the product apart
        np.testing.assert_allclose(g.pixels, e.pixels, atol=1e-4)
        assert np.array_equal(g.implanted, e.implanted)
    assert np.abs(got[0].pixels - as_array[0].pixels).max() > 0.1


def test_a_training_file_listing_its_bands_downwards_is_turned_upwards():
    from hadinfer.models.canonical_spectra import band_positions, resample_matrix
    from hadinfer.training.feature_learning import evenly_sampled

    cube, _ = make_cube(20, 20, 30, seed=2)
    centres = np.linspace(400.0, 1000.0, 30)
    np.testing.assert_allclose(evenly_sampled(cube[:, :, ::-1], centres[::-1]), cube, atol=1e-9)
    uneven = 400.0 + 3.0 * np.arange(30) ** 1.5
    np.testing.assert_allclose(evenly_sampled(cube[:, :, ::-1], uneven[::-1]),
                               cube @ resample_matrix(30, 30, band_positions(uneven)), atol=1e-9)


def test_canonical_pixels_take_any_band_count():
    for bands in (3, 64, 200):
        cube = np.random.default_rng(bands).normal(size=(10, 10, bands))
        out = canonical_pixels(cube, np.ones((10, 10), bool))
        assert out.shape == (100, 64) and out.dtype == np.float32
        np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)


def test_training_is_seeded_and_raises_implants_under_rx():
    cube, _ = make_cube(48, 48, 40, seed=3)
    scenes = feature_corpus({"s": cube, "t": np.ascontiguousarray(cube[:, ::-1])}, TINY, seed=0)
    net, report = train_feature_net(scenes, TINY, seed=0)
    again, _ = train_feature_net(scenes, TINY, seed=0)
    for a, b in zip(net.parameters(), again.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert report["recipe"]["steps"] == 60 and len(report["scenes"]) == 4
    by_source = report["loss_by_source"]
    assert set(by_source) == {"s", "t"} and sum(v["steps"] for v in by_source.values()) == 60


def test_loss_by_source_splits_each_scene_at_the_middle_step():
    losses, sources = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], ["a", "b", "a", "a", "b", "b"]
    got = loss_by_source(losses, sources)
    assert got == {"a": {"steps": 3, "first_half": 2.0, "second_half": 4.0},
                   "b": {"steps": 3, "first_half": 2.0, "second_half": 5.5}}


def implant_auc(net, scene):
    with torch.no_grad():
        scores = rx_scores(net.embed(torch.from_numpy(scene.pixels)).double()).numpy()
    pos, neg = scores[scene.implanted], scores[~scene.implanted]
    return (pos[:, None] > neg[None, :]).mean()


def test_training_raises_implants_under_rx_on_an_unseen_view():
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    recipe = FeatureRecipe(steps=300, versions=2, width=16, features=4, depth=1)
    cube, _ = make_cube(48, 48, 40, seed=3)
    train = feature_corpus({"s": cube, "t": np.ascontiguousarray(cube[:, ::-1])}, recipe, seed=0)
    test = feature_corpus({"u": np.ascontiguousarray(cube[::-1])}, recipe, seed=5)[0]
    net, report = train_feature_net(train, recipe, seed=0)
    torch.manual_seed(0)  # the same initialisation, untrained
    untrained = SpectralFeatureNet(FeatureNetConfig(width=16, features=4, depth=1)).eval()
    assert report["loss_last_100"] < report["loss_first_100"]
    assert implant_auc(net, test) > implant_auc(untrained, test)


def test_training_refuses_scenes_without_implants():
    scene = FeatureScene("empty", np.zeros((50, 64), np.float32), np.zeros(50, bool))
    with pytest.raises(ParameterError, match="implants"):
        train_feature_net([scene], TINY)


def trained_and_untrained(objective: str, steps: int):
    """A small network trained with ``objective`` on two views of a cube, the same network
    untrained, the training report, and a third view with its own implants to score them on."""
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    recipe = FeatureRecipe(steps=steps, versions=2, width=16, features=4, depth=1, objective=objective)
    cube, _ = make_cube(48, 48, 40, seed=3)
    train = feature_corpus({"s": cube, "t": np.ascontiguousarray(cube[:, ::-1])}, recipe, seed=0)
    test = feature_corpus({"u": np.ascontiguousarray(cube[::-1])}, recipe, seed=5)[0]
    net, report = train_feature_net(train, recipe, seed=0)
    torch.manual_seed(0)  # the same initialisation, untrained
    untrained = SpectralFeatureNet(FeatureNetConfig(width=16, features=4, depth=1)).eval()
    assert report["recipe"]["objective"] == objective and report["loss_last_100"] < report["loss_first_100"]
    return net, untrained, test


def implants_outrank(scores, implanted):
    """The fraction of (implant, background) pairs the scores order correctly."""
    return (scores[implanted][:, None] > scores[~implanted][None, :]).mean()


def test_the_combined_objective_raises_implants_under_the_two_views_together():
    net, untrained, test = trained_and_untrained("combined", steps=300)

    def combined_auc(model):
        with torch.no_grad():
            features = rx_scores(model.embed(torch.from_numpy(test.pixels)).double()).numpy()
        return implants_outrank(0.5 * (np.log(features + 1e-6) + test.spectral_log_rx()), test.implanted)

    assert combined_auc(net) > combined_auc(untrained)


@pytest.mark.parametrize("objective, refusal", [("mystery", "objective"), ("fusion", "valid mask")])
def test_an_unknown_objective_or_a_fusion_without_placement_is_refused(objective, refusal):
    # a table of pixels with no valid mask: the fusion objective cannot place its crops
    scene = FeatureScene("table", np.random.default_rng(0).normal(size=(200, 64)).astype(np.float32),
                         np.arange(200) < 5)
    with pytest.raises(ParameterError, match=refusal):
        train_feature_net([scene], FeatureRecipe(steps=1, objective=objective))


def test_training_from_a_network_continues_it_and_leaves_it_untouched():
    cube, _ = make_cube(48, 48, 40, seed=3)
    scenes = feature_corpus({"s": cube}, TINY, seed=0)
    start, _ = train_feature_net(scenes, TINY, seed=0)
    before = [p.detach().clone() for p in start.parameters()]
    short = FeatureRecipe(steps=5, versions=2, width=99, features=99, depth=3)  # size comes from init
    tuned, _ = train_feature_net(scenes, short, seed=1, init=start)
    assert all(torch.equal(a, b) for a, b in zip(before, start.parameters()))
    assert [p.shape for p in tuned.parameters()] == [p.shape for p in start.parameters()]
    moved = max(float((a - b.detach()).abs().max()) for a, b in zip(before, tuned.parameters()))
    assert 0 < moved < 0.1  # a few small steps from the trained weights, not a fresh network


def test_a_conditioned_network_trains_its_descriptor_weights():
    recipe = FeatureRecipe(steps=40, versions=2, width=16, features=4, depth=1, condition=3)
    cube, _ = make_cube(48, 48, 40, seed=3)
    scenes = feature_corpus({"s": cube, "t": np.ascontiguousarray(cube[:, ::-1])}, recipe, seed=0)
    torch.manual_seed(0)
    net, report = train_feature_net(scenes, recipe, seed=0)
    assert net.config.condition == 3 and report["recipe"]["condition"] == 3
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    torch.manual_seed(0)  # the same initialisation: the descriptor's weights moved
    untrained = SpectralFeatureNet(FeatureNetConfig(width=16, features=4, depth=1, condition=3))
    assert not torch.allclose(net.condition.weight, untrained.condition.weight)
    assert scenes[0].descriptor(3).shape == (3,)


def test_the_fusion_objective_raises_implants_under_the_features_fusion():
    from hadinfer.detectors.fusion_rx import FusionRX

    net, untrained, test = trained_and_untrained("fusion", steps=150)

    def fusion_auc(model):  # the detector's own fusion on the features, scored on the implants
        with torch.no_grad():
            features = model.embed(torch.from_numpy(test.pixels)).double().numpy()
        image = np.zeros(test.valid.shape + (4,))
        image[test.valid] = features
        return implants_outrank(FusionRX(n_components=4).fit_score(image)[test.valid], test.implanted)

    assert fusion_auc(net) > fusion_auc(untrained)



def test_a_training_file_with_blanked_bands_is_named_and_bands_select_around_them(tmp_path):
    """A file whose bands 4 and 9 are NaN everywhere has no valid pixel: training it learnt from
    nothing (NumPy's 'Mean of empty slice' warnings, a zero loss); it is refused, naming the bands
    and the --bands without them, and a band selection (train-features --bands) trains on it."""
    from hadinfer.errors import AllNodataError

    from ..conftest import write_geotiff

    cube, _ = make_cube(32, 32, 12, seed=2)
    cube = cube.astype(np.float32)
    cube[:, :, [3, 8]] = np.nan
    path = write_geotiff(tmp_path / "blank.tif", cube)
    with pytest.raises(AllNodataError, match=r"bands 4 and 9 hold none .* --bands 1-3,5-8,10-12 "):
        feature_corpus({"blank": path}, TINY, seed=0)
    with pytest.raises(AllNodataError, match="no pixel finite in every band"):
        feature_corpus({"array": cube[:, :, [0, 3]]}, TINY, seed=0)
    scenes = feature_corpus({"blank": path}, TINY, seed=0, bands="1-3,5-8,10-12")
    assert len(scenes) == TINY.versions and all(np.isfinite(s.pixels).all() for s in scenes)
