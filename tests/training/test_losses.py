"""Tests for hadinfer.training.losses and hadinfer.training.entropy_mask."""

import math

import pytest

torch = pytest.importorskip("torch", reason="the training losses need PyTorch (pip install 'hadinfer[torch]')")

from hadinfer.errors import ParameterError  # noqa: E402
from hadinfer.metrics import roc_auc  # noqa: E402
from hadinfer.training.entropy_mask import binary_entropy, entropy_mask, patch_entropy  # noqa: E402
from hadinfer.training.losses import AUCMLoss, SigmoidHingeLoss, weighted_bce  # noqa: E402

LN2, LN3, LN4 = math.log(2.0), math.log(3.0), math.log(4.0)


def t(values, dtype=torch.float64, requires_grad=False):
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


# Logits whose sigmoids are round numbers: sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2,
# sigmoid(-ln 3) = 1/4.  Two positives (h = .75, .5), two negatives (h = .25, .5) and
# one ignored element (label -1) with a logit that would dominate if it counted.
PAIR_LOGITS = [LN3, 0.0, -LN3, 0.0, 5.0]
PAIR_LABELS = [1, 1, 0, 0, -1]


# ---------------------------------------------------------------- weighted_bce

def test_weighted_bce_hand_computed():
    # element  logit   target  sigmoid  BCE                 class weight
    #   0      0       1       1/2      -ln(1/2) = ln 2     pos 1.0
    #   1      ln 3    0       3/4      -ln(1/4) = ln 4     neg 0.1
    #   2      -ln 3   1       1/4      -ln(1/4) = ln 4     pos 1.0
    #   3      0       0       1/2      -ln(1/2) = ln 2     neg 0.1
    # sum(w l) = 1.1 ln 2 + 1.1 ln 4 = 3.3 ln 2,  sum(w) = 2.2  ->  1.5 ln 2
    loss = weighted_bce(t([0.0, LN3, -LN3, 0.0]), t([1.0, 0.0, 1.0, 0.0]))
    assert loss.item() == pytest.approx(1.5 * LN2, rel=1e-12)


def test_weighted_bce_soft_targets():
    # element 0: logit ln 3 (p = 3/4), target 1/4:
    #   BCE = -(1/4 ln 3/4 + 3/4 ln 1/4),  w = 1.0 * 1/4 + 0.1 * 3/4 = 0.325
    # element 1: logit 0, target 1: BCE = ln 2, w = 1
    bce0 = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    expected = (0.325 * bce0 + 1.0 * LN2) / (0.325 + 1.0)
    loss = weighted_bce(t([LN3, 0.0]), t([0.25, 1.0]))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_weighted_bce_class_weights_and_ignore_mask():
    logits, targets = t([0.0, LN3, -LN3, 0.0]), t([1.0, 0.0, 1.0, 0.0])
    # The mask drops both negatives: (1 * ln 2 + 1 * ln 4) / 2 = 1.5 ln 2.
    masked = weighted_bce(logits, targets, t([1.0, 0.0, 1.0, 0.0]))
    assert masked.item() == pytest.approx(1.5 * LN2, rel=1e-12)
    # A boolean mask broadcast over a leading batch dimension gives the same.
    batch = weighted_bce(logits.expand(3, 4), targets.expand(3, 4), torch.tensor([True, False, True, False]))
    assert batch.item() == pytest.approx(1.5 * LN2, rel=1e-12)
    # pos_weight = 0 keeps only the negatives, elements 1 and 3, each with weight 2:
    # (2 ln 4 + 2 ln 2) / 4 = 1.5 ln 2.
    only_negatives = weighted_bce(logits, targets, pos_weight=0.0, neg_weight=2.0)
    assert only_negatives.item() == pytest.approx(1.5 * LN2, rel=1e-12)
    # neg_weight = 0 keeps only the positives: element 0 (ln 2) and element 2, now with
    # logit ln 3 and target 1 (BCE -ln 3/4): (ln 2 - ln 3/4) / 2.
    only_positives = weighted_bce(t([0.0, LN3, LN3, 0.0]), targets, neg_weight=0.0)
    assert only_positives.item() == pytest.approx((LN2 - math.log(0.75)) / 2, rel=1e-12)


def test_weighted_bce_all_ignored_is_zero_with_a_finite_gradient():
    logits = t([0.3, -2.0, 7.0], requires_grad=True)
    loss = weighted_bce(logits, t([1.0, 0.0, 0.5]), torch.zeros(3, dtype=torch.float64))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None
    assert torch.equal(logits.grad, torch.zeros(3, dtype=torch.float64))


