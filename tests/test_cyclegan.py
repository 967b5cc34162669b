"""Chapter 14: CycleGAN between the 8x8 and the 28x28 digits (tutorial_lib.translation)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tutorial_lib.translation.cyclegan import (
    CycleGAN,
    CycleGANConfig,
    CycleGANTrainConfig,
    DownGenerator,
    PatchDiscriminator,
    UpGenerator,
    class_survival,
    cycle_consistency_loss,
    cycle_errors,
    direction_report,
    evaluate_cyclegan,
    hidden_class_change,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    resize_down,
    resize_up,
    train_cyclegan,
    translate,
)


def _digits(n: int, side: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(seed))


# --- networks ---------------------------------------------------------------------------

def test_generators_change_resolution_and_stay_in_the_unit_interval() -> None:
    torch.manual_seed(0)
    up, down = UpGenerator(8), DownGenerator(8)
    y = up(_digits(5, 8))
    assert y.shape == (5, 1, 28, 28)
    z = down(_digits(3, 28))
    assert z.shape == (3, 1, 8, 8)
    for out in (y, z):
        assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("side, patches", [(28, 7), (8, 2)])
def test_patch_discriminator_gives_one_score_per_patch(side: int, patches: int) -> None:
    d = PatchDiscriminator(side, 8)
    assert d(_digits(4, side)).shape == (4, 1, patches, patches)


def test_patch_discriminator_receptive_field_is_a_patch_of_18_pixels() -> None:
    """The gradient of the top-left score of D_B reaches an 18x18 corner of a 28x28 image
    (a PatchGAN judges patches, not the whole image); on 8x8 a score sees the whole image."""
    torch.manual_seed(0)
    for side, field in ((28, 18), (8, 8)):
        d = PatchDiscriminator(side, 8)
        x = _digits(1, side).requires_grad_(True)
        d(x)[0, 0, 0, 0].backward()
        rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero().flatten()
        cols = (x.grad[0, 0].abs().sum(0) > 0).nonzero().flatten()
        assert int(rows.max()) + 1 <= field and int(cols.max()) + 1 <= field
        if side == 28:
            assert int(rows.max()) + 1 < side  # a patch, not the whole image
        else:
            assert int(rows.max()) + 1 == side


def test_patch_discriminator_refuses_other_sides() -> None:
    with pytest.raises(ValueError, match="side: expected 8 or 28"):
        PatchDiscriminator(32)


# --- losses -----------------------------------------------------------------------------

def test_lsgan_losses_equal_their_formulas_on_hand_computable_scores() -> None:
    real = torch.tensor([1.0, 0.0, 2.0, 1.0])
    fake = torch.tensor([0.0, 1.0, -1.0, 0.0])
    # 1/2 mean((r - 1)^2) = 1/2 * (0 + 1 + 1 + 0) / 4 = 0.25; 1/2 mean(f^2) = 1/2 * 2/4 = 0.25
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.5)
    # mean((f - 1)^2) = (1 + 0 + 4 + 1) / 4 = 1.5
    assert lsgan_generator_loss(fake).item() == pytest.approx(1.5)
    perfect = lsgan_discriminator_loss(torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3))
    assert perfect.item() == 0.0


def test_cycle_consistency_loss_averages_each_domain_over_its_own_pixels() -> None:
    x_a, x_b = torch.zeros(2, 1, 8, 8), torch.zeros(3, 1, 28, 28)
    # every 8x8 pixel off by 0.5, one 28x28 pixel off by 1: 0.5 + 1 / (3 * 784)
    x_b_cycled = x_b.clone()
    x_b_cycled[0, 0, 0, 0] = 1.0
    loss = cycle_consistency_loss(x_a, x_a + 0.5, x_b, x_b_cycled)
    assert loss.item() == pytest.approx(0.5 + 1 / (3 * 784))
    assert cycle_consistency_loss(x_a, x_a, x_b, x_b).item() == 0.0


def test_cycle_consistency_loss_refuses_mismatched_shapes() -> None:
    x_a, x_b = torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match="x_a_cycled: expected the shape of x_a"):
        cycle_consistency_loss(x_a, x_b, x_b, x_b)


def test_lsgan_losses_refuse_empty_scores() -> None:
    with pytest.raises(ValueError):
        lsgan_generator_loss(torch.zeros(0))


# --- measures ---------------------------------------------------------------------------

def test_class_survival_and_hidden_change_count_by_hand() -> None:
    labels = torch.tensor([0, 1, 2, 3])
    translated = torch.tensor([0, 7, 2, 5])  # digits 1 and 3 change class on the way
    cycled = torch.tensor([0, 1, 9, 8])  # digits 0 and 1 come back; 2 and 3 do not
    assert class_survival(translated, labels) == 0.5
    assert hidden_class_change(labels, translated, cycled) == 0.25  # digit 1 only
    errors = torch.tensor([0.1, 0.2, 0.3, 0.4])
    report = direction_report(labels, translated, cycled, errors)
    assert report.round_trip_kept == 0.5
    assert report.error_changed == pytest.approx(0.3)  # digits 1 and 3
    assert report.error_kept == pytest.approx(0.2)  # digits 0 and 2


def test_class_survival_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        class_survival(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))


def test_cycle_errors_are_mean_absolute_pixel_differences() -> None:
    x = torch.zeros(2, 1, 8, 8)
    y = x.clone()
    y[1] = 0.25
    assert torch.allclose(cycle_errors(x, y), torch.tensor([0.0, 0.25]))


def test_resize_maps_put_an_8x8_digit_in_the_mnist_box_and_back() -> None:
    x_a = torch.ones(2, 1, 8, 8)
    x_b = resize_up(x_a)
    assert x_b.shape == (2, 1, 28, 28)
    assert x_b[:, :, :4].abs().sum() == 0
    assert torch.allclose(x_b[:, :, 4:24, 4:24], torch.ones(2, 1, 20, 20))
    assert torch.allclose(resize_down(x_b), x_a)


def test_resize_maps_refuse_the_wrong_domain() -> None:
    with pytest.raises(ValueError, match=r"x_a: expected digits of shape \(B, 1, 8, 8\)"):
        resize_up(torch.zeros(2, 1, 28, 28))


# --- the model, its steps and the loop ---------------------------------------------------

def test_one_step_updates_generators_and_discriminators() -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(channels=4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model.train_step(_digits(6, 8), _digits(6, 28, 1),
                              model.make_optimizers(CycleGANTrainConfig()))
    assert set(losses) == {"gen_adv", "cycle", "disc_a", "disc_b"}
    assert all(math.isfinite(v) for v in losses.values())
    for net in ("g_ab", "g_ba", "d_a", "d_b"):
        key = next(k for k in before if k.startswith(net) and k.endswith("weight"))
        assert not torch.equal(before[key], model.state_dict()[key]), net


def test_generator_step_leaves_the_discriminators_alone() -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(channels=4))
    opt = model.make_optimizers(CycleGANTrainConfig())
    d_before = [p.clone() for p in model.d_a.parameters()]
    model.generator_step(_digits(4, 8), _digits(4, 28, 1), opt["gen"])
    assert all(torch.equal(a, b) for a, b in zip(d_before, model.d_a.parameters(), strict=True))


def test_training_reduces_the_cycle_error_on_a_tiny_problem() -> None:
    torch.manual_seed(0)
    x_a, x_b = _digits(32, 8), _digits(32, 28, 1)
    model = CycleGAN(CycleGANConfig(channels=4))
    history = train_cyclegan(model, x_a, x_b, CycleGANTrainConfig(steps=60, batch_size=16),
                             device="cpu", progress=False)
    first, last = history["cycle"][:10], history["cycle"][-10:]
    assert sum(last) / 10 < sum(first) / 10
    assert len(history["step"]) == 60


def test_training_is_deterministic_under_a_seed() -> None:
    def run() -> dict[str, list[float]]:
        torch.manual_seed(3)
        model = CycleGAN(CycleGANConfig(channels=4))
        return train_cyclegan(model, _digits(16, 8), _digits(16, 28, 1),
                              CycleGANTrainConfig(steps=5, batch_size=8, seed=3),
                              device="cpu", progress=False)
    a, b = run(), run()
    assert a["cycle"] == b["cycle"] and a["disc_b"] == b["disc_b"]


def test_training_refuses_swapped_domains() -> None:
    model = CycleGAN(CycleGANConfig(channels=4))
    with pytest.raises(ValueError, match=r"x_a: expected digits of shape \(B, 1, 8, 8\)"):
        train_cyclegan(model, _digits(4, 28), _digits(4, 8), progress=False)


def test_config_refuses_a_negative_cycle_weight() -> None:
    with pytest.raises(ValueError):
        CycleGAN(CycleGANConfig(lam_cycle=-1.0))


class _Constant(nn.Module):
    """A 'classifier' that reads every image as the class ``k``."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(x), 10)
        logits[:, self.k] = 1.0
        return logits + 0 * self.w


