"""The forward process and the Gaussians of the diffusion ELBO, in closed form.

Chapter 12's lemma on the forward marginals and posteriors:

    q(z_t | x)            = N(sqrt(alpha_bar_t) x, (1 - alpha_bar_t) I)
    q(z_{t-1} | z_t, x)   = N(mu~_t(z_t, x), sigma~_t^2 I),   t >= 2,
    mu~_t(z_t, x) = sqrt(alpha_bar_{t-1}) (1 - alpha_t) / (1 - alpha_bar_t) x
                    + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) z_t.

The noise-prediction parametrization (Ho et al. 2020, eq. 11) writes the decoder's mean
through a network eps_theta(z_t, t) that predicts the noise in z_t:

    mu_theta(z_t, t) = (z_t - (1 - alpha_t) / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t),

which is mu~_t(z_t, x) with x replaced by its estimate from z_t and the predicted noise.

Shapes: ``x`` and ``z`` are (B, ...) (points (B, 2) or images (B, C, H, W)); ``t`` is a
(B,) int64 tensor of steps in 1..T. Schedule numbers are float64 and are cast to the data's
dtype here.
"""

from __future__ import annotations

import torch

from tutorial_lib.diffusion.schedule import NoiseSchedule
from tutorial_lib.validation import check_tensor

__all__ = ["gaussian_kl", "model_mean", "posterior", "predicted_x", "q_sample"]


def _per_example(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, ..., 1) to broadcast against ``like`` (B, ...). The schedule
    stays on the CPU in float64 (Apple's MPS has no float64): index there, then cast and move."""
    picked = values[t.to(values.device)].to(like.dtype)
    return picked.to(like.device).view(-1, *([1] * (like.dim() - 1)))


def _check_steps(t: object, batch: int, schedule: NoiseSchedule, low: int = 1) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.shape != (batch,):
        got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"t: expected an int64 tensor of shape ({batch},), one step per "
                         f"example, got {got}")
    if batch and (int(t.min()) < low or int(t.max()) > schedule.T):
        raise ValueError(f"t: expected steps in {low}..T = {schedule.T}, got "
                         f"{int(t.min())}..{int(t.max())}")
    return t


def q_sample(x: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
             schedule: NoiseSchedule) -> torch.Tensor:
    """z_t = sqrt(alpha_bar_t) x + sqrt(1 - alpha_bar_t) eps: a draw of q(z_t | x) in one step.

    Args:
        x: (B, ...) data; t: (B,) steps in 0..T (t = 0 returns x); noise: eps, like x.
    Returns:
        z_t, like x.
    """
    check_tensor(x, "x", nonempty=True)
    _check_steps(t, len(x), schedule, low=0)
    if not isinstance(noise, torch.Tensor) or noise.shape != x.shape:
        raise ValueError(f"noise: expected a tensor shaped like x {tuple(x.shape)}, got "
                         f"{tuple(noise.shape) if isinstance(noise, torch.Tensor) else noise!r}")
    ab = _per_example(schedule.alpha_bars, t, x)
    return ab.sqrt() * x + (1 - ab).sqrt() * noise


def posterior(z_t: torch.Tensor, x: torch.Tensor, t: torch.Tensor,
              schedule: NoiseSchedule) -> tuple[torch.Tensor, torch.Tensor]:
    """mu~_t(z_t, x) and sigma~_t^2 of q(z_{t-1} | z_t, x), for steps t >= 2.

    Returns:
        mean like x, and the variance shaped (B, 1, ..., 1).
    """
    check_tensor(x, "x", nonempty=True)
    _check_steps(t, len(x), schedule, low=2)
    if z_t.shape != x.shape:
        raise ValueError(f"z_t {tuple(z_t.shape)} and x {tuple(x.shape)} must have one shape")
    a, ab = _per_example(schedule.alphas, t, x), _per_example(schedule.alpha_bars, t, x)
    ab_prev = _per_example(schedule.alpha_bars, t - 1, x)
    mean = (ab_prev.sqrt() * (1 - a) * x + a.sqrt() * (1 - ab_prev) * z_t) / (1 - ab)
    return mean, _per_example(schedule.posterior_variances, t, x)


def predicted_x(z_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
                schedule: NoiseSchedule) -> torch.Tensor:
    """x recovered from z_t and a noise eps: (z_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t),
    the inverse of :func:`q_sample`."""
    ab = _per_example(schedule.alpha_bars, t, z_t)
    return (z_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def model_mean(z_t: torch.Tensor, t: torch.Tensor, eps_hat: torch.Tensor,
               schedule: NoiseSchedule) -> torch.Tensor:
    """mu_theta(z_t, t) from the predicted noise (Ho et al. 2020, eq. 11); like z_t."""
    _check_steps(t, len(z_t), schedule, low=1)
    a, ab = _per_example(schedule.alphas, t, z_t), _per_example(schedule.alpha_bars, t, z_t)
    return (z_t - (1 - a) / (1 - ab).sqrt() * eps_hat) / a.sqrt()


def gaussian_kl(mean_q: torch.Tensor, var_q: torch.Tensor, mean_p: torch.Tensor,
                var_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_q, var_q I) || N(mean_p, var_p I)) in nats, summed over all but the first
    axis (chapter 12's per-step KL):

        d/2 (var_q / var_p - 1 - log(var_q / var_p)) + ||mean_q - mean_p||^2 / (2 var_p).

    Args:
        mean_q, mean_p: (B, ...); var_q, var_p: positive, broadcastable to them.
    Returns:
        (B,).
    """
    ratio = var_q / var_p
    per_coordinate = 0.5 * (ratio - 1 - torch.log(ratio)) + (mean_q - mean_p) ** 2 / (2 * var_p)
    per_coordinate = per_coordinate.expand(torch.broadcast_shapes(
        per_coordinate.shape, mean_q.shape, mean_p.shape))
    return per_coordinate.flatten(1).sum(1)