def test_weighted_bce_gradient_is_finite_and_float32_by_default():
    logits = torch.randn(2, 8, 8, requires_grad=True)
    loss = weighted_bce(logits, (torch.rand(2, 8, 8) > 0.9).float())
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("kwargs, name", [
    (dict(targets=torch.zeros(3)), "targets"),
    (dict(weight=torch.ones(4)), "weight"),
    (dict(weight=torch.ones(2, 2)), "weight"),
    (dict(pos_weight=-1.0), "pos_weight"),
    (dict(neg_weight=float("nan")), "neg_weight"),
])
def test_weighted_bce_rejects_bad_arguments(kwargs, name):
    arguments = dict(logits=torch.zeros(2), targets=torch.zeros(2)) | kwargs
    with pytest.raises(ParameterError, match=name):
        weighted_bce(**arguments)


def test_weighted_bce_rejects_integer_logits():
    with pytest.raises(ParameterError, match="logits"):
        weighted_bce(torch.zeros(2, dtype=torch.long), torch.zeros(2))


# ---------------------------------------------------------------- AUCMLoss

def test_aucm_forward_hand_computed():
    # a = 1/2, b = 1/4, alpha = 1/2, m = 1;  h_P = (3/4, 1/2), h_N = (1/4, 1/2)
    # E_P[(h - a)^2] = (1/16 + 0) / 2 = 1/32;  E_N[(h - b)^2] = (0 + 1/16) / 2 = 1/32
    # E_P[h] = 5/8, E_N[h] = 3/8;  m + E_N - E_P = 3/4;  2 alpha (3/4) = 3/4;  alpha^2 = 1/4
    # L = 1/32 + 1/32 + 3/4 - 1/4 = 0.5625
    criterion = AUCMLoss(1.0, a=0.5, b=0.25, alpha=0.5)
    loss = criterion(t(PAIR_LOGITS), torch.tensor(PAIR_LABELS))
    assert loss.item() == pytest.approx(0.5625, rel=1e-7)


def test_aucm_gradients_wrt_a_and_b():
    # dL/da = -2 E_P[h - a] = -2 (5/8 - 1/2) = -1/4;  dL/db = -2 E_N[h - b] = -2 (3/8 - 1/4) = -1/4
    criterion = AUCMLoss(1.0, a=0.5, b=0.25, alpha=0.5)
    logits = t(PAIR_LOGITS, requires_grad=True)
    criterion(logits, torch.tensor(PAIR_LABELS)).backward()
    assert criterion.a.grad.item() == pytest.approx(-0.25, rel=1e-6)
    assert criterion.b.grad.item() == pytest.approx(-0.25, rel=1e-6)
    assert logits.grad[4].item() == 0.0  # the ignored element gets no gradient
    assert {name for name, _ in criterion.named_parameters()} == {"a", "b"}
    assert "alpha" in criterion.state_dict()


def test_aucm_valid_mask_drops_elements():
    # Dropping the ignored element by label or by the valid mask is the same loss.
    criterion = AUCMLoss(1.0, a=0.5, b=0.25, alpha=0.5)
    logits = t(PAIR_LOGITS + [9.0])
    labels = torch.tensor(PAIR_LABELS + [1])
    valid = torch.tensor([True] * 5 + [False])
    assert criterion(logits, labels, valid).item() == pytest.approx(0.5625, rel=1e-7)


def test_aucm_ascend_step():
    # dL/dalpha = 2 (m + E_N - E_P) - 2 alpha = 2 (3/4) - 2 (1/2) = 1/2;  alpha <- 1/2 + 0.1 * 1/2
    criterion = AUCMLoss(1.0, alpha=0.5)
    criterion(t(PAIR_LOGITS), torch.tensor(PAIR_LABELS))
    criterion.ascend(0.1)
    assert criterion.alpha.item() == pytest.approx(0.55, rel=1e-6)


def test_aucm_ascend_is_clamped_at_zero():
    # m = 0: gap = 0 + 3/8 - 5/8 = -1/4; dL/dalpha = -1/2 - 2 = -5/2; 1 + 1 * (-5/2) < 0 -> 0
    criterion = AUCMLoss(0.0, alpha=1.0)
    criterion(t(PAIR_LOGITS), torch.tensor(PAIR_LABELS))
    criterion.ascend(1.0)
    assert criterion.alpha.item() == 0.0


