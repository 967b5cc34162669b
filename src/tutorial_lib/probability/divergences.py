"""Chapter 2: KL and Jensen-Shannon divergences, estimated and fitted.

Densities are passed as functions returning log-densities, so the same code serves
closed-form distributions, mixtures and learned models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import distributions as dist

from tutorial_lib.validation import check_positive_int, check_tensor

LogDensity = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate with its standard error (std of the mean)."""

    value: float
    stderr: float
    n: int

    def __str__(self) -> str:
        return f"{self.value:.4f} ± {self.stderr:.4f} (n={self.n})"


def monte_carlo(values: torch.Tensor) -> Estimate:
    """Mean of i.i.d. values (n,) with its standard error s / sqrt(n)."""
    check_tensor(values, "values", ndim=1)
    n = values.numel()
    if n < 2:
        raise ValueError(f"need at least 2 values for a standard error, got {n}")
    return Estimate(float(values.mean()), float(values.std() / math.sqrt(n)), n)


def kl_monte_carlo(log_p: LogDensity, log_q: LogDensity, x_from_p: torch.Tensor) -> Estimate:
    """KL(p || q) = E_p[log p(x) - log q(x)], estimated from samples x ~ p of shape (n, ...)."""
    return monte_carlo((log_p(x_from_p) - log_q(x_from_p)).flatten())


def _grid_weights(grid: torch.Tensor) -> torch.Tensor:
    """Trapezoid-rule weights for a sorted 1-D grid (n,)."""
    check_tensor(grid, "grid", ndim=1)
    if grid.numel() < 2 or not torch.all(grid[1:] > grid[:-1]):
        raise ValueError("grid must be a strictly increasing 1-D tensor with at least 2 points")
    dx = grid[1:] - grid[:-1]
    w = torch.zeros_like(grid)
    w[:-1] += dx / 2
    w[1:] += dx / 2
    return w


def _check_mass(density: torch.Tensor, weights: torch.Tensor, name: str,
                tolerance: float = 1e-3) -> None:
    """Refuse a grid that misses part of a density's mass (the integral would be wrong)."""
    mass = float((weights * density).sum())
    if abs(mass - 1.0) > tolerance:
        raise ValueError(
            f"the grid holds {mass:.4f} of {name}'s probability mass, expected 1; widen the "
            "grid to cover both densities, or make it finer"
        )


def kl_divergence_grid(log_p: LogDensity, log_q: LogDensity, grid: torch.Tensor) -> float:
    """KL(p || q) for 1-D densities by the trapezoid rule on ``grid`` (n,), in nats.

    Raises ValueError when the grid does not hold (almost) all of p's mass.
    """
    lp, lq = log_p(grid), log_q(grid)
    p = lp.exp()
    w = _grid_weights(grid)
    _check_mass(p, w, "p")
    integrand = torch.where(p > 0, p * (lp - lq), torch.zeros_like(p))
    return float((w * integrand).sum())


def jensen_shannon_grid(log_p: LogDensity, log_q: LogDensity, grid: torch.Tensor) -> float:
    """JSD(p, q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, 1-D, in nats (<= log 2).

    Raises ValueError when the grid does not hold (almost) all of p's and q's mass.
    """
    lp, lq = log_p(grid), log_q(grid)
    lm = torch.logaddexp(lp, lq) - math.log(2.0)
    w = _grid_weights(grid)
    p, q = lp.exp(), lq.exp()
    _check_mass(p, w, "p")
    _check_mass(q, w, "q")
    kl_pm = torch.where(p > 0, p * (lp - lm), torch.zeros_like(p))
    kl_qm = torch.where(q > 0, q * (lq - lm), torch.zeros_like(q))
    return float((w * (kl_pm + kl_qm)).sum() / 2)


def fit_gaussian_forward_kl(x_from_p: torch.Tensor) -> tuple[float, float]:
    """argmin over Gaussians q of KL(p || q), from samples of p (n,): moment matching.

    The minimizer is the mean and standard deviation of p (here: of the samples, i.e. the
    maximum-likelihood Gaussian). Returns (mean, std).
    """
    check_tensor(x_from_p, "x_from_p", ndim=1)
    return float(x_from_p.mean()), float(x_from_p.std(unbiased=False))


def fit_gaussian_reverse_kl(
    log_p: LogDensity,
    init_mean: float = 0.5,
    init_std: float = 0.5,
    steps: int = 2_000,
    n_samples: int = 256,
    lr: float = 0.02,
    seed: int = 0,
) -> tuple[float, float, dict[str, list[float]]]:
    """argmin over Gaussians q = N(m, s^2) of KL(q || p) by stochastic gradient descent.

    KL(q || p) = E_q[log q(z) - log p(z)] is estimated with the reparameterization
    z = m + s * eps, eps ~ N(0, 1), so its gradient flows through the samples. The
    objective can have several local minima (for a two-peaked p: one per peak, and a wide
    Gaussian between them); which one Adam finds depends on the starting point.

    Returns:
        (mean, std, history) with history ``{"step", "kl"}`` (the KL estimate per step).
    """
    check_positive_int(steps, "steps")
    check_positive_int(n_samples, "n_samples")
    if init_std <= 0:
        raise ValueError(f"init_std must be positive, got {init_std}")
    g = torch.Generator().manual_seed(seed)
    mean = torch.tensor(float(init_mean), requires_grad=True)
    log_std = torch.tensor(math.log(init_std), requires_grad=True)
    opt = torch.optim.Adam([mean, log_std], lr=lr)
    history: dict[str, list[float]] = {"step": [], "kl": []}
    for step in range(steps):
        eps = torch.randn(n_samples, generator=g)
        q = dist.Normal(mean, log_std.exp())
        z = mean + log_std.exp() * eps
        kl = (q.log_prob(z) - log_p(z)).mean()
        opt.zero_grad(set_to_none=True)
        kl.backward()
        opt.step()
        history["step"].append(step)
        history["kl"].append(kl.item())
    return float(mean.detach()), float(log_std.detach().exp()), history


def gaussian_mixture_1d(
    means: list[float], stds: list[float], weights: list[float] | None = None
) -> dist.MixtureSameFamily:
    """A 1-D Gaussian mixture as a ``torch.distributions`` object (for chapter 2's targets)."""
    if len(means) != len(stds) or not means:
        raise ValueError("means and stds must be non-empty lists of the same length")
    if weights is None:
        weights = [1.0 / len(means)] * len(means)
    if len(weights) != len(means) or abs(sum(weights) - 1) > 1e-6 or min(weights) < 0:
        raise ValueError("weights must be non-negative, one per component, and sum to 1")
    return dist.MixtureSameFamily(
        dist.Categorical(probs=torch.tensor(weights)),
        dist.Normal(torch.tensor(means), torch.tensor(stds)),
    )