def test_evaluate_reports_both_directions_with_given_classifiers() -> None:
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(channels=4)).eval()
    y = torch.tensor([0, 0, 1, 2])
    reports = evaluate_cyclegan(model, _Constant(0), _Constant(1), _digits(4, 8), y,
                                _digits(4, 28, 1), y)
    ab, ba = reports["A->B"], reports["B->A"]
    assert ab.survival == 0.25  # read as 1 in B: only the one digit labelled 1
    assert ab.round_trip_kept == 0.5  # read as 0 back in A
    assert ab.hidden_change == 0.5  # the two 0s: back as 0, translated as 1
    assert ba.survival == 0.5 and ba.round_trip_kept == 0.25
    assert ba.hidden_change == 0.25  # the 1: back as 1, translated as 0
    assert translate(model.g_ab, _digits(3, 8)).shape == (3, 1, 28, 28)


@pytest.mark.slow
def test_cyclegan_on_the_real_digits_learns_to_reconstruct() -> None:
    """On the two real digit sets, a short run gets the round trips well below the cycle
    error of the untrained networks, in both directions."""
    from tutorial_lib.data import load_images

    a, b = load_images("digits", "smoke"), load_images("mnist5k", "smoke")
    torch.manual_seed(0)
    model = CycleGAN()
    untrained = cycle_consistency_loss(
        a.x_test, model.g_ba(model.g_ab(a.x_test)), b.x_test, model.g_ab(model.g_ba(b.x_test)))
    train_cyclegan(model, a.x_train, b.x_train, CycleGANTrainConfig(steps=150), device="cpu",
                   progress=False)
    with torch.no_grad():
        trained = cycle_consistency_loss(a.x_test, model.g_ba(model.g_ab(a.x_test)),
                                         b.x_test, model.g_ab(model.g_ba(b.x_test)))
    assert trained < 0.5 * untrained
