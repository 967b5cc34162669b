"""Posterior-collapse diagnostics: KL per latent dimension and active units.

A latent dimension j "collapses" when q(z_j | x) equals the prior for every x: it then
carries no information about x and its KL is zero. Two measurements:

- the average KL per dimension, E_x[KL(q(z_j | x) || N(0, 1))];
- active units (Burda et al., 2016): dimension j is active when
  A_j = Cov_x(E_{q(z|x)}[z_j]) > 0.01, i.e. its posterior mean moves with x.
"""

from __future__ import annotations

import torch

from tutorial_lib.vae.gaussian import kl_normal_std_per_dim
from tutorial_lib.vae.models import VAE
from tutorial_lib.vae.objectives import device_batches


@torch.no_grad()
def posterior_statistics(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None,
                         batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, log_var) of q(z | x) for every image; each (N, d_z), on the CPU."""
    model.eval()
    mus, log_vars = [], []
    for xb, yb in device_batches(model, x, y, batch_size):
        mu, log_var = model.encode(xb, yb)
        mus.append(mu.cpu())
        log_vars.append(log_var.cpu())
    return torch.cat(mus), torch.cat(log_vars)


def kl_per_dimension(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Average KL(q(z_j | x) || N(0, 1)) over the images, per latent dimension; (d_z,), nats."""
    mu, log_var = posterior_statistics(model, x, y)
    return kl_normal_std_per_dim(mu, log_var).mean(0)


def activity(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """A_j = variance over images of the posterior mean of z_j; (d_z,)."""
    mu, _ = posterior_statistics(model, x, y)
    return mu.var(0)


def active_units(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None,
                 threshold: float = 0.01) -> int:
    """The number of latent dimensions with activity above ``threshold`` (Burda et al.)."""
    return int((activity(model, x, y) > threshold).sum())
