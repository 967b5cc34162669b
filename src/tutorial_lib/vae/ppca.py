"""Probabilistic PCA (Tipping & Bishop, 1999): a latent variable model with everything exact.

    z ~ N(0, I_k),   x | z ~ N(W z + mu, sigma^2 I_d).

Because it is linear and Gaussian, the marginal p(x) = N(mu, W W^T + sigma^2 I) and the
posterior p(z | x) = N(M^{-1} W^T (x - mu), sigma^2 M^{-1}), M = W^T W + sigma^2 I, are
known in closed form. So is the ELBO of any Gaussian q(z) = N(m, S). Chapter 3 uses it to
check, exactly, that ELBO <= log p(x), with equality at the true posterior, and that the
gap is KL(q || p(z | x)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import distributions as dist

from tutorial_lib.validation import check_positive_int, check_tensor


@dataclass
class PPCA:
    """Parameters: W (d, k), mu (d,), sigma2 > 0. Use float64 for exact checks."""

    W: torch.Tensor
    mu: torch.Tensor
    sigma2: float

    def __post_init__(self) -> None:
        check_tensor(self.W, "W", ndim=2)
        check_tensor(self.mu, "mu", ndim=1)
        if self.W.shape[0] != self.mu.shape[0]:
            raise ValueError(f"W is {tuple(self.W.shape)} but mu has {self.mu.shape[0]} entries")
        if not self.sigma2 > 0:
            raise ValueError(f"sigma2 must be positive, got {self.sigma2}")

    @property
    def d(self) -> int:
        return self.W.shape[0]

    @property
    def k(self) -> int:
        return self.W.shape[1]

    @classmethod
    def fit(cls, x: torch.Tensor, k: int) -> PPCA:
        """The maximum-likelihood PPCA of data x (N, d) with k latent dimensions (closed form).

        With the sample covariance's eigenvalues l_1 >= ... >= l_d and eigenvectors U:
        sigma2 = mean(l_{k+1..d}), W = U_k (diag(l_1..k) - sigma2 I)^{1/2} (Tipping & Bishop).
        """
        check_tensor(x, "x", ndim=2)
        check_positive_int(k, "k")
        if k >= x.shape[1]:
            raise ValueError(f"k must be smaller than the data dimension {x.shape[1]}, got {k}")
        x = x.double()
        mu = x.mean(0)
        cov = (x - mu).T @ (x - mu) / len(x)
        evals, evecs = torch.linalg.eigh(cov)
        evals, evecs = evals.flip(0), evecs.flip(1)
        sigma2 = float(evals[k:].mean().clamp_min(1e-8))
        W = evecs[:, :k] * (evals[:k] - sigma2).clamp_min(0).sqrt()
        return cls(W, mu, sigma2)

    def marginal(self) -> dist.MultivariateNormal:
        """p(x) = N(mu, W W^T + sigma^2 I)."""
        cov = self.W @ self.W.T + self.sigma2 * torch.eye(self.d, dtype=self.W.dtype)
        return dist.MultivariateNormal(self.mu, covariance_matrix=cov)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) in nats; x (B, d) -> (B,)."""
        check_tensor(x, "x", ndim=2, last_dims=(self.d,))
        return self.marginal().log_prob(x.to(self.W.dtype))

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z | x) = N(mean, cov): mean (B, k), cov (k, k) (the same for every x)."""
        check_tensor(x, "x", ndim=2, last_dims=(self.d,))
        M = self.W.T @ self.W + self.sigma2 * torch.eye(self.k, dtype=self.W.dtype)
        M_inv = torch.linalg.inv(M)
        mean = (x.to(self.W.dtype) - self.mu) @ self.W @ M_inv.T
        return mean, self.sigma2 * M_inv

    def elbo(self, x: torch.Tensor, q_mean: torch.Tensor, q_cov: torch.Tensor) -> torch.Tensor:
        """The ELBO of q(z | x) = N(q_mean, q_cov) in closed form; (B,).

        E_q[log p(x | z)] = -d/2 log(2 pi sigma^2)
                            - (||x - mu - W m||^2 + tr(W S W^T)) / (2 sigma^2),
        KL(q || p(z))     = (tr S + m^T m - k - log det S) / 2.

        q_cov may be (k, k) (shared) or (B, k, k).
        """
        x = x.to(self.W.dtype)
        S = q_cov.expand(len(x), self.k, self.k)
        resid = x - self.mu - q_mean @ self.W.T
        trace_wsw = torch.einsum("ij,bjk,ik->b", self.W, S, self.W)
        expected_loglik = (-0.5 * self.d * math.log(2 * math.pi * self.sigma2)
                           - (resid.pow(2).sum(1) + trace_wsw) / (2 * self.sigma2))
        kl = 0.5 * (torch.diagonal(S, dim1=-2, dim2=-1).sum(-1) + q_mean.pow(2).sum(1)
                    - self.k - torch.logdet(S))
        return expected_loglik - kl

    def kl_to_posterior(self, x: torch.Tensor, q_mean: torch.Tensor,
                        q_cov: torch.Tensor) -> torch.Tensor:
        """KL(q(z | x) || p(z | x)), computed by torch.distributions; (B,)."""
        post_mean, post_cov = self.posterior(x)
        q = dist.MultivariateNormal(q_mean, covariance_matrix=q_cov.expand(len(x), self.k, self.k))
        p = dist.MultivariateNormal(post_mean, covariance_matrix=post_cov)
        return dist.kl_divergence(q, p)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Ancestral samples x = W z + mu + sigma eps, (n, d)."""
        z = torch.randn(n, self.k, generator=generator, dtype=self.W.dtype)
        eps = torch.randn(n, self.d, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.mu + math.sqrt(self.sigma2) * eps
