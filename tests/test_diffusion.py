"""The diffusion model's parts against closed forms: the schedules as published, the forward
marginals against the chain, the posterior against Gaussian conditioning, the per-step KL
against torch.distributions, and the whole ELBO against an exact log-likelihood (data
N(0, 1), the one distribution the forward process leaves unchanged, whose exact reverse
process is known)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from tutorial_lib.diffusion import (
    DenoiserConfig,
    MLPDenoiser,
    UNetConfig,
    UNetDenoiser,
    ancestral_sample,
    cosine_schedule,
    decoder_log_prob,
    elbo_terms,
    elbo_weights,
    gaussian_kl,
    linear_schedule,
    model_mean,
    noise_loss,
    posterior,
    predicted_x,
    q_sample,
    respace,
    reverse_variances,
)
from tutorial_lib.diffusion.images import ImageDiffusion, ImageDiffusionConfig

SCHEDULES = {"linear": lambda: linear_schedule(100), "cosine": lambda: cosine_schedule(60)}


def exact_eps(schedule):
    """E[eps | z_t] for data N(0, I): z_t = sqrt(ab) x + sqrt(1 - ab) eps with x, eps
    independent standard normals, so the best noise prediction is sqrt(1 - ab_t) z_t."""
    ab = schedule.alpha_bars

    def eps_model(z, steps):
        return (1 - ab[steps]).sqrt().to(z.dtype).view(-1, *([1] * (z.dim() - 1))) * z
    return eps_model


# --- schedules ----------------------------------------------------------------------------

def test_linear_schedule_is_ho_et_al_and_cosine_is_nichol_dhariwal() -> None:
    s = linear_schedule(1000)
    betas = 1 - s.alphas[1:]
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    assert torch.allclose(betas.diff(), betas.diff()[0].expand(999), atol=1e-15)
    assert torch.allclose(s.alpha_bars[1:], torch.cumprod(1 - betas, 0))
    assert s.alpha_bars[-1].item() < 1e-4  # nothing of x is left
    c = cosine_schedule(1000, s=0.008)
    t = torch.arange(1001, dtype=torch.float64)
    f = torch.cos(math.pi / 2 * (t / 1000 + 0.008) / 1.008) ** 2
    unclipped = (1 - c.alphas) < 0.999
    assert torch.allclose(c.alpha_bars[unclipped], (f / f[0])[unclipped], rtol=1e-10)


@pytest.mark.parametrize("name", SCHEDULES)
def test_respacing_keeps_the_marginals_of_the_kept_steps(name: str) -> None:
    s = SCHEDULES[name]()
    r = respace(s, 10)
    assert r.T == 10 and r.steps[-1] == s.T and r.steps[0] == 0
    assert torch.allclose(r.alpha_bars, s.alpha_bars[r.steps], rtol=1e-12)
    same = respace(s, s.T)
    assert torch.equal(same.steps, s.steps) and torch.allclose(same.alphas, s.alphas)


# --- the forward process --------------------------------------------------------------------

@pytest.mark.parametrize("name", SCHEDULES)
def test_the_chain_and_the_one_step_marginal_agree(name: str) -> None:
    s = SCHEDULES[name]()
    # the chain's coefficient of x and its noise variance, step by step (the lemma's induction)
    coef, var = 1.0, 0.0
    for t in range(1, s.T + 1):
        a = s.alphas[t].item()
        coef, var = math.sqrt(a) * coef, a * var + (1 - a)
        assert coef == pytest.approx(s.alpha_bars[t].sqrt().item(), rel=1e-10)
        assert var == pytest.approx(1 - s.alpha_bars[t].item(), rel=1e-10, abs=1e-14)
    # and by sampling: run the chain for t steps, compare with q(z_t | x)
    gen, n, t = torch.Generator().manual_seed(0), 100_000, s.T // 3
    x = torch.tensor([[1.5, -0.5]], dtype=torch.float64).expand(n, 2)
    z = x.clone()
    for step in range(1, t + 1):
        a = s.alphas[step]
        z = a.sqrt() * z + (1 - a).sqrt() * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    direct = q_sample(x, torch.full((n,), t), torch.randn(n, 2, generator=gen,
                                                          dtype=torch.float64), s)
    ab = s.alpha_bars[t]
    for draws in (z, direct):
        se_mean = math.sqrt((1 - ab) / n)
        assert (draws.mean(0) - ab.sqrt() * x[0]).abs().max() < 6 * se_mean
        assert (draws.var(0) - (1 - ab)).abs().max() < 6 * (1 - ab) * math.sqrt(2 / n)
    eps = torch.randn(5, 2, generator=gen, dtype=torch.float64)
    steps = torch.tensor([1, 2, 5, 9, s.T])
    assert torch.allclose(predicted_x(q_sample(x[:5], steps, eps, s), steps, eps, s), x[:5])


@pytest.mark.parametrize("name", SCHEDULES)
def test_posterior_is_gaussian_conditioning(name: str) -> None:
    s = SCHEDULES[name]()
    gen = torch.Generator().manual_seed(1)
    t = torch.tensor([2, 3, s.T // 2, s.T])
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    z_t = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    mean, var = posterior(z_t, x, t, s)
    ab, a = s.alpha_bars, s.alphas
    # (z_{t-1}, z_t) given x is jointly Gaussian: condition the first on the second
    m_prev, v_prev = ab[t - 1].sqrt()[:, None] * x, (1 - ab[t - 1])[:, None]
    cov = a[t].sqrt()[:, None] * v_prev  # Cov(z_{t-1}, z_t | x)
    v_t, m_t = (1 - ab[t])[:, None], ab[t].sqrt()[:, None] * x
    assert torch.allclose(mean, m_prev + cov / v_t * (z_t - m_t), rtol=1e-10)
    assert torch.allclose(var.view(4, 1), v_prev - cov ** 2 / v_t, rtol=1e-10)


def test_gaussian_kl_matches_torch_distributions() -> None:
    gen = torch.Generator().manual_seed(2)
    mq, mp = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    vq, vp = torch.rand(6, 1, generator=gen) + 0.1, torch.rand(6, 1, generator=gen) + 0.1
    expected = kl_divergence(Normal(mq, vq.sqrt().expand(6, 4)),
                             Normal(mp, vp.sqrt().expand(6, 4))).sum(1)
    assert torch.allclose(gaussian_kl(mq, vq, mp, vp), expected, rtol=1e-5, atol=1e-6)
    assert torch.allclose(gaussian_kl(mq, vq, mq, vq), torch.zeros(6), atol=1e-6)


@pytest.mark.parametrize("sigma", ["beta", "posterior"])
def test_each_kl_is_a_weighted_noise_error_plus_a_constant(sigma: str) -> None:
    """Ho et al. (2020, eq. 12): the t-th KL = variance term + lambda_t ||eps - eps_hat||^2."""
    s = cosine_schedule(50)
    gen = torch.Generator().manual_seed(3)
    t = torch.tensor([2, 7, 30, 50])
    x, eps, eps_hat = (torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in range(3))
    z_t = q_sample(x, t, eps, s)
    mean_q, var_q = posterior(z_t, x, t, s)
    var_p = reverse_variances(s, sigma)[t].view(4, 1)
    kl = gaussian_kl(mean_q, var_q, model_mean(z_t, t, eps_hat, s), var_p)
    ratio = (var_q / var_p).view(4)
    constant = 5 / 2 * (ratio - 1 - ratio.log())
    assert torch.allclose(kl, constant + elbo_weights(s, sigma)[t] * (eps - eps_hat).pow(2).sum(1),
                          rtol=1e-9)
    if sigma == "posterior":
        assert torch.allclose(constant, torch.zeros(4, dtype=torch.float64), atol=1e-12)


# --- the ELBO and the sampler against an exact answer -----------------------------------------

@pytest.mark.parametrize("name", SCHEDULES)
def test_the_elbo_of_the_exact_model_is_the_log_likelihood(name: str) -> None:
    """Data N(0, 1): with eps_theta(z_t, t) = sqrt(1 - ab_t) z_t and sigma_t^2 = 1 - alpha_t
    the decoder is the forward process run backwards, its posterior is the encoder, and the
    ELBO equals log N(x; 0, 1) for every x (in expectation over the estimator's draws)."""
    s = SCHEDULES[name]()
    gen = torch.Generator().manual_seed(4)
    points = torch.tensor([-2.0, -0.3, 0.0, 1.1, 2.5], dtype=torch.float64)
    reps = 40_000
    x = points.repeat_interleave(reps)[:, None]
    terms = elbo_terms(exact_eps(s), x, s, sigma="beta", generator=gen)
    neg_elbo = (terms["prior"] + terms["denoising"] + terms["reconstruction"]).view(5, reps)
    exact = -Normal(0.0, 1.0).log_prob(points)
    se = neg_elbo.std(1) / math.sqrt(reps)
    assert ((neg_elbo.mean(1) - exact).abs() < 5 * se + 1e-9).all(), (neg_elbo.mean(1), exact)
    assert (terms["prior"] >= 0).all() and (terms["denoising"] >= 0).all()


def test_the_decoders_are_a_density_and_a_distribution_over_two_values() -> None:
    s = linear_schedule(100)
    gen = torch.Generator().manual_seed(5)
    mean = 2 * torch.randn(4, 3, generator=gen, dtype=torch.float64)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    sd = (1 - s.alphas[1]).sqrt().item()
    expected = Normal(mean, sd).log_prob(x).sum(1)
    assert torch.allclose(decoder_log_prob(x, mean, s), expected)
    plus, minus = torch.ones(4, 1, dtype=torch.float64), -torch.ones(4, 1, dtype=torch.float64)
    for j in range(3):  # one coordinate at a time: P(+1) + P(-1) = 1
        m = mean[:, j : j + 1]
        total = (decoder_log_prob(plus, m, s, decoder="binary").exp()
                 + decoder_log_prob(minus, m, s, decoder="binary").exp())
        assert torch.allclose(total, torch.ones(4, dtype=torch.float64))


@pytest.mark.parametrize("steps", [None, 8])
def test_ancestral_sampling_of_the_exact_model_gives_the_data_distribution(steps) -> None:
    s = cosine_schedule(60)
    chain = s if steps is None else respace(s, steps)
    gen = torch.Generator().manual_seed(6)
    n = 40_000
    x, snaps = ancestral_sample(exact_eps(s), (n, 2), chain, generator=gen, keep=3)
    # the last step returns the mean mu_theta(z_1, 1) = sqrt(alpha_1) z_1: variance alpha_1
    a1 = chain.alphas[1].item()
    assert x.mean(0).abs().max() < 6 * math.sqrt(a1 / n)
    assert (x.var(0) - a1).abs().max() < 6 * a1 * math.sqrt(2 / n)
    assert len(snaps) == 4 and snaps[-1].shape == (n, 2)


# --- networks and the training loss -------------------------------------------------------------

def test_denoisers_map_data_and_steps_to_noise_of_the_same_shape() -> None:
    t = torch.tensor([1, 50, 999])
    mlp = MLPDenoiser(DenoiserConfig(hidden=32, layers=2))
    assert mlp(torch.randn(3, 2), t).shape == (3, 2)
    unet = UNetDenoiser(UNetConfig(base=16, groups=4))
    out = unet(torch.randn(3, 1, 28, 28), t)
    assert out.shape == (3, 1, 28, 28)
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in unet.parameters())


