"""Chapter 16's exercises: the forward marginal in one step, the per-step KL between two
isotropic Gaussians, the decoder's mean from the predicted noise, and the noise-prediction
loss of a training step."""

from __future__ import annotations

import torch

from tutorial_lib.diffusion.process import gaussian_kl
from tutorial_lib.exercises.catalogue.common import randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise, Mistake

SHAPES = ((3, 5), (7, 4), (5, 11))  # (B, d)


def _col(v: torch.Tensor) -> torch.Tensor:
    """A per-example number (B,) as a column (B, 1) that broadcasts over coordinates."""
    return v[:, None]


def forward_sample(x: torch.Tensor, alpha_bar_t: torch.Tensor, eps: torch.Tensor
                   ) -> torch.Tensor:
    """z_t = sqrt(alpha_bar_t) x + sqrt(1 - alpha_bar_t) eps: x, eps (B, d), alpha_bar_t (B,)
    -> (B, d). The package's :func:`~tutorial_lib.diffusion.process.q_sample` does the same
    from step numbers and a schedule."""
    return _col(alpha_bar_t).sqrt() * x + _col(1 - alpha_bar_t).sqrt() * eps


def _cases_forward() -> list[Case]:
    gen, out = seeded(161), []
    for b, d in SHAPES:
        out.append(Case((randn(gen, b, d), uniform(gen, b, low=0.05, high=0.95),
                         randn(gen, b, d)), f"x, eps of shape ({b}, {d}), alpha_bar_t ({b},)",
                        b))
    return out


FORWARD = Exercise(
    id="ch16.forward_sample",
    title="the forward marginal in one step",
    signature="forward_sample(x, alpha_bar_t, eps) -> (B, d)",
    reference=forward_sample,
    cases=_cases_forward,
    output="array",
    generic=False,
    mistakes=(
        Mistake("the noise's scale is the standard deviation sqrt(1 - alpha_bar_t), not the "
                "variance 1 - alpha_bar_t",
                lambda x, ab, e: _col(ab).sqrt() * x + _col(1 - ab) * e),
        Mistake("the signal is scaled by sqrt(alpha_bar_t), not by alpha_bar_t: the "
                "variances, alpha_bar_t + (1 - alpha_bar_t), must add up to 1",
                lambda x, ab, e: _col(ab) * x + _col(1 - ab).sqrt() * e),
        Mistake("the two scales are swapped: x keeps sqrt(alpha_bar_t) of its size, the "
                "noise gets sqrt(1 - alpha_bar_t)",
                lambda x, ab, e: _col(1 - ab).sqrt() * x + _col(ab).sqrt() * e),
    ),
    confirmation="The package's q_sample computes the same from step numbers and a schedule.",
)