def test_aucm_alpha_stays_non_negative_over_random_steps():
    generator = torch.Generator().manual_seed(3)
    criterion = AUCMLoss(0.1)
    for _ in range(200):
        logits = torch.randn(32, generator=generator) * 3
        labels = torch.randint(0, 2, (32,), generator=generator)
        criterion(logits, labels)
        criterion.ascend(float(torch.rand((), generator=generator)) * 5)
        assert criterion.alpha.item() >= 0.0


@pytest.mark.parametrize("labels", [[1, 1, -1], [0, 0, 0], [2, -1, 2]])
def test_aucm_without_both_classes_is_a_differentiable_zero(labels):
    criterion = AUCMLoss(1.0, a=0.3, b=0.2, alpha=0.7)
    logits = t([0.1, 0.2, 0.3], requires_grad=True)
    loss = criterion(logits, torch.tensor(labels))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros(3, dtype=torch.float64))
    criterion.ascend(1.0)
    assert criterion.alpha.item() == pytest.approx(0.7)


def test_aucm_ascend_before_any_forward_leaves_alpha():
    criterion = AUCMLoss(alpha=0.25)
    criterion.ascend(1.0)
    assert criterion.alpha.item() == 0.25


def test_aucm_training_separates_one_dimensional_data():
    # Separable 1-D data, a logistic model started with the wrong sign (AUC 0).
    generator = torch.Generator().manual_seed(0)
    x = torch.cat([torch.rand(20, generator=generator) + 0.5, -torch.rand(80, generator=generator) - 0.5])
    labels = torch.cat([torch.ones(20), torch.zeros(80)])
    weight = torch.nn.Parameter(torch.tensor(-1.0))
    bias = torch.nn.Parameter(torch.tensor(0.0))
    criterion = AUCMLoss(1.0)
    optimiser = torch.optim.SGD([weight, bias, *criterion.parameters()], lr=0.5)
    assert roc_auc((weight * x + bias).detach().numpy(), labels.numpy()) == 0.0
    for _ in range(200):
        optimiser.zero_grad()
        criterion(weight * x + bias, labels).backward()
        optimiser.step()
        criterion.ascend(0.5)
    assert roc_auc((weight * x + bias).detach().numpy(), labels.numpy()) == 1.0
    assert criterion.alpha.item() > 0.0


@pytest.mark.parametrize("kwargs, name", [
    (dict(margin=-1.0), "margin"),
    (dict(alpha=-0.5), "alpha"),
    (dict(a=float("inf")), "a"),
])
def test_aucm_rejects_bad_constructor_arguments(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        AUCMLoss(**kwargs)


def test_aucm_rejects_bad_call_arguments():
    criterion = AUCMLoss()
    with pytest.raises(ParameterError, match="labels"):
        criterion(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ParameterError, match="valid"):
        criterion(torch.zeros(3), torch.zeros(3), torch.ones(3))
    with pytest.raises(ParameterError, match="lr"):
        criterion.ascend(-0.1)


# ---------------------------------------------------------------- SigmoidHingeLoss

@pytest.mark.parametrize("margin, expected", [
    # pairs (h_p, h_n): (3/4, 1/4) (3/4, 1/2) (1/2, 1/4) (1/2, 1/2); differences 1/2, 1/4, 1/4, 0
    # m = 1:   (1/2)^2 + (3/4)^2 + (3/4)^2 + 1^2 = 0.25 + 0.5625 + 0.5625 + 1 = 2.375 -> / 4
    (1.0, 2.375 / 4),
    # m = 0.3: relu(-0.2)^2 + 0.05^2 + 0.05^2 + 0.3^2 = 0 + 0.0025 + 0.0025 + 0.09 = 0.095 -> / 4
    (0.3, 0.095 / 4),
])
def test_sigmoid_hinge_hand_computed(margin, expected):
    loss = SigmoidHingeLoss(margin)(t(PAIR_LOGITS), torch.tensor(PAIR_LABELS))
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_sigmoid_hinge_samples_pairs_reproducibly():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(400, generator=generator)
    labels = (torch.rand(400, generator=generator) < 0.5).long()
    full = SigmoidHingeLoss()(logits, labels)
    first = SigmoidHingeLoss(max_pairs=5000, seed=7)(logits, labels)
    second = SigmoidHingeLoss(max_pairs=5000, generator=torch.Generator().manual_seed(7))(logits, labels)
    assert first.item() == second.item()
    assert first.item() == pytest.approx(full.item(), rel=0.05)


@pytest.mark.parametrize("labels", [[1, 1, -1], [0, 0, 0]])
def test_sigmoid_hinge_without_both_classes_is_a_differentiable_zero(labels):
    logits = t([0.1, 0.2, 0.3], requires_grad=True)
    loss = SigmoidHingeLoss()(logits, torch.tensor(labels))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("kwargs, name", [
    (dict(margin=-0.1), "margin"),
    (dict(max_pairs=0), "max_pairs"),
    (dict(generator=3), "generator"),
])
def test_sigmoid_hinge_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        SigmoidHingeLoss(**kwargs)


# ---------------------------------------------------------------- entropy masking

def test_binary_entropy_values():
    entropy = binary_entropy(t([0.0, 0.5, 1.0, 0.25]))
    assert entropy[0].item() == 0.0 and entropy[2].item() == 0.0
    assert entropy[1].item() == pytest.approx(LN2, rel=1e-15)
    assert entropy[3].item() == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)), rel=1e-15)


