"""Training losses of a diffusion model: the ELBO's terms and the simplified noise loss.

``eps_model(z_t, steps)`` is any callable that predicts the noise in ``z_t`` (shape of the
data) from the step numbers ``steps`` (B,) int64 it was trained with
(``schedule.steps[t]``, which is t itself unless the schedule was respaced).

Chapter 12's theorem writes the negative ELBO as a prior term, one KL per step t = 2..T and
a reconstruction term. With the decoder's mean in the noise parametrization
(:func:`~tutorial_lib.diffusion.process.model_mean`), the mean part of the t-th KL is

    lambda_t ||eps - eps_theta(z_t, t)||^2,
    lambda_t = (1 - alpha_t)^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t)),

(Ho et al. 2020, eq. 12), so the ELBO is a weighted sum of noise-prediction errors plus
terms without parameters; the simplified loss drops the weights (Ho et al. 2020, eq. 14).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from tutorial_lib.diffusion.process import gaussian_kl, model_mean, posterior, q_sample
from tutorial_lib.diffusion.schedule import NoiseSchedule
from tutorial_lib.validation import check_tensor

__all__ = ["DECODERS", "SIGMAS", "decoder_log_prob", "elbo_terms", "elbo_weights", "noise_loss",
           "reverse_variances"]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

SIGMAS = ("beta", "posterior")
"""The decoder's step variances: ``beta`` sigma_t^2 = 1 - alpha_t, ``posterior``
sigma_t^2 = sigma~_t^2 (Ho et al. 2020 found both to sample equally well)."""

DECODERS = ("gaussian", "binary")
"""p_theta(x | z_1): ``gaussian`` N(mu_theta(z_1, 1), (1 - alpha_1) I), a density for
continuous data; ``binary`` for x in {-1, +1}: P(x_j = 1 | z_1) = Phi(mu_j / sigma_1), the
Gaussian discretized into two bins split at 0, a probability (Ho et al. 2020, eq. 13, with
two levels instead of 256)."""


def reverse_variances(schedule: NoiseSchedule, sigma: str = "beta") -> torch.Tensor:
    """sigma_t^2 for t = 0..T, (T + 1,) float64; index 1 is 1 - alpha_1 for both choices
    (the posterior variance is 0 there: z_0 = x is the data)."""
    if sigma not in SIGMAS:
        raise ValueError(f"sigma: expected one of {SIGMAS}, got {sigma!r}")
    betas = 1 - schedule.alphas
    if sigma == "beta":
        return betas
    out = schedule.posterior_variances.clone()
    out[:2] = betas[:2]
    return out


def elbo_weights(schedule: NoiseSchedule, sigma: str = "beta") -> torch.Tensor:
    """lambda_t = (1 - alpha_t)^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t)), (T + 1,) float64:
    the weight of ||eps - eps_theta||^2 in the t-th KL of the ELBO (t >= 2). At t = 1 it is
    1 / (2 alpha_1), the weight of the noise error in the Gaussian decoder's reconstruction
    term (sigma_1^2 = 1 - alpha_1 for both choices); index 0 is 0."""
    a, ab = schedule.alphas, schedule.alpha_bars
    out = torch.zeros_like(a)
    out[1:] = (1 - a[1:]) ** 2 / (2 * reverse_variances(schedule, sigma)[1:] * a[1:]
                                  * (1 - ab[1:]))
    return out


def _uniform_steps(batch: int, low: int, high: int, device: torch.device,
                   generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(low, high + 1, (batch,), generator=generator).to(device)


def _noise(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def noise_loss(eps_model: EpsModel, x: torch.Tensor, schedule: NoiseSchedule,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The simplified loss of Ho et al. (2020, eq. 14): t uniform on 1..T, eps ~ N(0, I),
    the mean over coordinates of (eps - eps_theta(z_t, t))^2.

    Args:
        x: (B, ...) data. Returns: (B,) one loss per example; average it to train.
    """
    check_tensor(x, "x", nonempty=True)
    t = _uniform_steps(len(x), 1, schedule.T, x.device, generator)
    eps = _noise(x, generator)
    z_t = q_sample(x, t, eps, schedule)
    eps_hat = eps_model(z_t, schedule.steps[t.cpu()].to(x.device))
    return (eps - eps_hat).pow(2).flatten(1).mean(1)