def step_kl(mean_q: torch.Tensor, var_q: torch.Tensor, mean_p: torch.Tensor,
            var_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_q, var_q I) || N(mean_p, var_p I)) summed over the d coordinates:
    means (B, d), variances (B,) -> (B,)."""
    return gaussian_kl(mean_q, _col(var_q), mean_p, _col(var_p))


def _cases_kl() -> list[Case]:
    gen, out = seeded(162), []
    for b, d in SHAPES:
        out.append(Case((randn(gen, b, d), uniform(gen, b, low=0.05, high=0.9),
                         randn(gen, b, d), uniform(gen, b, low=0.1, high=1.2)),
                        f"means ({b}, {d}), variances ({b},)", b))
    return out


def _kl_variant(mq, vq, mp, vp, *, d_factor=True, mean=False, by_q=False, half=0.5):
    d = mq.shape[1] if d_factor else 1
    r = vq / vp
    var_term = half * d * (r - 1 - torch.log(r))
    dist = ((mq - mp) ** 2).mean(1) if mean else ((mq - mp) ** 2).sum(1)
    return var_term + dist / (2 * (vq if by_q else vp))


STEP_KL = Exercise(
    id="ch16.step_kl",
    title="one denoising KL: two isotropic Gaussians",
    signature="step_kl(mean_q, var_q, mean_p, var_p) -> (B,)",
    reference=step_kl,
    cases=_cases_kl,
    mistakes=(
        Mistake("the variance term counts once per coordinate: it is d/2 (r - 1 - log r), "
                "r = var_q / var_p, for d coordinates",
                lambda mq, vq, mp, vp: _kl_variant(mq, vq, mp, vp, d_factor=False)),
        Mistake("the squared distance of the means is divided by var_q; the expectation "
                "is under q, but the density in the log-ratio that has it is p's: divide by "
                "2 var_p", lambda mq, vq, mp, vp: _kl_variant(mq, vq, mp, vp, by_q=True)),
        Mistake("the squared distance is a sum over the d coordinates, not a mean",
                lambda mq, vq, mp, vp: _kl_variant(mq, vq, mp, vp, mean=True)),
    ),
    confirmation="Compare with torch.distributions.kl_divergence on two Normals, summed "
                 "over the coordinates.",
)


def decoder_mean(z_t: torch.Tensor, eps_hat: torch.Tensor, alpha_t: torch.Tensor,
                 alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """mu_theta = (z_t - (1 - alpha_t) / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t):
    z_t, eps_hat (B, d), alpha_t, alpha_bar_t (B,) -> (B, d)."""
    return (z_t - _col((1 - alpha_t) / (1 - alpha_bar_t).sqrt()) * eps_hat) / \
        _col(alpha_t).sqrt()


def _cases_mean() -> list[Case]:
    gen, out = seeded(163), []
    for b, d in SHAPES:
        alpha = uniform(gen, b, low=0.6, high=0.99)
        alpha_bar = alpha * uniform(gen, b, low=0.1, high=0.9)
        out.append(Case((randn(gen, b, d), randn(gen, b, d), alpha, alpha_bar),
                        f"z_t, eps_hat ({b}, {d}); alpha_t, alpha_bar_t ({b},)", b))
    return out


DECODER_MEAN = Exercise(
    id="ch16.decoder_mean",
    title="the decoder's mean from the predicted noise",
    signature="decoder_mean(z_t, eps_hat, alpha_t, alpha_bar_t) -> (B, d)",
    reference=decoder_mean,
    cases=_cases_mean,
    output="array",
    generic=False,
    mistakes=(
        Mistake("the noise's coefficient is (1 - alpha_t) / sqrt(1 - alpha_bar_t), with the "
                "square root in the denominator only",
                lambda z, e, a, ab: (z - _col((1 - a).sqrt() / (1 - ab).sqrt()) * e)
                / _col(a).sqrt()),
        Mistake("divide the whole bracket by sqrt(alpha_t): one step of the forward process "
                "shrank z_{t-1} by that factor",
                lambda z, e, a, ab: z - _col((1 - a) / (1 - ab).sqrt()) * e),
        Mistake("alpha_bar_t and alpha_t are swapped: the division is by sqrt(alpha_t) (one "
                "step), the noise's scale uses 1 - alpha_bar_t (all steps so far)",
                lambda z, e, a, ab: (z - _col((1 - ab) / (1 - a).sqrt()) * e)
                / _col(ab).sqrt()),
        Mistake("you returned x's estimate (z_t - sqrt(1 - alpha_bar_t) eps_hat) / "
                "sqrt(alpha_bar_t), the mean of z_0; the decoder's mean is that of z_{t-1}",
                lambda z, e, a, ab: (z - _col(1 - ab).sqrt() * e) / _col(ab).sqrt()),
    ),
)


def _linear_eps_model(z: torch.Tensor, alpha_bar_t: torch.Tensor) -> torch.Tensor:
    """A fixed stand-in for a network: eps_hat = 0.7 sqrt(1 - alpha_bar_t) z + 0.1."""
    return 0.7 * _col(1 - alpha_bar_t).sqrt() * z + 0.1


def noise_prediction_loss(eps_model, x: torch.Tensor, alpha_bar_t: torch.Tensor,
                          eps: torch.Tensor) -> torch.Tensor:
    """One example's simplified loss: the mean over coordinates of
    (eps - eps_model(z_t, alpha_bar_t))^2 with z_t = forward_sample(x, alpha_bar_t, eps);
    x, eps (B, d), alpha_bar_t (B,) -> (B,)."""
    z_t = forward_sample(x, alpha_bar_t, eps)
    return (eps - eps_model(z_t, alpha_bar_t)).pow(2).mean(1)


def _cases_loss() -> list[Case]:
    gen, out = seeded(164), []
    for b, d in SHAPES:
        out.append(Case((_linear_eps_model, randn(gen, b, d), uniform(gen, b, low=0.05,
                                                                      high=0.95),
                         randn(gen, b, d)), f"a fixed eps_model; x, eps ({b}, {d})", b))
    return out


NOISE_LOSS = Exercise(
    id="ch16.noise_prediction_loss",
    title="the noise-prediction loss of one step",
    signature="noise_prediction_loss(eps_model, x, alpha_bar_t, eps) -> (B,)",
    reference=noise_prediction_loss,
    cases=_cases_loss,
    mistakes=(
        Mistake("the network sees the noisy z_t, not the clean x: it must find the noise "
                "that was added",
                lambda m, x, ab, e: (e - m(x, ab)).pow(2).mean(1)),
        Mistake("the target is the noise eps, not the image x",
                lambda m, x, ab, e: (x - m(forward_sample(x, ab, e), ab)).pow(2).mean(1)),
        Mistake("the loss is the mean over coordinates of each row (the simplified loss of "
                "Ho et al.), not the sum",
                lambda m, x, ab, e: (e - m(forward_sample(x, ab, e), ab)).pow(2).sum(1)),
    ),
)

ALL = (FORWARD, STEP_KL, DECODER_MEAN, NOISE_LOSS)
