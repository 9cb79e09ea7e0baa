"""The scene descriptor a conditioned feature network reads: from the statistics pass, in no units."""

import numpy as np
import pytest

from hadinfer.models.scene_descriptor import DESCRIPTOR_SIZE, descriptor_from_canonical, scene_descriptor


def correlated_cube(seed=0, bands=40):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(25, 30, bands)) @ rng.normal(size=(bands, bands)) + 100.0


def test_the_statistics_pass_gives_the_descriptor_of_the_canonical_pixels():
    from hadinfer.training.feature_learning import canonical_pixels

    cube = correlated_cube()
    valid = np.ones(cube.shape[:2], dtype=bool)
    pixels = cube[valid]
    from_stats = scene_descriptor(pixels.mean(axis=0), np.cov(pixels, rowvar=False))
    from_pixels = descriptor_from_canonical(np.cov(canonical_pixels(cube, valid).astype(np.float64), rowvar=False))
    np.testing.assert_allclose(from_stats, from_pixels, rtol=1e-5, atol=1e-5)


def test_units_and_offsets_do_not_change_it_but_the_scene_does():
    pixels = correlated_cube().reshape(-1, 40)
    gains = np.random.default_rng(3).uniform(0.01, 100.0, 40)
    base = scene_descriptor(pixels.mean(axis=0), np.cov(pixels, rowvar=False))
    scaled = pixels * gains + 5000.0
    np.testing.assert_allclose(scene_descriptor(scaled.mean(axis=0), np.cov(scaled, rowvar=False)), base,
                               rtol=1e-4, atol=1e-4)
    other = correlated_cube(seed=1).reshape(-1, 40)
    assert np.abs(scene_descriptor(other.mean(axis=0), np.cov(other, rowvar=False)) - base).max() > 0.05
    assert base.shape == (DESCRIPTOR_SIZE,) and np.all(np.diff(base) <= 0)  # leading direction first


def test_a_rank_deficient_scene_stays_finite_and_bounded():
    descriptor = descriptor_from_canonical(np.diag([2.0, 0.0, 0.0]), 5)
    assert np.isfinite(descriptor).all() and descriptor.min() >= np.log(1e-4) - 1e-6
    assert descriptor[0] == pytest.approx(0.0, abs=1e-6)  # all variance in one direction
    assert np.all(descriptor_from_canonical(np.zeros((4, 4)), 3) == np.float32(np.log(1e-4)))


def test_a_conditioned_network_needs_the_descriptor_and_uses_it():
    torch = pytest.importorskip("torch", reason="the network is PyTorch (extra 'train')")
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    torch.manual_seed(0)
    net = SpectralFeatureNet(FeatureNetConfig(width=16, features=4, depth=2, condition=3)).eval()
    pixels = torch.randn(10, 64)
    with pytest.raises(ValueError, match="descriptor"):
        net.embed(pixels)
    with torch.no_grad():
        a = net.embed(pixels, torch.tensor([-0.1, -2.0, -5.0]))
        b = net.embed(pixels, torch.tensor([-1.0, -1.5, -2.0]))
    assert a.shape == (10, 4) and not torch.allclose(a, b)
    assert FeatureNetConfig.from_dict(net.config.to_dict()) == net.config


def test_an_unconditioned_network_keeps_its_file_layout():
    torch = pytest.importorskip("torch", reason="the network is PyTorch (extra 'train')")
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    config = FeatureNetConfig(width=16, features=4)
    assert "condition" not in config.to_dict()  # as in learned-v1.npz
    net = SpectralFeatureNet(config)
    assert not hasattr(net, "condition") and sorted(net.state_dict()) == sorted(
        SpectralFeatureNet(FeatureNetConfig.from_dict(config.to_dict())).state_dict())


def test_a_conditioned_network_is_refused_by_the_runtime_file_format():
    torch = pytest.importorskip("torch", reason="the network is PyTorch (extra 'train')")
    from hadinfer.errors import ModelFileError
    from hadinfer.models.feature_model import FeatureModel
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    with pytest.raises(ModelFileError, match="conditioned"):
        FeatureModel.from_torch(SpectralFeatureNet(FeatureNetConfig(width=8, features=4, condition=2)))
