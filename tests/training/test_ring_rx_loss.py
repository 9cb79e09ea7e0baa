"""Differentiable ring RX: the runtime's definition, with gradients that are right."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (extra 'train')")

from hadinfer.arrays import NumpyArrays  # noqa: E402
from hadinfer.kernels.ring_sums import ring_rx  # noqa: E402
from hadinfer.training.ring_rx_loss import ring_rx_scores  # noqa: E402


def test_it_is_the_runtimes_ring_rx_with_holes_and_edges():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 37, 4))
    valid = rng.random((40, 37)) > 0.1
    valid[:4, :6] = False
    z[~valid] = 0.0
    core = (slice(0, 30), slice(3, 37))  # touches two edges of the window
    windows = ((3, 9), (5, 15))
    reference = ring_rx(NumpyArrays(), z, valid.astype(float), valid, windows, 1e-3, core)
    ours = ring_rx_scores(torch.from_numpy(z), torch.from_numpy(valid.astype(float)), windows, 1e-3, core)
    for expected, got in zip(reference, ours):
        got = got.detach().numpy()
        got[~valid[core]] = np.nan
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=1e-6)


def test_a_ring_too_small_gives_nan():
    z = torch.zeros(5, 5, 2)
    mask = torch.zeros(5, 5)
    mask[2, 2] = 1.0
    assert torch.isnan(ring_rx_scores(z, mask, ((1, 3),))[0][2, 2])


def test_gradients_match_finite_differences():
    torch.manual_seed(0)
    z = torch.randn(11, 12, 3, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(11, 12) > 0.15).to(torch.float64)

    def loss(values):
        maps = ring_rx_scores(values, mask, ((1, 5), (3, 7)), 1e-2, (slice(2, 9), slice(1, 11)))
        return sum(torch.nan_to_num(m).sum() for m in maps)

    assert torch.autograd.gradcheck(loss, (z,), eps=1e-6, atol=1e-5, rtol=1e-4)
