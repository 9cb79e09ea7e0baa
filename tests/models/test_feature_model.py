"""The NumPy feature network the ``learned`` detector runs: same numbers as PyTorch, safe file reading."""

import numpy as np
import pytest

from hadinfer.errors import InputNotFoundError, ModelFileError
from hadinfer.models.canonical_spectra import canonical_affine, resample_matrix
from hadinfer.models.feature_model import FeatureModel, load_feature_model

torch = pytest.importorskip("torch", reason="the reference network is PyTorch (extra 'train')")


def small_net(seed=0):
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    torch.manual_seed(seed)
    return SpectralFeatureNet(FeatureNetConfig(width=24, features=8, depth=2)).eval()


def test_numpy_network_matches_pytorch_and_survives_a_file(tmp_path):
    net = small_net()
    pixels = np.random.default_rng(1).normal(size=(500, 64)).astype(np.float32)
    with torch.no_grad():
        expected = net.embed(torch.from_numpy(pixels)).numpy()
    model = FeatureModel.from_torch(net, {"report": {"seed": 0}})
    np.testing.assert_allclose(model.embed(pixels), expected, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m.npz")
    loaded = load_feature_model(tmp_path / "m.npz")
    assert (loaded.in_bands, loaded.features) == (64, 8) and loaded.metadata["report"] == {"seed": 0}
    np.testing.assert_allclose(loaded.embed(pixels), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_the_fused_float32_network_equals_the_reference_after_the_affine_map(depth):
    from hadinfer.models.spectral_features import FeatureNetConfig, SpectralFeatureNet

    torch.manual_seed(depth)
    model = FeatureModel.from_torch(SpectralFeatureNet(FeatureNetConfig(width=24, features=8, depth=depth)).eval())
    rng = np.random.default_rng(2)
    spectra = rng.normal(size=(700, 37)) * 300 + 2000  # raw radiances, 37 bands
    mean, spread = spectra.mean(axis=0), np.cov(spectra, rowvar=False)
    weight, offset = canonical_affine(mean, spread)
    fused = model.fused(weight, offset)(spectra.astype(np.float32))
    assert fused.dtype == np.float32
    expected = model.embed(spectra @ weight + offset)
    np.testing.assert_allclose(fused, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_bad_feature_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is None:  # a real .npz that is not a feature model
        np.savez(path, weights=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match="bad.npz"):
        load_feature_model(path)


def test_an_npy_array_a_raster_or_nothing_is_named_not_a_feature_model(tmp_path):
    """A ``.npy`` array came back from NumPy as a bare array: an unexpected TypeError reached the user."""
    np.save(tmp_path / "weights.npy", np.ones(3))
    (tmp_path / "scene.tif").write_bytes(b"II*\x00" + bytes(60))
    for name in ("weights.npy", "scene.tif"):
        with pytest.raises(ModelFileError, match=f"{name}: not a hadinfer feature model .*not a NumPy .npz archive"):
            load_feature_model(tmp_path / name)
    with pytest.raises(InputNotFoundError, match="missing.npz: no such file"):
        load_feature_model(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_feature_model(tmp_path)


def test_canonical_affine_standardises_then_interpolates():
    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(400, 7)) * np.arange(1, 8) * 100 + 50
    weight, offset = canonical_affine(pixels.mean(axis=0), np.cov(pixels.T))
    canonical = pixels @ weight + offset
    standard = (pixels - pixels.mean(axis=0)) / pixels.std(axis=0, ddof=1)
    np.testing.assert_allclose(canonical, standard @ resample_matrix(7), atol=1e-9)
    np.testing.assert_allclose(canonical[:, [0, -1]], standard[:, [0, -1]], atol=1e-9)  # the ends are bands


def test_a_constant_band_reads_as_zero_not_as_noise():
    weight, offset = canonical_affine(np.array([5.0, 1.0, 2.0]), np.diag([0.0, 1.0, 4.0]))
    assert np.isfinite(weight).all() and (weight[0] == 0).all()