def test_binary_entropy_has_no_nan_gradient_at_the_ends():
    p = t([0.0, 1.0, 0.3], requires_grad=True)
    binary_entropy(p).sum().backward()
    assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("channel_axis", [False, True])
def test_patch_entropy_is_the_block_mean(channel_axis):
    p = torch.rand(2, 4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    result = patch_entropy(p[:, None] if channel_axis else p, 2)
    assert result.shape == (2, 2, 3)
    expected = binary_entropy(p).reshape(2, 2, 2, 3, 2).mean(dim=(2, 4))
    torch.testing.assert_close(result, expected)


def masked_patches(mask, patch):
    """Per patch: True where the whole patch is masked; also checks patches are uniform."""
    n, height, width = mask.shape
    blocks = mask.reshape(n, height // patch, patch, width // patch, patch)
    assert torch.equal(blocks.amin(dim=(2, 4)), blocks.amax(dim=(2, 4)))
    return blocks.amax(dim=(2, 4)) == 0


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("ratio", [0.0, 0.05, 0.1, 0.25, 0.5, 0.9])
def test_entropy_mask_masks_the_most_uncertain_patches(batch, ratio):
    p = torch.rand(batch, 1, 8, 12, generator=torch.Generator().manual_seed(batch))
    mask = entropy_mask(p, 2, ratio)
    assert mask.shape == (batch, 8, 12) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    masked = masked_patches(mask, 2)
    total = batch * 4 * 6
    assert int(masked.sum()) == round(ratio * total)
    entropy = patch_entropy(p, 2)
    if 0 < masked.sum() < total:
        assert entropy[masked].min() >= entropy[~masked].max()


def test_entropy_mask_ranks_across_the_whole_batch():
    # Image 0 is certain everywhere, image 1 uncertain everywhere: all masked patches
    # fall in image 1, which a per-image ranking would not do.
    p = torch.stack([torch.full((4, 4), 0.01), torch.full((4, 4), 0.45)])
    masked = masked_patches(entropy_mask(p, 2, 0.5), 2)
    assert not masked[0].any() and masked[1].all()


def test_entropy_mask_breaks_ties_by_position():
    p = torch.full((2, 4, 4), 0.5)
    masked = masked_patches(entropy_mask(p, 2, 0.375), 2)  # 3 of 8 equal patches
    assert masked.reshape(-1).tolist() == [True, True, True] + [False] * 5


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5, float("nan"), True])
def test_entropy_mask_rejects_bad_ratio(ratio):
    with pytest.raises(ParameterError, match="ratio"):
        entropy_mask(torch.rand(1, 4, 4), 2, ratio)


@pytest.mark.parametrize("shape, patch", [((1, 5, 4), 2), ((1, 4, 6), 4), ((1, 4, 4), 0), ((1, 4, 4), 2.0)])
def test_entropy_mask_rejects_bad_patch(shape, patch):
    with pytest.raises(ParameterError, match="patch"):
        entropy_mask(torch.rand(shape), patch, 0.1)


@pytest.mark.parametrize("shape", [(4, 4), (1, 2, 4, 4), (1, 1, 1, 4, 4)])
def test_patch_entropy_rejects_bad_shape(shape):
    with pytest.raises(ParameterError, match="probabilities"):
        patch_entropy(torch.rand(shape), 2)
