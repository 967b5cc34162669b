"""Diagonal Gaussians: the closed-form KL to N(0, I) and the reparameterized sample.

Kingma & Welling (2014), Appendix B: for q = N(mu, diag(sigma^2)) and p = N(0, I) in
d_z dimensions,

    KL(q || p) = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1).

Encoders output the log-variance log sigma^2 (any real number) rather than sigma^2
(which must stay positive).
"""

from __future__ import annotations

import math

import torch

from tutorial_lib.validation import check_positive_int, check_tensor


def _check_mu_log_var(mu: torch.Tensor, log_var: torch.Tensor) -> None:
    check_tensor(mu, "mu", ndim=2)
    check_tensor(log_var, "log_var", ndim=2)
    if mu.shape != log_var.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and log_var {tuple(log_var.shape)} must have "
                         "the same shape (B, d_z)")


def kl_to_standard_normal_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_j, sigma_j^2) || N(0, 1)) per latent dimension; (B, d_z) -> (B, d_z)."""
    _check_mu_log_var(mu, log_var)
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0)


def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) in nats, summed over latent dims.

    Args:
        mu, log_var: (B, d_z).
    Returns:
        (B,): one KL per example.
    """
    return kl_to_standard_normal_per_dim(mu, log_var).sum(1)


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, n_samples: int | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of q that gradients flow through.

    Args:
        mu, log_var: (B, d_z).
        n_samples: None for one sample (B, d_z); k for k samples per example (k, B, d_z).
    """
    _check_mu_log_var(mu, log_var)
    shape = mu.shape if n_samples is None else (check_positive_int(n_samples, "n_samples"),
                                                *mu.shape)
    eps = torch.randn(shape, device=mu.device, dtype=mu.dtype, generator=generator)
    return mu + (0.5 * log_var).exp() * eps


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(log_var))), summed over the last axis; broadcasts."""
    for value, name in ((z, "z"), (mu, "mu"), (log_var, "log_var")):
        check_tensor(value, name)
    return -0.5 * (((z - mu) ** 2) / log_var.exp() + log_var + math.log(2 * math.pi)).sum(-1)


def log_normal_std(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    check_tensor(z, "z")
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
