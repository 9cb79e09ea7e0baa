"""Design D: a residual network that learns to reconstruct backgrounds, in the learned detector's file format."""

import numpy as np
import pytest

from hadinfer.synthetic import make_cube

torch = pytest.importorskip("torch", reason="training needs torch (extra 'train')")

from hadinfer.models.feature_model import FeatureModel  # noqa: E402
from hadinfer.training.background_reconstruction import (ReconstructionRecipe, residual_net,  # noqa: E402
                                                         train_reconstruction_net)
from hadinfer.training.feature_learning import FeatureRecipe, feature_corpus  # noqa: E402

RECIPE = ReconstructionRecipe(steps=150, bottleneck=8)


def test_untrained_residual_is_the_spectrum_plus_a_small_mlp_and_the_skip_stays_identity():
    net = residual_net(RECIPE)
    assert not net.skip.weight.requires_grad
    np.testing.assert_array_equal(net.skip.weight.detach().numpy(), np.eye(64, dtype=np.float32))


def test_training_shrinks_the_background_residual_on_an_unseen_view():
    cube, _ = make_cube(48, 48, 40, seed=3)
    train = feature_corpus({"s": cube, "t": np.ascontiguousarray(cube[:, ::-1])}, FeatureRecipe(versions=2), seed=0)
    test = feature_corpus({"u": np.ascontiguousarray(cube[::-1])}, FeatureRecipe(versions=1), seed=5)[0]
    net, report = train_reconstruction_net(train, RECIPE, seed=0)
    torch.manual_seed(0)
    untrained = residual_net(RECIPE).eval()
    background = torch.from_numpy(test.pixels[~test.implanted])
    with torch.no_grad():
        before = untrained.embed(background).pow(2).mean()
        after = net.embed(background).pow(2).mean()
    assert after < 0.5 * before and report["loss_last_100"] < report["loss_first_100"]
    np.testing.assert_array_equal(net.skip.weight.detach().numpy(), np.eye(64, dtype=np.float32))
    model = FeatureModel.from_torch(net)  # the learned detector's file format holds it as is
    with torch.no_grad():
        expected = net.embed(background).numpy()
    np.testing.assert_allclose(model.embed(background.numpy()), expected, rtol=1e-4, atol=1e-5)