def test_noise_loss_is_one_for_a_network_that_predicts_zero() -> None:
    s = linear_schedule(100)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(50_000, 2)
    loss = noise_loss(lambda z, t: torch.zeros_like(z), x, s, generator=gen)
    assert loss.shape == (50_000,)
    assert abs(loss.mean().item() - 1.0) < 6 * loss.std().item() / math.sqrt(50_000)


# --- bad input ------------------------------------------------------------------------------------

def test_bad_input_says_what_was_expected() -> None:
    s = linear_schedule(100)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"t: expected steps in 0..T = 100, got 0..101"):
        q_sample(x, torch.tensor([0, 1, 2, 101]), torch.randn(4, 2), s)
    with pytest.raises(ValueError, match=r"int64 tensor of shape \(4,\)"):
        q_sample(x, torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.randn(4, 2), s)
    with pytest.raises(ValueError, match=r"steps in 2..T"):
        posterior(x, x, torch.tensor([1, 2, 3, 4]), s)
    with pytest.raises(ValueError, match="binary decoder expects every value to be -1 or"):
        elbo_terms(lambda z, t: z, torch.rand(4, 2), s, decoder="binary")
    with pytest.raises(ValueError, match="decoder: expected one of"):
        elbo_terms(lambda z, t: z, x, s, decoder="laplace")
    with pytest.raises(ValueError, match="sigma: expected one of"):
        reverse_variances(s, "fixed")
    with pytest.raises(ValueError, match=r"2 <= steps <= T = 100, got 101"):
        respace(s, 101)
    with pytest.raises(ValueError, match="T: expected at least 2 steps"):
        cosine_schedule(1)
    with pytest.raises(ValueError, match="beta_T"):
        linear_schedule(20)  # 0.02 * 1000 / 20 = 1: no signal would survive one step