def decoder_log_prob(x: torch.Tensor, mean_1: torch.Tensor, schedule: NoiseSchedule, *,
                     sigma: str = "beta", decoder: str = "gaussian") -> torch.Tensor:
    """log p_theta(x | z_1) given the decoder's mean mu_theta(z_1, 1), like x; (B,) nats.

    ``gaussian``: the density of N(mean_1, sigma_1^2 I). ``binary`` (x in {-1, +1}): the sum
    over coordinates of log Phi(x_j mean_j / sigma_1), a log-probability."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder: expected one of {DECODERS}, got {decoder!r}")
    sd_1 = math.sqrt(reverse_variances(schedule, sigma)[1].item())
    if decoder == "gaussian":
        per = -0.5 * ((x - mean_1) / sd_1) ** 2 - math.log(sd_1) - 0.5 * math.log(2 * math.pi)
    else:
        per = torch.special.log_ndtr(x * mean_1 / sd_1)
    return per.flatten(1).sum(1)


def elbo_terms(eps_model: EpsModel, x: torch.Tensor, schedule: NoiseSchedule, *,
               sigma: str = "beta", decoder: str = "gaussian", t: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The three parts of the negative ELBO (chapter 12's theorem), in nats per example.

    The denoising sum over t = 2..T is estimated from one step per example: t uniform on
    2..T (or the given ``t``) and (T - 1) KL_t, unbiased for the sum; the reconstruction
    term from one draw of z_1. Averaging over many calls gives the ELBO to any precision.

    Args:
        x: (B, ...) data; for ``decoder="binary"`` every value is -1 or +1.
        t: (B,) int64 steps in 2..T, or None for uniform draws.
    Returns:
        ``{"prior": (B,), "denoising": (B,), "reconstruction": (B,)}``; their sum is an
        unbiased estimate of -ELBO, an upper bound on -log p_theta(x) in expectation.
    """
    check_tensor(x, "x", nonempty=True)
    if decoder not in DECODERS:
        raise ValueError(f"decoder: expected one of {DECODERS}, got {decoder!r}")
    if decoder == "binary" and not bool(((x == 1) | (x == -1)).all()):
        raise ValueError("x: the binary decoder expects every value to be -1 or +1 (binarized "
                         "pixels 0/1 mapped by 2x - 1)")
    variances = reverse_variances(schedule, sigma)
    batch = len(x)
    # prior: KL(q(z_T | x) || N(0, I)) in closed form
    ab_T = schedule.alpha_bars[-1].item()  # noqa: N806
    prior = gaussian_kl(math.sqrt(ab_T) * x, torch.tensor(1 - ab_T, dtype=x.dtype),
                        torch.zeros_like(x), torch.tensor(1.0, dtype=x.dtype))
    # one denoising term per example, scaled by T - 1
    if t is None:
        t = _uniform_steps(batch, 2, schedule.T, x.device, generator)
    z_t = q_sample(x, t, _noise(x, generator), schedule)
    mean_q, var_q = posterior(z_t, x, t, schedule)
    eps_hat = eps_model(z_t, schedule.steps[t.cpu()].to(x.device))
    mean_p = model_mean(z_t, t, eps_hat, schedule)
    var_p = variances[t.cpu()].to(x.dtype).to(x.device).view(var_q.shape)
    denoising = (schedule.T - 1) * gaussian_kl(mean_q, var_q, mean_p, var_p)
    # reconstruction: -log p(x | z_1) at one draw of z_1
    one = torch.ones(batch, dtype=torch.long, device=x.device)
    z_1 = q_sample(x, one, _noise(x, generator), schedule)
    eps_hat_1 = eps_model(z_1, schedule.steps[one.cpu()].to(x.device))
    mean_1 = model_mean(z_1, one, eps_hat_1, schedule)
    log_p = decoder_log_prob(x, mean_1, schedule, sigma=sigma, decoder=decoder)
    return {"prior": prior, "denoising": denoising, "reconstruction": -log_p}
