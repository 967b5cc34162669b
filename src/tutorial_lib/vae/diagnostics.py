"""Posterior-collapse diagnostics: KL per latent dimension and active units.

A latent dimension j "collapses" when q(z_j | x) equals the prior for every x: it then
carries no information about x and its KL is zero. Two measurements:

- the average KL per dimension, E_x[KL(q(z_j | x) || N(0, 1))];
- active units (Burda et al., 2016): dimension j is active when
  A_j = Cov_x(E_{q(z|x)}[z_j]) > 0.01, i.e. its posterior mean moves with x.

And the two parts of the average KL term (Hoffman & Johnson, 2016; chapter 11):
E_x KL(q(z | x) || p(z)) = I_q(x; z) + KL(q(z) || p(z)), where q(z) = (1/N) sum_n
q(z | x_n) is the aggregate posterior: :func:`elbo_surgery`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tutorial_lib.vae.gaussian import (
    kl_to_standard_normal,
    kl_to_standard_normal_per_dim,
    log_normal_diag,
    log_normal_std,
)
from tutorial_lib.vae.models import VAE
from tutorial_lib.vae.objectives import device_batches
from tutorial_lib.validation import check_positive_int


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
    return kl_to_standard_normal_per_dim(mu, log_var).mean(0)


def activity(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """A_j = variance over images of the posterior mean of z_j; (d_z,)."""
    mu, _ = posterior_statistics(model, x, y)
    return mu.var(0)


def active_units(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None,
                 threshold: float = 0.01) -> int:
    """The number of latent dimensions with activity above ``threshold`` (Burda et al.)."""
    return int((activity(model, x, y) > threshold).sum())


@dataclass(frozen=True)
class ELBOSurgery:
    """The average KL term split in two, in nats (Hoffman & Johnson, 2016)."""

    average_kl: float  # E_x KL(q(z | x) || p(z)), exact (closed form per image)
    marginal_kl: float  # KL(q(z) || p(z)), Monte Carlo estimate
    mutual_information: float  # I_q(x; z) = average_kl - marginal_kl, at most log N
    stderr: float  # standard error of the Monte Carlo estimate
    n: int  # images, so log N bounds the mutual information

    def __repr__(self) -> str:
        return (f"E KL(q(z|x) || p) = {self.average_kl:.2f} = I(x; z) "
                f"{self.mutual_information:.2f} + KL(q(z) || p) {self.marginal_kl:.2f} "
                f"(± {self.stderr:.2f}) nats; log N = {math.log(self.n):.2f}")


@torch.no_grad()
def elbo_surgery(mu: torch.Tensor, log_var: torch.Tensor, n_samples: int = 2000,
                 seed: int = 0, chunk: int = 250) -> ELBOSurgery:
    """Split E_x KL(q(z | x) || N(0, I)) into I_q(x; z) and KL(q(z) || N(0, I)).

    Args:
        mu, log_var: (N, d_z), the posteriors of N images (see
            :func:`posterior_statistics`); x is uniform over these images.
        n_samples: z ~ q(z) draws for KL(q(z) || p(z)) = E_q(z)[log q(z) - log p(z)],
            with log q(z) = logsumexp_n log q(z | x_n) - log N computed exactly. The
            draws cycle through the images (stratified sampling); ``stderr`` treats them
            as independent, so it errs on the large side.
    """
    check_positive_int(n_samples, "n_samples")
    n = len(mu)
    gen = torch.Generator().manual_seed(seed)
    # stratified: the draws cycle through the images in a random order, so with
    # n_samples >= N every posterior contributes (n_samples < N: a random subset does)
    pick = torch.randperm(n, generator=gen)[torch.arange(n_samples) % n]
    eps = torch.randn(n_samples, mu.shape[1], generator=gen, dtype=mu.dtype)
    z = mu[pick] + (0.5 * log_var[pick]).exp() * eps  # z ~ q(z), (S, d_z)
    terms = []
    for zc in z.split(chunk):
        log_q = torch.logsumexp(log_normal_diag(zc[:, None], mu[None], log_var[None]), 1)
        terms.append(log_q - math.log(n) - log_normal_std(zc))
    values = torch.cat(terms).double()
    average = float(kl_to_standard_normal(mu, log_var).double().mean())
    marginal = float(values.mean())
    return ELBOSurgery(average, marginal, average - marginal,
                       float(values.std() / math.sqrt(n_samples)), n)
