"""Chapter 2: two unbiased estimators of the gradient of an expectation.

We want g = grad_theta E_{z ~ q_theta}[f(z)] for a diagonal Gaussian
q_theta = N(mu, diag(sigma^2)), theta = (mu, log sigma).

- Score function (REINFORCE; Williams, 1992): g_hat = (f(z) - b) grad_theta log q_theta(z),
  z ~ q_theta, with an optional baseline b that does not depend on z.
- Reparameterization (pathwise; Kingma & Welling, 2014; Rezende et al., 2014):
  z = mu + sigma * eps, eps ~ N(0, I), and g_hat = grad_theta f(mu + sigma * eps).

Both functions return one gradient estimate per sample, shape (n, 2d): the first d
columns are d/d mu, the last d are d/d log sigma. The mean over rows estimates g; the
variance over rows is the quantity chapter 2 compares.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import distributions as dist

from tutorial_lib.validation import check_positive_int, check_tensor

TestFunction = Callable[[torch.Tensor], torch.Tensor]  # (n, d) -> (n,)


def _check_params(mean: torch.Tensor, log_std: torch.Tensor) -> None:
    check_tensor(mean, "mean", ndim=1)
    check_tensor(log_std, "log_std", ndim=1)
    if mean.shape != log_std.shape:
        raise ValueError(f"mean {tuple(mean.shape)} and log_std {tuple(log_std.shape)} differ")


def _expand(param: torch.Tensor, n: int) -> torch.Tensor:
    """A per-sample copy (n, d) of a parameter (d,), so autograd gives per-sample gradients."""
    return param.detach().expand(n, -1).clone().requires_grad_(True)


def score_function_gradients(
    f: TestFunction,
    mean: torch.Tensor,
    log_std: torch.Tensor,
    n: int,
    *,
    baseline: float | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-sample score-function estimates of grad E_q[f], shape (n, 2d).

    Args:
        f: the test function, (n, d) -> (n,). Only its values are used (it need not be
            differentiable).
        mean, log_std: the parameters of q, each (d,).
        baseline: None; a constant b; or ``"loo"`` (leave-one-out: for sample i, the mean
            of f over the other samples, which keeps the estimator unbiased).
    """
    _check_params(mean, log_std)
    check_positive_int(n, "n")
    mu, log_s = _expand(mean, n), _expand(log_std, n)
    q = dist.Normal(mu, log_s.exp())
    with torch.no_grad():
        z = q.sample() if generator is None else mu + log_s.exp() * torch.randn(
            mu.shape, generator=generator)
        fz = f(z)
        if fz.shape != (n,):
            raise ValueError(f"f must map (n, d) to (n,), got output shape {tuple(fz.shape)}")
        if baseline == "loo":
            if n < 2:
                raise ValueError("the leave-one-out baseline needs n >= 2")
            fz = fz - (fz.sum() - fz) / (n - 1)
        elif isinstance(baseline, (int, float)):
            fz = fz - baseline
        elif baseline is not None:
            raise ValueError(f"baseline must be None, a number or 'loo', got {baseline!r}")
    log_q = q.log_prob(z).sum(-1)  # (n,): log q_theta(z_i), z held fixed
    (fz * log_q).sum().backward()
    return torch.cat([mu.grad, log_s.grad], dim=1)


def reparameterization_gradients(
    f: TestFunction,
    mean: torch.Tensor,
    log_std: torch.Tensor,
    n: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Per-sample pathwise estimates grad_theta f(mu + sigma * eps), shape (n, 2d).

    ``f`` must be differentiable (it is back-propagated through).
    """
    _check_params(mean, log_std)
    check_positive_int(n, "n")
    mu, log_s = _expand(mean, n), _expand(log_std, n)
    eps = torch.randn(mu.shape, generator=generator)
    z = mu + log_s.exp() * eps  # the reparameterization
    fz = f(z)
    if fz.shape != (n,):
        raise ValueError(f"f must map (n, d) to (n,), got output shape {tuple(fz.shape)}")
    fz.sum().backward()
    return torch.cat([mu.grad, log_s.grad], dim=1)


def squared_norm(z: torch.Tensor) -> torch.Tensor:
    """The running example f(z) = ||z||^2, (n, d) -> (n,)."""
    return (z**2).sum(-1)


def squared_norm_true_gradient(mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Exact grad of E[||z||^2] = sum_j (mu_j^2 + sigma_j^2): (2 mu, 2 sigma^2), shape (2d,)."""
    _check_params(mean, log_std)
    return torch.cat([2 * mean, 2 * (2 * log_std).exp()])


def squared_norm_score_variance_mean(mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Exact per-sample variance of the score-function estimate of d/d mu_j E[||z||^2], (d,).

    With z_j = mu_j + sigma_j eps_j, the estimate is f(z) eps_j / sigma_j and
    f = z_j^2 + R with R = sum_{i != j} z_i^2 independent of eps_j. Using the Gaussian
    moments E[eps^2] = 1, E[eps^4] = 3, E[eps^6] = 15:

        E[z_j^4 eps_j^2] = mu^4 + 18 mu^2 s^2 + 15 s^4,   E[z_j^2 eps_j^2] = mu^2 + 3 s^2,
        Var = (E[z_j^4 eps^2] + 2 E[R] E[z_j^2 eps^2] + E[R^2]) / s^2 - (2 mu)^2,

    with E[R] = sum_{i != j} (mu_i^2 + s_i^2) and
    E[R^2] = sum_{i != j} (4 mu_i^2 s_i^2 + 2 s_i^4) + E[R]^2.
    For d = 1 this is (mu^4 + 18 mu^2 s^2 + 15 s^4) / s^2 - 4 mu^2.
    """
    _check_params(mean, log_std)
    mu, s2 = mean.double(), (2 * log_std.double()).exp()
    m1 = mu**2 + s2  # E[z_i^2]
    var_sq = 4 * mu**2 * s2 + 2 * s2**2  # Var[z_i^2]
    e_r = m1.sum() - m1
    e_r2 = (var_sq.sum() - var_sq) + e_r**2
    e_z4e2 = mu**4 + 18 * mu**2 * s2 + 15 * s2**2
    e_z2e2 = mu**2 + 3 * s2
    second_moment = (e_z4e2 + 2 * e_r * e_z2e2 + e_r2) / s2
    return (second_moment - 4 * mu**2).to(mean.dtype)


def squared_norm_pathwise_variance_mean(mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Exact variance of the pathwise estimate 2 z_j of d/d mu_j E[||z||^2]: 4 sigma_j^2, (d,)."""
    _check_params(mean, log_std)
    return 4 * (2 * log_std).exp()
