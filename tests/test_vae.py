"""Part II: the VAE's mathematics against exact references, and every model variant."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as dist

from tutorial_lib.data import load_images
from tutorial_lib.vae import (
    PPCA,
    VAE,
    TrainingDiverged,
    VAEConfig,
    VAETrainConfig,
    active_units,
    elbo,
    estimate_log_likelihood,
    interpolate,
    iwae_bound,
    kl_per_dimension,
    kl_to_standard_normal,
    latent_grid,
    reconstruct,
    reparameterize,
    sample_images,
    train_vae,
)
from tutorial_lib.vae.likelihoods import BernoulliLikelihood, GaussianLikelihood


# ---------------------------------------------------------------- closed forms
def test_kl_to_standard_normal_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    q = dist.Independent(dist.Normal(mu, (0.5 * log_var).exp()), 1)
    p = dist.Independent(dist.Normal(torch.zeros(5), torch.ones(5)), 1)
    torch.testing.assert_close(kl_to_standard_normal(mu, log_var), dist.kl_divergence(q, p))
    assert torch.all(kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)) == 0)


def test_reparameterized_samples_have_the_right_moments() -> None:
    mu, log_var = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, math.log(0.25)]])
    z = reparameterize(mu, log_var, n_samples=200_000)
    assert z.shape == (200_000, 1, 2)
    torch.testing.assert_close(z.mean(0), mu, atol=0.01, rtol=0)
    torch.testing.assert_close(z.var(0), log_var.exp(), atol=0.01, rtol=0)


def test_reparameterized_gradient_matches_the_analytic_gradient() -> None:
    """d/d(mu, log_var) of E[sum z^2] = sum mu^2 + sigma^2 is (2 mu, sigma^2)."""
    mu = torch.tensor([[0.7, -1.2, 0.1]], requires_grad=True)
    log_var = torch.tensor([[0.3, -0.8, 0.0]], requires_grad=True)
    z = reparameterize(mu, log_var, n_samples=400_000)
    z.pow(2).sum(-1).mean().backward()
    torch.testing.assert_close(mu.grad, 2 * mu.detach(), atol=0.01, rtol=0)
    torch.testing.assert_close(log_var.grad, log_var.detach().exp(), atol=0.01, rtol=0)


def test_likelihoods_match_torch_distributions() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 1, 8, 8, generator=g)
    x = torch.bernoulli(torch.full((4, 1, 8, 8), 0.4), generator=g)
    expected = dist.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(BernoulliLikelihood().log_prob(x, logits), expected)
    x_grey, mean = torch.rand(4, 1, 8, 8, generator=g), torch.rand(4, 1, 8, 8, generator=g)
    for lik in (GaussianLikelihood(0.05), GaussianLikelihood(0.3, learned=True)):
        sd = float(lik.log_var.detach().exp().sqrt())
        expected = dist.Normal(mean, sd).log_prob(x_grey).flatten(1).sum(1)
        torch.testing.assert_close(lik.log_prob(x_grey, mean), expected)
    assert GaussianLikelihood(0.3, learned=True).log_var.requires_grad


@pytest.mark.parametrize("log_var", [-20.0, -3.0, 10.0])  # below, inside, above the clamp
def test_gaussian_sample_draws_from_the_distribution_log_prob_scores(log_var: float) -> None:
    lik = GaussianLikelihood(0.1, learned=True)
    with torch.no_grad():
        lik.log_var.fill_(log_var)  # where training could push a learned s^2
    mean = torch.full((2, 1, 8, 8), 0.5)
    d = mean[0].numel()
    # log p(mean | mean) = -d/2 (log 2 pi + log s^2): read off the s^2 that log_prob uses
    log_var_scored = -2 * lik.log_prob(mean, mean) / d - math.log(2 * math.pi)
    torch.testing.assert_close(log_var_scored, lik.log_variance().expand(2))
    torch.manual_seed(3)
    noise = lik.sample(mean) - mean
    torch.manual_seed(3)
    eps = torch.randn_like(mean)
    torch.testing.assert_close(noise, eps * (0.5 * log_var_scored[0]).exp())


def test_gaussian_variance_outside_the_clamp_is_refused() -> None:
    with pytest.raises(ValueError, match="variance must lie in"):
        GaussianLikelihood(1e-9)
    with pytest.raises(ValueError, match="variance must be positive"):
        VAE(VAEConfig(image_shape=(1, 8, 8), likelihood="bernoulli", decoder_variance=0.0))


@pytest.mark.parametrize("likelihood", ["gaussian", "gaussian-learned"])
def test_vae_config_sets_the_decoder_variance_and_a_saved_config_rebuilds_it(
        likelihood: str) -> None:
    from dataclasses import asdict

    config = VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(8,),
                       likelihood=likelihood, decoder_variance=0.01)
    vae = VAE(config)
    torch.testing.assert_close(vae.likelihood.log_variance(), torch.tensor(math.log(0.01)))
    rebuilt = VAE(VAEConfig(**asdict(config)))  # the fields a checkpoint stores
    # s^2 comes from the config alone, before any weights are loaded
    torch.testing.assert_close(rebuilt.likelihood.log_variance(), torch.tensor(math.log(0.01)))
    rebuilt.load_state_dict(vae.state_dict())
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = vae.decode(torch.zeros(3, 2))
    torch.testing.assert_close(rebuilt.log_px_given_z(x, out), vae.log_px_given_z(x, out))
    # the default stays s^2 = 0.1
    default = VAE(VAEConfig(image_shape=(1, 8, 8), likelihood=likelihood))
    torch.testing.assert_close(default.likelihood.log_variance(), torch.tensor(math.log(0.1)))


def test_binomial_likelihood_matches_torch_and_needs_counts() -> None:
    from tutorial_lib.vae.likelihoods import BinomialLikelihood

    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 1, 8, 8, generator=g)
    counts = torch.randint(0, 17, (3, 1, 8, 8), generator=g).float()
    expected = dist.Binomial(16, logits=logits).log_prob(counts).flatten(1).sum(1)
    torch.testing.assert_close(BinomialLikelihood(16).log_prob(counts / 16, logits), expected)
    digits = load_images("digits", "book").x_test[:4]  # the real data are counts / 16
    assert torch.isfinite(BinomialLikelihood(16).log_prob(digits, torch.zeros_like(digits))).all()
    with pytest.raises(ValueError, match="multiples of 1/16"):
        BinomialLikelihood(16).log_prob(torch.full((1, 1, 8, 8), 0.3), torch.zeros(1, 1, 8, 8))


# ---------------------------------------------------------------- PPCA: exact checks
@pytest.fixture(scope="module")
def ppca_digits() -> tuple[PPCA, torch.Tensor]:
    digits = load_images("digits", "book")
    x = digits.x_train.flatten(1).double()
    return PPCA.fit(x, k=4), digits.x_test[:64].flatten(1).double()


def test_ppca_fit_is_the_maximum_likelihood_solution(ppca_digits) -> None:
    model, _ = ppca_digits
    digits = load_images("digits", "book")
    x = digits.x_train.flatten(1).double()
    base = float(model.log_prob(x).mean())
    for scale in (0.9, 1.1):  # perturbing W or sigma^2 lowers the likelihood
        assert float(PPCA(model.W * scale, model.mu, model.sigma2).log_prob(x).mean()) < base
        assert float(PPCA(model.W, model.mu, model.sigma2 * scale).log_prob(x).mean()) < base


def test_elbo_is_below_log_px_with_gap_kl_and_tight_at_the_posterior(ppca_digits) -> None:
    model, x = ppca_digits
    log_px = model.log_prob(x)
    post_mean, post_cov = model.posterior(x)
    torch.testing.assert_close(model.elbo(x, post_mean, post_cov), log_px, atol=1e-8, rtol=0)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        q_mean = post_mean + 0.5 * torch.randn(post_mean.shape, generator=g, dtype=torch.float64)
        a = torch.randn(4, 4, generator=g, dtype=torch.float64)
        q_cov = a @ a.T / 4 + 0.05 * torch.eye(4, dtype=torch.float64)
        bound = model.elbo(x, q_mean, q_cov)
        assert torch.all(bound < log_px)
        gap = model.kl_to_posterior(x, q_mean, q_cov)
        torch.testing.assert_close(log_px - bound, gap, atol=1e-8, rtol=1e-8)


def test_closed_form_elbo_matches_monte_carlo(ppca_digits) -> None:
    model, x = ppca_digits
    x = x[:3]
    q_mean, q_cov = model.posterior(x)
    q_mean = q_mean + 0.3
    q_cov = q_cov * 1.5
    q = dist.MultivariateNormal(q_mean, covariance_matrix=q_cov)
    z = q.sample((200_000,))  # (S, B, k)
    lik = dist.Independent(dist.Normal(z @ model.W.T + model.mu, math.sqrt(model.sigma2)), 1)
    prior = dist.MultivariateNormal(torch.zeros(4, dtype=torch.float64),
                                    torch.eye(4, dtype=torch.float64))
    mc = (lik.log_prob(x) + prior.log_prob(z) - q.log_prob(z)).mean(0)
    torch.testing.assert_close(mc, model.elbo(x, q_mean, q_cov), atol=0.05, rtol=0)


def _vae_equal_to_ppca(model: PPCA, inflate: float = 1.0, shift: float = 0.0) -> VAE:
    """A linear VAE whose decoder is exactly the PPCA and whose encoder is its posterior
    (times ``inflate`` on the variance, plus ``shift`` on the mean): exact references."""
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=4, hidden=(), likelihood="gaussian"))
    vae.double()
    M = model.W.T @ model.W + model.sigma2 * torch.eye(4, dtype=torch.float64)
    M_inv = torch.linalg.inv(M)
    post_var = torch.diagonal(model.sigma2 * M_inv)  # W has orthogonal columns: M is diagonal
    with torch.no_grad():
        head = vae.encoder.head
        head.weight.zero_()
        head.bias.zero_()
        head.weight[:4] = M_inv @ model.W.T
        head.bias[:4] = -(M_inv @ model.W.T @ model.mu) + shift
        head.bias[4:] = (post_var * inflate).log()
        lin = vae.decoder.net[0]
        lin.weight.copy_(model.W)
        lin.bias.copy_(model.mu)
        vae.likelihood.log_var.fill_(math.log(model.sigma2))
    return vae


def test_a_vae_built_from_ppca_has_the_exact_elbo_and_likelihood(ppca_digits) -> None:
    model, x = ppca_digits
    images = x.view(-1, 1, 8, 8)
    vae = _vae_equal_to_ppca(model)
    with torch.no_grad():
        # at the exact posterior every importance weight equals p(x): the bound is exact
        torch.testing.assert_close(iwae_bound(vae, images, k=3), model.log_prob(x),
                                   atol=1e-6, rtol=0)
        terms = elbo(vae, images, n_samples=20_000)
        torch.testing.assert_close(terms.elbo, model.log_prob(x), atol=0.05, rtol=0)


def test_iwae_bound_grows_with_k_towards_log_px(ppca_digits) -> None:
    model, x = ppca_digits
    images = x[:16].view(-1, 1, 8, 8)
    vae = _vae_equal_to_ppca(model, inflate=4.0, shift=0.3)
    exact = model.log_prob(x[:16]).mean()
    torch.manual_seed(0)
    with torch.no_grad():
        bounds = [float(iwae_bound(vae, images, k, chunk=256).mean()) for k in (1, 10, 100, 2000)]
    assert bounds == sorted(bounds), bounds
    # below log p(x) in expectation; one estimate may exceed it by Monte Carlo noise
    assert all(b < exact for b in bounds[:-1])
    assert abs(float(exact) - bounds[-1]) < 0.02 * (float(exact) - bounds[0])
    estimate = estimate_log_likelihood(vae, images, k=5000, batch_size=8, chunk=1000,
                                       progress=False)
    assert abs(-estimate.nll - float(exact)) < 0.1
    assert estimate.bits_per_dim == pytest.approx(estimate.nll / (64 * math.log(2)))


# ---------------------------------------------------------------- models and training
VARIANTS = [
    VAEConfig(image_shape=(1, 28, 28), arch="mlp", latent_dim=2),
    VAEConfig(image_shape=(1, 28, 28), arch="conv", latent_dim=16, hidden=(64,),
              channels=(8, 16)),
    VAEConfig(image_shape=(1, 8, 8), arch="mlp", latent_dim=3, hidden=(32, 16), dropout=0.1),
    VAEConfig(image_shape=(1, 8, 8), arch="conv", latent_dim=5, hidden=(32,), channels=(4, 8)),
    VAEConfig(image_shape=(1, 8, 8), arch="mlp", latent_dim=4, likelihood="gaussian"),
    VAEConfig(image_shape=(1, 8, 8), arch="conv", latent_dim=4, hidden=(32,),
              channels=(4, 8), likelihood="binomial16"),
    VAEConfig(image_shape=(1, 28, 28), arch="conv", latent_dim=4, hidden=(32,),
              channels=(4, 8), likelihood="gaussian-learned"),
    VAEConfig(image_shape=(1, 28, 28), arch="mlp", latent_dim=8, hidden=(64,), num_classes=10),
    VAEConfig(image_shape=(1, 8, 8), arch="conv", latent_dim=2, hidden=(16,), channels=(4, 8),
              num_classes=10),
]


@pytest.mark.parametrize("config", VARIANTS, ids=lambda c: f"{c.arch}-{c.image_shape[1]}-"
                         f"{c.likelihood}-{'cond' if c.num_classes else 'plain'}")
def test_every_variant_runs_forward_and_backward(config: VAEConfig) -> None:
    torch.manual_seed(0)
    vae = VAE(config)
    x = torch.bernoulli(torch.full((6, *config.image_shape), 0.3))
    if config.likelihood == "binomial16":
        x = torch.randint(0, 17, x.shape).float() / 16
    y = torch.arange(6) if config.num_classes else None
    terms = elbo(vae, x, y, beta=0.5, free_bits=0.1, n_samples=2)
    assert terms.reconstruction.shape == terms.kl.shape == (6,)
    assert terms.kl_per_dim.shape == (6, config.latent_dim)
    assert torch.isfinite(terms.loss) and torch.all(terms.elbo <= 0.0 + 1e9)
    terms.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in vae.parameters() if p.requires_grad)
    assert torch.isfinite(iwae_bound(vae, x, 3, y)).all()
    assert sample_images(vae, 4, y=1 if config.num_classes else None).shape == (4,
                                                                               *config.image_shape)
    assert reconstruct(vae, x, y).shape == x.shape


def test_free_bits_and_beta_enter_the_loss_as_defined() -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=(16,)))
    x = torch.bernoulli(torch.full((5, 1, 8, 8), 0.5))
    torch.manual_seed(1)
    t = elbo(vae, x, beta=2.0, free_bits=0.5)
    expected = -(t.reconstruction.mean() - 2.0 * t.kl_per_dim.mean(0).clamp_min(0.5).sum())
    torch.testing.assert_close(t.loss, expected)
    torch.manual_seed(1)
    plain = elbo(vae, x)
    torch.testing.assert_close(plain.loss, -plain.elbo.mean())


@pytest.mark.slow
def test_training_improves_the_elbo_and_keeps_a_float_history() -> None:
    digits = load_images("digits", "book")
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=4, hidden=(64,)))
    cfg = VAETrainConfig(epochs=6, batch_size=64, lr=3e-3, warmup_epochs=2, patience=None)
    history = train_vae(vae, digits.x_train[:600], digits.x_test[:200], config=cfg,
                        device="cpu", progress=False)
    assert history["val_elbo"][-1] > history["val_elbo"][0] + 5
    assert history["beta"][:3] == [0.5, 1.0, 1.0]
    assert all(isinstance(v, float) for v in history["train_elbo"])


@pytest.mark.slow
def test_divergence_stops_with_a_clear_message_and_keeps_the_last_good_state() -> None:
    digits = load_images("digits", "book")
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    before = {k: v.clone() for k, v in vae.state_dict().items()}

    def poison(module, inputs, output):  # the decoder starts returning NaN
        return output * float("nan")

    vae.decoder.register_forward_hook(poison)
    with pytest.raises(TrainingDiverged, match="restored"):
        train_vae(vae, digits.x_train[:200], config=VAETrainConfig(epochs=2), device="cpu",
                  progress=False)
    assert all(torch.equal(before[k], v) for k, v in vae.state_dict().items())
    for wrong in ({"epochs": 0}, {"batch_size": 0}):  # an error up front, not a divergence
        with pytest.raises(ValueError, match=next(iter(wrong))):
            train_vae(vae, digits.x_train[:200], config=VAETrainConfig(**wrong),
                      device="cpu", progress=False)


def test_collapse_diagnostics_find_dead_dimensions() -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=4, hidden=()))
    with torch.no_grad():  # dimensions 2 and 3: q(z_j | x) = N(0, 1) for every x
        vae.encoder.head.weight[[2, 3, 6, 7]] = 0.0
        vae.encoder.head.bias[[2, 3, 6, 7]] = 0.0
        vae.encoder.head.weight[:2] *= 5
    x = load_images("digits", "book").x_test
    kl = kl_per_dimension(vae, x)
    assert kl[2] == 0 and kl[3] == 0 and kl[0] > 0.01 and kl[1] > 0.01
    assert active_units(vae, x) == 2


def test_interpolation_and_latent_grid_shapes_and_endpoints() -> None:
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    x = load_images("digits", "book").x_test[:2]
    path = interpolate(vae, x[0], x[1], steps=7)
    assert path.shape == (7, 1, 8, 8)
    torch.testing.assert_close(path[0], reconstruct(vae, x[:1])[0])
    torch.testing.assert_close(path[-1], reconstruct(vae, x[1:])[0])
    assert latent_grid(vae, n=5).shape == (25, 1, 8, 8)


@pytest.mark.parametrize(
    "bad,message",
    [
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "uint8"),
        (torch.rand(2, 1, 28, 28), "binary values"),  # grey levels to a Bernoulli decoder
        (torch.full((2, 1, 28, 28), 2.0), "values in \\[0, 1\\]"),
        (torch.zeros(2, 1, 8, 8), "shape \\(1, 28, 28\\)"),
        (torch.zeros(2, 784), "shape \\(B, C, H, W\\)"),
    ],
)
def test_wrong_inputs_raise_clear_errors(bad: torch.Tensor, message: str) -> None:
    vae = VAE(VAEConfig())
    with pytest.raises((TypeError, ValueError), match=message):
        elbo(vae, bad)


def test_conditional_model_needs_labels_and_plain_model_refuses_them() -> None:
    x = torch.zeros(3, 1, 8, 8)
    cond = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, num_classes=10))
    with pytest.raises(ValueError, match="needs labels"):
        elbo(cond, x)
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        elbo(cond, x, torch.tensor([0, 1, 10]))
    plain = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2))
    with pytest.raises(ValueError, match="not conditional"):
        elbo(plain, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="exist for 28x28 and 8x8"):
        VAE(VAEConfig(image_shape=(1, 16, 16), arch="conv"))


@pytest.mark.gpu
def test_every_variant_on_cuda() -> None:
    for config in VARIANTS:
        vae = VAE(config).cuda()
        x = torch.bernoulli(torch.full((4, *config.image_shape), 0.3, device="cuda"))
        y = torch.arange(4, device="cuda") if config.num_classes else None
        terms = elbo(vae, x, y)
        terms.loss.backward()
        cpu = VAE(config)
        cpu.load_state_dict({k: v.cpu() for k, v in vae.state_dict().items()})
        torch.manual_seed(0)
        out_gpu = vae.decode(torch.ones(2, config.latent_dim, device="cuda"),
                             None if y is None else y[:2]).cpu()
        out_cpu = cpu.decode(torch.ones(2, config.latent_dim), None if y is None else y[:2].cpu())
        torch.testing.assert_close(out_gpu, out_cpu, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------- explorers and data split
def test_explorers_draw_static_figures_without_a_kernel(monkeypatch) -> None:
    from matplotlib.figure import Figure

    from tutorial_lib.vae.explorers import interpolation_explorer, latent_explorer

    monkeypatch.setenv("TUTORIAL_STATIC_WIDGETS", "1")
    torch.manual_seed(0)
    vae2 = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    digits = load_images("digits", "book")
    fig = latent_explorer(vae2, static_grid=6)
    assert isinstance(fig, Figure) and fig.axes[0].images[0].get_array().shape[0] > 8 * 6
    fig = interpolation_explorer(vae2, digits.x_test, digits.y_test, steps=5)
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="2 latent dimensions"):
        latent_explorer(VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=3)))


def test_explorers_build_live_widgets_that_redraw(monkeypatch) -> None:
    import ipywidgets

    from tutorial_lib.vae.explorers import interpolation_explorer, latent_explorer

    monkeypatch.delenv("TUTORIAL_STATIC_WIDGETS", raising=False)
    torch.manual_seed(0)
    vae2 = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    box = latent_explorer(vae2)
    assert isinstance(box, ipywidgets.HBox)
    sliders = box.children[0].children
    sliders[0].value = 1.5  # triggers a redraw; must not raise
    digits = load_images("digits", "book")
    box = interpolation_explorer(vae2, digits.x_test, digits.y_test)
    assert isinstance(box, ipywidgets.VBox)
    box.children[1].value = 0.9


def test_validation_split_is_stratified_disjoint_and_seeded() -> None:
    from tutorial_lib.data import train_validation_split

    d = load_images("mnist5k", "book")
    a = train_validation_split(d.x_train, d.y_train, 500, seed=3)
    b = train_validation_split(d.x_train, d.y_train, 500, seed=3)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    x_tr, y_tr, x_val, y_val = a
    assert len(x_tr) == 3500 and len(x_val) == 500
    assert torch.bincount(y_val).tolist() == [50] * 10
    joined = torch.cat([x_tr, x_val]).flatten(1)
    assert len(torch.unique(joined, dim=0)) == len(torch.unique(d.x_train.flatten(1), dim=0))
    with pytest.raises(ValueError, match="leaves no training images"):
        train_validation_split(d.x_train, d.y_train, 4000)