def test_a_decoder_mean_of_zero_gives_each_binary_pixel_probability_one_half() -> None:
    """eps_theta(z_1, 1) = z_1 / sqrt(1 - alpha_1) makes mu_theta(z_1, 1) = 0, so the binary
    decoder's reconstruction term is d log 2 nats whatever the image."""
    s = cosine_schedule(40)
    scale = 1 / (1 - s.alphas[1]).sqrt().item()
    x = torch.where(torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(8)) < 0.3,
                    1.0, -1.0).double()  # float64: mu_theta = 0 up to rounding
    terms = elbo_terms(lambda z, t: scale * z, x, s, decoder="binary",
                       generator=torch.Generator().manual_seed(9))
    assert torch.allclose(terms["reconstruction"],
                          torch.full((5,), 16 * math.log(2), dtype=torch.float64))


def test_an_image_model_samples_in_the_unit_interval_and_bounds_binary_nll() -> None:
    config = ImageDiffusionConfig(image_shape=(1, 8, 8), base=8, groups=4, embed_dim=16,
                                  T=20, sample_steps=5)
    model = ImageDiffusion(config)
    images = model.sample_images(6, torch.Generator().manual_seed(10))
    assert images.shape == (6, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    x = (torch.rand(7, 1, 8, 8, generator=torch.Generator().manual_seed(11)) < 0.4).float()
    mean, stderr = model.nll_bound(x, draws=3, generator=torch.Generator().manual_seed(12))
    # every term of the estimate is a KL or a -log probability: the bound is positive
    assert mean > 0 and stderr >= 0 and math.isfinite(mean)
    with pytest.raises(ValueError, match="binary"):
        model.nll_bound(x * 0.5)
    with pytest.raises(ValueError, match="sample_steps"):
        ImageDiffusion(ImageDiffusionConfig(T=20, sample_steps=30))
    with pytest.raises(ValueError, match="multiple of 4"):
        ImageDiffusion(ImageDiffusionConfig(image_shape=(1, 10, 10)))


def test_the_elbo_weights_in_terms_of_the_signal_to_noise_ratio() -> None:
    """With sigma_t^2 = sigma~_t^2, lambda_t = (SNR(t-1) / SNR(t) - 1) / 2 with
    SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021): the ELBO weights each
    step by how much signal-to-noise ratio it removes."""
    for s in (linear_schedule(200), cosine_schedule(200)):
        ab = s.alpha_bars
        snr = ab / (1 - ab)
        t = torch.arange(2, s.T + 1)
        expected = 0.5 * (snr[t - 1] / snr[t] - 1)
        assert torch.allclose(elbo_weights(s, "posterior")[t], expected, rtol=1e-9)


def test_clipping_the_implied_image_changes_nothing_inside_the_range() -> None:
    """The posterior mean given the implied image x^ is exactly mu_theta: with a range too
    wide to clip anything the clipped sampler draws the same samples; with the data's range
    the samples stay in it."""
    s = respace(linear_schedule(100), 12)
    model = MLPDenoiser(DenoiserConfig(hidden=16, layers=1))
    wide, _ = ancestral_sample(model, (50, 2), s, generator=torch.Generator().manual_seed(13),
                               clip=(-1e9, 1e9))
    plain, _ = ancestral_sample(model, (50, 2), s, generator=torch.Generator().manual_seed(13))
    assert torch.allclose(wide, plain, rtol=1e-4, atol=1e-4)
    tight, _ = ancestral_sample(model, (50, 2), s, generator=torch.Generator().manual_seed(13),
                                clip=(-1.0, 1.0))
    assert tight.min() >= -1 and tight.max() <= 1
    with pytest.raises(ValueError, match="clip"):
        ancestral_sample(model, (5, 2), s, clip=(1.0, -1.0))
