"""Chapter 13: pix2pix's networks, paired data, objective, steps and loop."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from tutorial_lib.gan.losses import discriminator_loss
from tutorial_lib.metrics.classifier import DigitClassifier, predict
from tutorial_lib.translation import (
    ARMS,
    SCORES,
    PatchDiscriminator,
    Pix2PixConfig,
    UNetGenerator,
    downsample_pair,
    grey_fraction,
    l1_versus_gan,
    patch_discriminator_loss,
    pix2pix_generator_loss,
    receptive_field,
    train_pix2pix,
    translate,
    translation_scores,
)
from tutorial_lib.translation.paired import discriminator_step, generator_step


def _digits(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


# --- the networks -----------------------------------------------------------------------


def test_shapes_and_ranges() -> None:
    torch.manual_seed(0)
    x_a, x_b = _digits(5), _digits(5, 1)
    out = UNetGenerator()(x_a)
    assert out.shape == (5, 1, 28, 28) and out.min() > 0 and out.max() < 1
    assert PatchDiscriminator()(x_a, x_b).shape == (5, 1, 7, 7)


def test_unet_skip_carries_the_input_past_a_silenced_decoder() -> None:
    """With every decoder weight zero, the last layer still sees x_A through the skip at
    28 x 28: the output is sigmoid(w * x_A + b) for a 1 x 1 identity kernel w."""
    torch.manual_seed(0)
    g = UNetGenerator().eval()
    with torch.no_grad():
        for p in g.up2.parameters():
            p.zero_()
        g.out.weight.zero_()
        g.out.weight[0, -1, 1, 1] = 3.0  # the centre tap on the input channel (the last)
        g.out.bias.fill_(-1.5)
    x = _digits(3)
    assert torch.allclose(g(x), torch.sigmoid(3.0 * x - 1.5), atol=1e-6)


def test_unet_output_depends_on_every_skip() -> None:
    """Each concatenation feeds the decoder: the gradient reaches every encoder level."""
    torch.manual_seed(0)
    g = UNetGenerator().eval()
    x = _digits(2)
    g(x).sum().backward()
    for block in (g.down1, g.down2, g.bottleneck):
        assert block[0].weight.grad.abs().sum() > 0
    assert g.out.weight.grad[:, -1].abs().sum() > 0  # the input's own channel


def test_receptive_field_closed_form() -> None:
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(2, 2)] * 3) == 8
    assert receptive_field(PatchDiscriminator.layers) == 18


def test_patch_logit_sees_exactly_its_receptive_field() -> None:
    """The gradient of one interior patch logit is non-zero on an 18 x 18 window only."""
    torch.manual_seed(0)
    d = PatchDiscriminator().eval()
    x_a = _digits(1).requires_grad_(True)
    x_b = _digits(1, 1).requires_grad_(True)
    d(x_a, x_b)[0, 0, 3, 3].backward()
    seen = (x_a.grad.abs() + x_b.grad.abs())[0, 0] > 0
    rows = torch.nonzero(seen.any(1)).squeeze(1)
    cols = torch.nonzero(seen.any(0)).squeeze(1)
    side = receptive_field(PatchDiscriminator.layers)
    assert int(rows.max() - rows.min()) + 1 == side
    assert int(cols.max() - cols.min()) + 1 == side


def test_discriminator_sees_the_condition() -> None:
    """The same output judged with two different inputs gets different logits."""
    torch.manual_seed(0)
    d = PatchDiscriminator().eval()
    x_b = _digits(2)
    assert not torch.allclose(d(_digits(2, 1), x_b), d(_digits(2, 2), x_b))


@pytest.mark.parametrize("bad", [torch.rand(2, 1, 32, 32), torch.rand(2, 2, 28, 28),
                                 torch.rand(1, 28, 28)])
def test_networks_refuse_wrong_shapes(bad: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="x_a"):
        UNetGenerator()(bad)
    with pytest.raises(ValueError, match="x_a"):
        PatchDiscriminator()(bad, _digits(2))


def test_discriminator_refuses_unpaired_batches() -> None:
    with pytest.raises(ValueError, match="pairs"):
        PatchDiscriminator()(_digits(2), _digits(3))


# --- the paired data --------------------------------------------------------------------


@pytest.mark.parametrize("factor", [1, 2, 4, 7])
def test_downsample_pair_keeps_the_block_means(factor: int) -> None:
    x = _digits(3)
    x_a, x_b = downsample_pair(x, factor)
    assert x_a.shape == x.shape and torch.equal(x_b, x)
    assert torch.allclose(F.avg_pool2d(x_a, factor), F.avg_pool2d(x, factor), atol=1e-6)
    blocks = x_a.unfold(2, factor, factor).unfold(3, factor, factor)  # (B, 1, n, n, f, f)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))  # constant blocks


def test_downsample_pair_by_hand() -> None:
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 0, 0] = 1.0  # one ink pixel in the top-left 2 x 2 block
    x_a, _ = downsample_pair(x, 2)
    want = torch.zeros(1, 1, 4, 4)
    want[0, 0, :2, :2] = 0.25
    assert torch.equal(x_a, want)


def test_downsample_pair_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="divisor"):
        downsample_pair(_digits(2), 5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        downsample_pair(2 * _digits(2) + 1, 4)


# --- the objective ----------------------------------------------------------------------


def test_patch_loss_of_undecided_patches_is_two_log_two() -> None:
    zeros = torch.zeros(3, 1, 7, 7)
    assert math.isclose(float(patch_discriminator_loss(zeros, zeros)), 2 * math.log(2),
                        rel_tol=1e-6)


def test_patch_loss_averages_per_patch_cross_entropies() -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(4, 1, 7, 7, generator=gen), torch.randn(4, 1, 7, 7, generator=gen)
    want = F.softplus(-real).mean() + F.softplus(fake).mean()
    assert torch.allclose(patch_discriminator_loss(real, fake), want, atol=1e-6)
    # not the loss of the patch-averaged logit: one classifier per patch
    pooled = discriminator_loss(real.mean((1, 2, 3)), fake.mean((1, 2, 3)))
    assert not torch.allclose(patch_discriminator_loss(real, fake), pooled)


def test_one_patch_is_the_ordinary_discriminator_loss() -> None:
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(5, 1, 1, 1, generator=gen), torch.randn(5, 1, 1, 1, generator=gen)
    assert torch.allclose(patch_discriminator_loss(real, fake),
                          discriminator_loss(real.flatten(), fake.flatten()))


def test_generator_loss_is_adversarial_plus_weighted_l1() -> None:
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 1, 7, 7, generator=gen)
    fake, target = _digits(3), _digits(3, 5)
    out = pix2pix_generator_loss(logits, fake, target, 100.0)
    l1 = (fake - target).abs().mean()
    assert torch.allclose(out["l1"], l1)
    assert torch.allclose(out["adversarial"], F.softplus(-logits).mean())
    assert torch.allclose(out["loss"], out["adversarial"] + 100.0 * l1)
    alone = pix2pix_generator_loss(None, fake, target, 100.0)
    assert set(alone) == {"loss", "l1"} and torch.allclose(alone["loss"], 100.0 * l1)


def test_generator_loss_refuses_a_negative_weight() -> None:
    with pytest.raises(ValueError, match="lam"):
        pix2pix_generator_loss(None, _digits(1), _digits(1), -1.0)


def test_grey_fraction_by_hand() -> None:
    x = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 0.25]).view(1, 1, 2, 4)
    assert grey_fraction(x) == pytest.approx(4 / 8)  # 0.25, 0.3, 0.5, 0.7; not 0.1, 0.9
    assert grey_fraction(x, low=0.25, high=0.75) == pytest.approx(3 / 8)
    with pytest.raises(ValueError, match="high"):
        grey_fraction(x, low=0.6, high=0.4)


# --- the steps and the loop -------------------------------------------------------------


def test_discriminator_step_leaves_the_generator_alone() -> None:
    torch.manual_seed(0)
    g, d = UNetGenerator(), PatchDiscriminator()
    before_g, before_d = copy.deepcopy(g.state_dict()), copy.deepcopy(d.state_dict())
    x_b = _digits(4)
    x_a, _ = downsample_pair(x_b)
    discriminator_step(g, d, torch.optim.Adam(d.parameters()), x_a, x_b)
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before_g.items()
               if "running" not in k and "num_batches" not in k)
    assert any(not torch.equal(v, d.state_dict()[k]) for k, v in before_d.items())


def test_generator_step_leaves_the_discriminator_alone() -> None:
    torch.manual_seed(0)
    g, d = UNetGenerator(), PatchDiscriminator()
    before = [p.detach().clone() for p in d.parameters()]
    x_b = _digits(4)
    x_a, _ = downsample_pair(x_b)
    losses = generator_step(g, d, torch.optim.Adam(g.parameters()), x_a, x_b, 100.0)
    assert set(losses) == {"g_loss", "g_adversarial", "g_l1"}
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters(), strict=True))


def test_training_is_deterministic_under_a_seed() -> None:
    x = _digits(32)
    config = Pix2PixConfig(steps=3, batch_size=8, seed=3)
    a = train_pix2pix(x, config, device="cpu", progress=False)
    b = train_pix2pix(x, config, device="cpu", progress=False)
    assert a.history == {**b.history, "seconds": a.history["seconds"]}
    assert all(torch.equal(p, q) for p, q in zip(a.generator.parameters(),
                                                  b.generator.parameters(), strict=True))
    assert set(a.history) >= {"d_loss", "g_loss", "g_adversarial", "g_l1"}


def test_l1_baseline_has_no_discriminator() -> None:
    run = train_pix2pix(_digits(16), Pix2PixConfig(adversarial=False, steps=2, batch_size=4),
                        device="cpu", progress=False)
    assert run.discriminator is None and "d_loss" not in run.history


def test_train_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="x_train"):
        train_pix2pix(torch.rand(4, 28, 28), Pix2PixConfig(steps=1), progress=False)
    with pytest.raises(ValueError, match="steps"):
        train_pix2pix(_digits(4), Pix2PixConfig(steps=0), progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("adversarial", [False, True])
def test_training_reduces_the_l1_error(adversarial: bool) -> None:
    """On 64 block-averaged images, 60 steps bring G(x_A) closer to x_B than at the start."""
    x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 1)  # blobs, a little structure
    x_a, x_b = downsample_pair(x)
    torch.manual_seed(0)
    g = UNetGenerator()
    start = float((translate(g, x_a) - x_b).abs().mean())
    run = train_pix2pix(x, Pix2PixConfig(adversarial=adversarial, steps=60, batch_size=16),
                        generator=g, device="cpu", progress=False)
    assert float((translate(run.generator, x_a) - x_b).abs().mean()) < 0.8 * start


# --- the experiment -----------------------------------------------------------------------


def _classifier() -> DigitClassifier:
    torch.manual_seed(0)
    return DigitClassifier().eval()


def test_scores_of_the_targets_themselves() -> None:
    """Outputs equal to the targets: no L1 error, the targets' grey fraction, the
    classifier's accuracy, and both manifolds the same (precision = recall = 1)."""
    clf = _classifier()
    x = _digits(12)
    y = torch.arange(12) % 10
    scores = translation_scores(x, x, y, clf)
    assert set(scores) == set(SCORES)
    assert scores["l1"] == 0.0 and scores["grey"] == grey_fraction(x)
    assert scores["agreement"] == pytest.approx(float((predict(clf, x) == y).float().mean()))
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0


def test_scores_refuse_unpaired_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        translation_scores(_digits(4), _digits(5), torch.zeros(4, dtype=torch.long),
                           _classifier())


@pytest.mark.slow
def test_l1_versus_gan_trains_both_arms_per_seed() -> None:
    x = _digits(16)
    result = l1_versus_gan(x, x, torch.arange(16) % 10, _classifier(),
                           Pix2PixConfig(steps=2, batch_size=4), seeds=2, device="cpu",
                           progress=False)
    for arm in ARMS:
        assert all(len(v) == 2 for v in result["scores"][arm].values())
        assert result["outputs"][arm].shape == x.shape
    assert result["runs"][ARMS[0]].discriminator is None
    assert result["runs"][ARMS[1]].discriminator is not None
