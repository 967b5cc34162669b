"""gan/: the losses, the toy metrics, chapter 6's optimal discriminator, the training
loop (steps, learning-rate decay, the generator average, DiffAugment) and latent paths."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as dist
from torch import nn

from tutorial_lib.budget import get_budget
from tutorial_lib.data import grid25, ring8
from tutorial_lib.gan import (
    Discriminator,
    GANConfig,
    GANTrainConfig,
    Generator,
    TrainingDiverged,
    make_discriminator,
    make_generator,
    mode_coverage,
    recipes,
    train_gan,
)
from tutorial_lib.gan import losses as L
from tutorial_lib.gan.optimal_discriminator import (
    fit_discriminator,
    optimal_discriminator,
    value_at_optimum,
    value_function,
)
from tutorial_lib.gan.train import LOSSES, discriminator_step, generator_step


# ---------------------------------------------------------------- losses
def test_cross_entropy_losses_on_hand_made_logits() -> None:
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 3.0])
    sig = torch.sigmoid
    expected_d = -(sig(real).log().mean() + (1 - sig(fake)).log().mean())
    torch.testing.assert_close(L.discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(L.generator_loss_saturating(fake), (1 - sig(fake)).log().mean())
    torch.testing.assert_close(L.generator_loss_nonsaturating(fake), -sig(fake).log().mean())
    # a perfect discriminator has (almost) zero loss
    assert L.discriminator_loss(torch.full((4,), 20.0), torch.full((4,), -20.0)) < 1e-8


def test_saturating_gradient_vanishes_where_nonsaturating_does_not() -> None:
    """When D confidently rejects fakes (logit -8), d loss / d logit is ~0 for the minimax
    loss and ~-1 for the non-saturating one (both push the logit up)."""
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_sat,) = torch.autograd.grad(L.generator_loss_saturating(logit), logit)
    (g_ns,) = torch.autograd.grad(L.generator_loss_nonsaturating(logit), logit)
    assert -1e-3 < float(g_sat) < 0
    assert float(g_ns) == pytest.approx(-1.0, abs=1e-3)


def test_wasserstein_and_hinge_losses_and_gradient_signs() -> None:
    real, fake = torch.tensor([1.0, 3.0], requires_grad=True), torch.tensor([0.0, -2.0],
                                                                              requires_grad=True)
    loss = L.critic_loss_wasserstein(real, fake)
    assert float(loss.detach()) == pytest.approx(-1 - 2)  # -(mean real - mean fake)
    gr, gf = torch.autograd.grad(loss, (real, fake))
    assert torch.all(gr < 0) and torch.all(gf > 0)  # raise real scores, lower fake ones
    assert float(L.generator_loss_wasserstein(fake.detach())) == pytest.approx(1.0)
    hinge = L.discriminator_loss_hinge(torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0]))
    assert float(hinge) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)


def test_gradient_penalty_is_zero_for_a_1_lipschitz_critic() -> None:
    w = torch.tensor([0.6, -0.8])  # unit norm: ||grad f|| = 1 everywhere
    critic = nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        critic.weight.copy_(w[None])
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 3
    assert float(L.gradient_penalty(critic, real, fake).detach()) < 1e-10
    with torch.no_grad():
        critic.weight.mul_(3.0)  # 3-Lipschitz: (3 - 1)^2 = 4
    assert float(L.gradient_penalty(critic, real, fake).detach()) == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_interpolates_uniformly() -> None:
    """With f(x) = ||x||^2/2 on 1-D points real = 1, fake = 0, x_hat = eps, grad = eps, so
    the penalty is E (eps - 1)^2 = 1/3 for eps ~ U[0, 1] (a standard normal eps would give
    E (|eps| - 1)^2 = 2 - 2 sqrt(2 / pi), about 0.40)."""
    real, fake = torch.ones(200_000, 1), torch.zeros(200_000, 1)
    value = L.gradient_penalty(lambda x: (x**2).sum(1) / 2, real, fake)
    assert float(value.detach()) == pytest.approx(1 / 3, abs=5e-3)


def test_r1_penalty_and_weight_clipping() -> None:
    real = torch.randn(8, 3)
    assert float(L.r1_penalty(lambda x: (2 * x).sum(1), real).detach()) == pytest.approx(12)
    layer = nn.Linear(3, 3)
    with torch.no_grad():
        layer.weight.fill_(5.0)
    L.clip_weights(layer, 0.01)
    assert layer.weight.abs().max() <= 0.01 and layer.bias.abs().max() <= 0.01


def test_spectral_norm_makes_the_top_singular_value_one() -> None:
    torch.manual_seed(0)
    d = make_discriminator(GANConfig(data_shape=(2,), hidden=32, spectral_norm=True))
    d.train()
    for _ in range(30):  # power iteration runs once per forward pass in training mode
        d(torch.randn(4, 2))
    layer = d.features[0]
    top = torch.linalg.matrix_norm(layer.weight.detach(), ord=2)
    assert float(top) == pytest.approx(1.0, abs=1e-3)


# ---------------------------------------------------------------- chapter 6's 1-D check
@pytest.mark.slow
def test_optimal_discriminator_and_the_jsd_identity() -> None:
    grid = torch.linspace(-12, 12, 8001, dtype=torch.float64)
    p = dist.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0)
    q = dist.Normal(torch.tensor(1.5, dtype=torch.float64), 0.7)
    d_star = optimal_discriminator(p.log_prob, q.log_prob, grid)
    torch.testing.assert_close(
        d_star, p.log_prob(grid).exp() / (p.log_prob(grid).exp() + q.log_prob(grid).exp()))
    fitted = fit_discriminator(p.log_prob, q.log_prob, grid, steps=3000, lr=0.05)
    # gradient ascent on V moves D(x) at a speed proportional to the density at x:
    # compare where the densities are not negligible
    where = (p.log_prob(grid).exp() + q.log_prob(grid).exp()) > 0.02
    torch.testing.assert_close(fitted[where], d_star[where], atol=2e-3, rtol=0)
    v_star, identity = value_at_optimum(p.log_prob, q.log_prob, grid)
    assert v_star == pytest.approx(identity, abs=1e-6)
    assert v_star > float(value_function(torch.full_like(grid, 0.5), p.log_prob, q.log_prob,
                                         grid))
    same, minimum = value_at_optimum(p.log_prob, p.log_prob, grid)
    assert same == pytest.approx(-math.log(4), abs=1e-6) and minimum == pytest.approx(same)


# ---------------------------------------------------------------- toy metrics
def test_mode_coverage_of_true_and_collapsed_samples() -> None:
    for target in (ring8(), grid25()):
        perfect = mode_coverage(target.sample(2500, seed=0), target)
        assert perfect.modes_captured == target.n_modes
        # P(||N(0, s^2 I_2)|| <= 3 s) = 1 - exp(-4.5) = 98.9%
        assert perfect.high_quality == pytest.approx(100 * (1 - math.exp(-4.5)), abs=1.0)
        collapsed = target.means_tensor()[:1] + target.std * torch.randn(2500, 2)
        one = mode_coverage(collapsed, target)
        assert one.modes_captured == 1 and one.high_quality > 95
        spread = mode_coverage(torch.randn(2500, 2) * 10, target)
        assert spread.high_quality < 5


# ---------------------------------------------------------------- models and training
GAN_VARIANTS = [
    GANConfig(data_shape=(2,), latent_dim=2, hidden=16),
    GANConfig(data_shape=(2,), latent_dim=4, hidden=16, spectral_norm=True),
    GANConfig(data_shape=(1, 28, 28), latent_dim=16, hidden=8),
    GANConfig(data_shape=(1, 8, 8), latent_dim=8, hidden=8, spectral_norm=True),
    GANConfig(data_shape=(1, 28, 28), latent_dim=8, hidden=8, num_classes=10),
    GANConfig(data_shape=(2,), latent_dim=2, hidden=16, num_classes=3),
]


@pytest.mark.parametrize(
    "config", GAN_VARIANTS,
    ids=lambda c: f"{c.data_shape}-sn{int(c.spectral_norm)}-c{c.num_classes}",
)
def test_every_gan_variant_runs_forward_and_backward(config: GANConfig) -> None:
    torch.manual_seed(0)
    g, d = make_generator(config), make_discriminator(config)
    y = torch.arange(6) % config.num_classes if config.num_classes else None
    x = g(g.sample_latent(6), y)
    assert x.shape == (6, *config.data_shape)
    out = d(x, y)
    assert out.shape == (6,)
    L.generator_loss_nonsaturating(out).backward()
    assert all(p.grad is not None for p in g.parameters())
    if len(config.data_shape) == 3:
        imgs = g.images(g.sample_latent(3), None if y is None else y[:3])
        assert imgs.min() >= 0 and imgs.max() <= 1


@pytest.mark.slow
@pytest.mark.parametrize("variant", LOSSES)
def test_each_loss_variant_trains_on_the_ring(variant: str) -> None:
    torch.manual_seed(0)
    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=32, layers=2)
    g, d = make_generator(config), make_discriminator(config)
    target = ring8()
    run = train_gan(g, d, lambda n: target.sample(n), GANTrainConfig(
        loss=variant, steps=20, batch_size=64, snapshot_every=10, ema=0.9),
        device="cpu", progress=False)
    assert len(run.history["loss_d"]) == 20
    assert all(math.isfinite(v) for v in run.history["loss_g"])
    assert [s for s, _ in run.snapshots] == [1, 10, 20]
    assert run.ema_generator is not None
    penalty = L.OBJECTIVES[variant].penalty  # its values are recorded, one per step
    assert {"gp", "r1"} & set(run.history) == ({penalty} if penalty else set())
    if penalty:
        assert len(run.history[penalty]) == 20 and min(run.history[penalty]) >= 0


def test_the_objective_table_is_the_variants_and_their_critic_steps() -> None:
    assert LOSSES == tuple(L.OBJECTIVES)
    assert {v: GANTrainConfig(loss=v).critic_steps() for v in LOSSES} == {
        "minimax": 1, "nonsaturating": 1, "wgan-clip": 5, "wgan-gp": 5, "hinge": 1, "r1": 1}
    assert GANTrainConfig(loss="wgan-gp", n_critic=2).critic_steps() == 2


@pytest.mark.parametrize("variant", ["wgan-gp", "r1"])
def test_the_discriminator_step_adds_its_penalty_and_reports_it(variant: str) -> None:
    torch.manual_seed(0)
    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1)
    g, d = make_generator(config), make_discriminator(config)
    train = GANTrainConfig(loss=variant, gp_weight=10.0, r1_gamma=4.0)
    real = torch.randn(16, 2)
    weights = {k: v.clone() for k, v in d.state_dict().items()}
    # the same computation by hand, on the same random numbers
    state = torch.get_rng_state()
    with torch.no_grad():
        fake = g(g.sample_latent(16))
    if variant == "wgan-gp":
        penalty = L.gradient_penalty(d, real, fake)
        loss = L.critic_loss_wasserstein(d(real), d(fake)) + 10.0 * penalty
    else:
        penalty = L.r1_penalty(d, real)
        loss = L.discriminator_loss(d(real), d(fake)) + 2.0 * penalty
    torch.set_rng_state(state)
    opt = torch.optim.SGD(d.parameters(), lr=0.1)
    terms = discriminator_step(g, d, opt, real, None, train)
    assert terms.loss == loss.item()
    assert terms.penalties() == {"gp" if variant == "wgan-gp" else "r1": penalty.item()}
    assert any(not torch.equal(weights[k], v) for k, v in d.state_dict().items())
    g_weights = [p.clone() for p in g.parameters()]
    assert math.isfinite(generator_step(g, d, torch.optim.SGD(g.parameters(), lr=0.1), 8,
                                        None, train))
    assert any(not torch.equal(a, p) for a, p in zip(g_weights, g.parameters(), strict=True))


@pytest.mark.slow
def test_divergence_stops_with_a_message_and_restores_the_last_good_state() -> None:
    torch.manual_seed(0)
    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=16, layers=1)
    g, d = make_generator(config), make_discriminator(config)
    calls = {"n": 0}

    def real(n: int) -> torch.Tensor:
        calls["n"] += 1
        x = torch.randn(n, 2)
        return x * float("nan") if calls["n"] > 6 else x  # the data go bad at step 4

    with pytest.raises(TrainingDiverged, match="at step 4 .*restored to their state after "
                       "step 3. Try a lower learning rate or another loss variant"):
        train_gan(g, d, real, GANTrainConfig(steps=10, batch_size=8), device="cpu",
                  progress=False)
    assert all(torch.isfinite(p).all() for p in g.parameters())
    assert all(torch.isfinite(p).all() for p in d.parameters())


@pytest.mark.slow
def test_a_nan_gradient_with_a_finite_loss_restores_the_networks_and_keeps_the_run() -> None:
    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=16, layers=1)
    train = GANTrainConfig(steps=10, batch_size=8, ema=0.9)
    states = []

    def remember(step: int, g: Generator, d: Discriminator) -> None:
        states.append([{k: v.clone() for k, v in m.state_dict().items()} for m in (g, d)])

    torch.manual_seed(0)
    healthy = train_gan(make_generator(config), make_discriminator(config), ring8().sample, train,
                        device="cpu", progress=False, callback=remember)
    torch.manual_seed(0)
    g, d = make_generator(config), make_discriminator(config)
    calls = {"n": 0}

    def poison(grad: torch.Tensor) -> torch.Tensor:  # G's gradient, once per generator step
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == 3 else grad

    g.net[0].weight.register_hook(poison)
    with pytest.raises(TrainingDiverged, match="at step 3 .*a parameter became NaN") as info:
        train_gan(g, d, ring8().sample, train, device="cpu", progress=False)
    err = info.value
    assert math.isfinite(err.history["loss_g"][-1]) and err.restored_to == 2
    assert err.history == {k: v[:2] for k, v in healthy.history.items()}
    for module, state in zip((g, d), states[1], strict=True):  # as after step 2, exactly
        assert all(torch.equal(v, state[k]) for k, v in module.state_dict().items())
    assert err.partial.history is err.history and err.partial.ema_generator is not None
    assert all(torch.isfinite(p).all() for p in err.partial.ema_generator.parameters())


def test_wrong_inputs_raise_clear_errors() -> None:
    g = make_generator(GANConfig(data_shape=(2,), latent_dim=2))
    d = make_discriminator(GANConfig(data_shape=(2,)))
    with pytest.raises(ValueError, match="trailing shape \\(2,\\)"):
        g(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="trailing shape \\(2,\\)"):
        d(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="one output per example"):
        L.discriminator_loss(torch.zeros(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="unknown loss"):
        train_gan(g, d, lambda n: torch.zeros(n, 2), GANTrainConfig(loss="lsgan"),
                  progress=False)
    for wrong in ({"batch_size": 0}, {"steps": 0}, {"n_critic": 0}):
        with pytest.raises(ValueError, match=next(iter(wrong))):
            train_gan(g, d, lambda n: torch.zeros(n, 2), GANTrainConfig(**wrong),
                      progress=False)
    with pytest.raises(ValueError, match="must match"):
        L.gradient_penalty(d, torch.zeros(3, 2), torch.zeros(4, 2))
    cond = make_discriminator(GANConfig(data_shape=(2,), num_classes=3))
    with pytest.raises(ValueError, match="needs labels"):
        cond(torch.zeros(3, 2))


@pytest.mark.gpu
def test_gan_variants_on_cuda_match_cpu_losses() -> None:
    real, fake = torch.randn(16), torch.randn(16)
    for loss in (L.discriminator_loss, L.discriminator_loss_hinge, L.critic_loss_wasserstein):
        torch.testing.assert_close(loss(real.cuda(), fake.cuda()).cpu(), loss(real, fake))
    for config in GAN_VARIANTS:
        g, d = make_generator(config).cuda(), make_discriminator(config).cuda()
        y = (torch.arange(4) % config.num_classes).cuda() if config.num_classes else None
        L.generator_loss_nonsaturating(d(g(g.sample_latent(4), y), y)).backward()


def test_value_at_optimum_is_finite_where_a_density_underflows() -> None:
    # far in the tails, p_g underflows to exactly 0 in float32; 0 log 0 must count as 0
    p, q = dist.Normal(0.0, 1.0), dist.Normal(6.0, 0.3)
    grid = torch.linspace(-8, 10, 3601)
    assert (q.log_prob(grid).exp() == 0).any()
    v, closed = value_at_optimum(p.log_prob, q.log_prob, grid)
    assert math.isfinite(v) and v == pytest.approx(closed, abs=1e-4)
    assert -math.log(4) < v <= 0


# --- DiffAugment ---------------------------------------------------------------------------

def test_translate_moves_each_image_by_its_own_offset_and_passes_gradients() -> None:
    from tutorial_lib.gan.diffaugment import translate

    x = torch.rand(6, 2, 8, 8, requires_grad=True)
    out = translate(x, 2, fill=-1.0, generator=torch.Generator().manual_seed(3))
    offsets = torch.randint(0, 5, (6, 2), generator=torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        assert torch.equal(out[i], padded[i, :, dy:dy + 8, dx:dx + 8])
    out.sum().backward()
    # each input pixel reaches the output at most once, so its gradient is 0 or 1
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0} and x.grad.sum() > 0


def test_cutout_blanks_one_square_and_diff_augment_checks_its_policy() -> None:
    from tutorial_lib.gan.diffaugment import cutout, diff_augment

    x = torch.rand(20, 1, 16, 16)  # values in [0, 1): a filled pixel is exactly -1
    out = cutout(x, 4, fill=-1.0, generator=torch.Generator().manual_seed(0))
    blank = out == -1.0
    for i in range(20):
        rows, cols = blank[i, 0].any(1).nonzero(), blank[i, 0].any(0).nonzero()
        assert 1 <= len(rows) <= 4 and 1 <= len(cols) <= 4  # a square, clipped at the edge
        assert blank[i, 0].sum() == len(rows) * len(cols)
        assert torch.equal(out[i][~blank[i]], x[i][~blank[i]])
    assert diff_augment(x, "").data_ptr() == x.data_ptr()
    assert diff_augment(x, "translation,cutout").shape == x.shape
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        diff_augment(x, "translation,flip")
    with pytest.raises(ValueError, match="applies to images"):
        diff_augment(torch.rand(8, 2), "translation")


@pytest.mark.slow
def test_training_with_diffaugment_runs_on_images() -> None:
    config = GANConfig(data_shape=(1, 8, 8), latent_dim=4, hidden=8)
    g, d = make_generator(config), make_discriminator(config)
    run = train_gan(g, d, lambda n: torch.rand(n, 1, 8, 8) * 2 - 1,
                    GANTrainConfig(steps=3, batch_size=8, augment="translation,cutout"),
                    device="cpu", progress=False)
    assert len(run.history["loss_d"]) == 3
    assert all(math.isfinite(v) for v in run.history["loss_g"])


def test_toy_recipe_book_steps_replaces_the_variants_steps_at_every_budget():
    for budget in ("smoke", "book", "full"):
        _, default = recipes.toy_recipe("r1", budget)
        _, short = recipes.toy_recipe("r1", budget, book_steps=4000)
        factor = get_budget(budget).steps_factor
        assert default.steps == max(20, round(recipes.TOY_VARIANTS["r1"].book_steps * factor))
        assert short.steps == max(20, round(4000 * factor))
    with pytest.raises(ValueError, match="book_steps"):
        recipes.toy_recipe("r1", "book", book_steps=0)


@pytest.mark.slow
def test_gan_time_budget_stops_training_with_the_learning_rate_decayed() -> None:
    from tutorial_lib.gan import (
        GANConfig,
        GANTrainConfig,
        make_discriminator,
        make_generator,
        train_gan,
    )

    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1)
    g, d = make_generator(config), make_discriminator(config)
    seen: list[float] = []
    run = train_gan(g, d, lambda n: torch.randn(n, 2),
                    GANTrainConfig(steps=10**9, max_seconds=0.3, decay_from=0.5, batch_size=8),
                    device="cpu", progress=False,
                    callback=lambda step, g, d: seen.append(step))
    assert 1 <= len(run.history["step"]) == len(seen) < 10**9


@pytest.mark.slow
def test_learning_rates_decay_linearly_to_zero(tiny_gan: GANConfig) -> None:
    from tutorial_lib.gan.train import learning_rate_factor

    factor = learning_rate_factor(GANTrainConfig(steps=10, decay_from=0.5))
    assert [factor(k) for k in range(6)] == [1.0] * 6
    assert [factor(k) for k in range(6, 11)] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    constant = learning_rate_factor(GANTrainConfig(steps=10))
    assert {constant(k) for k in range(11)} == {1.0}
    torch.manual_seed(0)
    g, d = make_generator(tiny_gan), make_discriminator(tiny_gan)
    lrs: list[float] = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = spy
    try:
        train_gan(g, d, ring8().sample, GANTrainConfig(steps=4, batch_size=8, lr_g=1e-3,
                                                       lr_d=1e-3, decay_from=0.5),
                  device="cpu", progress=False)
    finally:
        torch.optim.Adam.step = original
    # (D step, G step) per iteration; the factor is 1, 1, 1, 0.5 for steps 1..4
    assert lrs == pytest.approx([1e-3] * 6 + [5e-4] * 2)



def test_slerp_keeps_the_norm_and_hits_both_endpoints() -> None:
    from tutorial_lib.gan.latent import interpolate_latents, slerp

    torch.manual_seed(0)
    z0 = torch.randn(64)
    z1 = torch.randn(64)
    z1 = z1 / z1.norm() * z0.norm()  # equal norms: slerp stays on the sphere
    path = interpolate_latents(z0, z1, 9)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(9), atol=1e-4,
                               rtol=1e-4)
    # equal angles between consecutive points (constant speed on the circle)
    cos = torch.nn.functional.cosine_similarity(path[1:], path[:-1], dim=1)
    torch.testing.assert_close(cos, cos[0].expand(8), atol=1e-5, rtol=1e-5)
    straight = interpolate_latents(z0, z1, 9, spherical=False)
    assert straight.norm(dim=1)[4] < 0.9 * z0.norm()  # the straight midpoint is short
    torch.testing.assert_close(slerp(z0, 2 * z0, torch.tensor([0.5])), 1.5 * z0[None])
    with pytest.raises(ValueError, match="steps must be at least 2"):
        interpolate_latents(z0, z1, 1)


@pytest.mark.parametrize("scale", [1.0, 1.3])  # equal and unequal norms
@pytest.mark.parametrize("tilt", [0.0, 1e-6, 1e-4])  # exactly, then nearly, opposite
def test_slerp_between_opposite_codes_is_finite_and_turns_by_pi(scale: float,
                                                                  tilt: float) -> None:
    from tutorial_lib.gan.latent import slerp

    z0 = torch.randn(64, generator=torch.Generator().manual_seed(0))
    z1 = -scale * z0
    z1[0] += tilt * z0.norm()  # an angle within about tilt of pi
    t = torch.linspace(0, 1, 9)
    path = slerp(z0, z1, t)
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    # the norm interpolates linearly between the endpoints' (to the 1e-3 end correction)
    radius = (1 - t) * z0.norm() + t * z1.norm()
    torch.testing.assert_close(path.norm(dim=1), radius, rtol=2e-3, atol=0.0)
    # the angle to z0 grows as t pi: a half turn at constant speed
    cos = torch.nn.functional.cosine_similarity(path, z0.expand_as(path), dim=1)
    torch.testing.assert_close(cos, torch.cos(t * torch.pi), rtol=0.0, atol=2e-3)


@pytest.mark.parametrize("tilt", [0.0, 1e-7, 1e-5, 1e-3])
def test_slerp_between_nearly_parallel_codes_is_the_straight_line(tilt: float) -> None:
    from tutorial_lib.gan.latent import slerp

    z0 = torch.randn(64, generator=torch.Generator().manual_seed(1))
    z1 = 1.5 * z0
    z1[0] += tilt * z0.norm()
    t = torch.linspace(0, 1, 9)
    path = slerp(z0, z1, t)
    # the arc and the chord differ by O(angle^2) relative to the norms
    straight = (1 - t[:, None]) * z0 + t[:, None] * z1
    atol = 10 * max(tilt**2, 1e-6) * float(z1.norm())
    torch.testing.assert_close(path, straight, rtol=0.0, atol=atol)


def test_slerp_refuses_opposite_one_dimensional_codes() -> None:
    from tutorial_lib.gan.latent import slerp

    with pytest.raises(ValueError, match="dimension at least 2"):
        slerp(torch.tensor([1.0]), torch.tensor([-2.0]), torch.tensor([0.5]))



@pytest.mark.slow
def test_the_generator_average_is_the_warmed_up_exponential_average(tiny_gan: GANConfig) -> None:
    from tutorial_lib.gan.train import ema_decay

    assert ema_decay(0.999, 1) == pytest.approx(2 / 11)
    assert ema_decay(0.999, 10_000) == 0.999
    torch.manual_seed(0)
    g, d = make_generator(tiny_gan), make_discriminator(tiny_gan)
    history: list[torch.Tensor] = []
    run = train_gan(g, d, ring8().sample,
                    GANTrainConfig(steps=6, batch_size=8, ema=0.9),
                    device="cpu", progress=False,
                    callback=lambda step, g, d: history.append(
                        g.net[0].weight.detach().clone()))
    torch.manual_seed(0)  # the same seed gives the initial weights again
    first = make_generator(tiny_gan).net[0].weight.detach().clone()
    expected = first
    for step, w in enumerate(history, start=1):
        beta = ema_decay(0.9, step)
        expected = beta * expected + (1 - beta) * w
    torch.testing.assert_close(run.ema_generator.net[0].weight, expected)
