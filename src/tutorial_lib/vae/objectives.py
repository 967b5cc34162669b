"""The ELBO, the importance-weighted bound, and log-likelihood estimates.

ELBO (Kingma & Welling, 2014; Rezende et al., 2014), for one image x:

    L(x) = E_{q(z|x)}[log p(x | z)] - KL(q(z | x) || p(z))   <=   log p(x).

IWAE bound (Burda et al., 2016), with k samples z_1..z_k ~ q(z | x):

    L_k(x) = E[ log (1/k) sum_i w_i ],   w_i = p(x | z_i) p(z_i) / q(z_i | x),

with L_1 = L <= L_k <= L_{k+1} -> log p(x) as k grows. With large k it is the standard
estimate of log p(x) ("NLL" = -log p(x), in nats, or bits/dim after dividing by
d ln 2). Everything is computed in log space with logsumexp.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from tutorial_lib.vae.gaussian import (
    kl_to_standard_normal_per_dim,
    log_normal_diag,
    log_normal_std,
    reparameterize,
)
from tutorial_lib.vae.models import VAE
from tutorial_lib.validation import check_images, check_number, check_positive_int, check_tensor


def _decode_samples(model: VAE, x: torch.Tensor, z: torch.Tensor,
                    y: torch.Tensor | None) -> torch.Tensor:
    """log p(x | z_s) for S samples per image: z (S, B, d_z) -> (S, B)."""
    s, b = z.shape[:2]
    xs = x.expand(s, *x.shape).reshape(s * b, *x.shape[1:])
    ys = None if y is None else y.expand(s, b).reshape(s * b)
    return model.log_px_given_z(xs, model.decode(z.reshape(s * b, -1), ys)).view(s, b)


def device_batches(model: VAE, x: torch.Tensor, y: torch.Tensor | None, batch_size: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Consecutive batches (x_b, y_b) of a data set, moved to the model's device."""
    device = next(model.parameters()).device
    for i in range(0, len(x), batch_size):
        yield (x[i:i + batch_size].to(device),
               None if y is None else y[i:i + batch_size].to(device))


@dataclass
class ELBOTerms:
    """Per-example terms of the ELBO, each (B,), plus the training loss (a scalar).

    ``elbo = reconstruction - kl`` is the true bound (beta = 1, no free bits); ``loss`` is
    what training minimizes: -(reconstruction - beta * KL), with free bits if asked.
    """

    reconstruction: torch.Tensor  # E_q[log p(x | z)], (B,), nats
    kl: torch.Tensor  # KL(q(z | x) || p(z)), (B,), nats
    kl_per_dim: torch.Tensor  # (B, d_z)
    loss: torch.Tensor  # scalar to minimize

    @property
    def elbo(self) -> torch.Tensor:
        return self.reconstruction - self.kl


def elbo(
    model: VAE,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    beta: float = 1.0,
    free_bits: float = 0.0,
    n_samples: int = 1,
) -> ELBOTerms:
    """The ELBO of each image and the (beta-weighted) training loss.

    Args:
        x: images (B, C, H, W) in [0, 1] (binary for a Bernoulli likelihood).
        y: labels (B,) for a conditional VAE.
        beta: weight of the KL term (beta-VAE; 1 is the ELBO).
        free_bits: lambda >= 0 in nats per latent dimension (Kingma et al., 2016): the loss
            uses sum_j max(lambda, KL_j averaged over the batch), so dimensions whose KL is
            below lambda are not pushed further towards the prior.
        n_samples: Monte Carlo samples of z per image for the reconstruction term.
    """
    check_images(x, "x", nonempty=True)
    check_number(beta, "beta", low=0)
    check_number(free_bits, "free_bits", low=0)
    check_positive_int(n_samples, "n_samples")
    mu, log_var = model.encode(x, y)
    z = reparameterize(mu, log_var, n_samples)  # (S, B, d_z)
    reconstruction = _decode_samples(model, x, z, y).mean(0)
    kl_per_dim = kl_to_standard_normal_per_dim(mu, log_var)
    kl = kl_per_dim.sum(1)
    if free_bits > 0:
        kl_for_loss = kl_per_dim.mean(0).clamp_min(free_bits).sum()
    else:
        kl_for_loss = kl.mean()
    loss = -(reconstruction.mean() - beta * kl_for_loss)
    return ELBOTerms(reconstruction, kl, kl_per_dim, loss)


def log_importance_weights(model: VAE, x: torch.Tensor, k: int,
                           y: torch.Tensor | None = None) -> torch.Tensor:
    """log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x) for k samples; (k, B)."""
    check_images(x, "x", nonempty=True)
    check_positive_int(k, "k")
    mu, log_var = model.encode(x, y)
    z = reparameterize(mu, log_var, k)  # (k, B, d_z)
    log_px = _decode_samples(model, x, z, y)
    return log_px + log_normal_std(z) - log_normal_diag(z, mu, log_var)


def iwae_bound(model: VAE, x: torch.Tensor, k: int, y: torch.Tensor | None = None,
               chunk: int = 128) -> torch.Tensor:
    """L_k(x) = log (1/k) sum_i w_i for each image, (B,), in nats.

    The k samples go through the decoder in chunks of ``chunk`` so that any k fits in
    memory; the (k, B) log-weights are then combined by one logsumexp over k.
    Differentiable (train with it for an IWAE).
    """
    check_positive_int(k, "k")
    check_positive_int(chunk, "chunk")
    parts = [log_importance_weights(model, x, min(chunk, k - i), y) for i in range(0, k, chunk)]
    return log_mean_exp(torch.cat(parts, 0))


def log_mean_exp(log_weights: torch.Tensor) -> torch.Tensor:
    """log (1/K) sum_k exp(log_weights[k]) over the first axis, stably: (K, B) -> (B,).

    Computed as logsumexp - log K: exp of log-weights hundreds of nats below zero
    underflows to 0 in floating point, logsumexp does not.
    """
    check_tensor(log_weights, "log_weights")
    if log_weights.ndim == 0 or len(log_weights) == 0:
        raise ValueError(f"log_weights: expected at least one weight along the first axis "
                         f"(K, B), got shape {tuple(log_weights.shape)}")
    return torch.logsumexp(log_weights, 0) - math.log(log_weights.shape[0])


@dataclass
class LogLikelihood:
    """An importance-sampled estimate of log p(x) over a data set."""

    log_px: torch.Tensor  # (N,) per-image estimates, nats
    k: int  # importance samples per image
    dim: int  # pixels per image

    @property
    def nll(self) -> float:
        """Average negative log-likelihood in nats per image."""
        return float(-self.log_px.mean())

    @property
    def bits_per_dim(self) -> float:
        return self.nll / (self.dim * math.log(2))

    @property
    def stderr(self) -> float:
        """Standard error of the mean over images (not over the importance samples)."""
        return float(self.log_px.std() / math.sqrt(len(self.log_px)))

    def __str__(self) -> str:
        return (f"NLL {self.nll:.2f} ± {self.stderr:.2f} nats ({self.bits_per_dim:.4f} "
                f"bits/dim; k = {self.k}, {len(self.log_px)} images)")


@torch.no_grad()
def estimate_log_likelihood(
    model: VAE,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    k: int = 1000,
    batch_size: int = 50,
    chunk: int = 500,
    progress: bool = True,
    seed: int | None = 0,
) -> LogLikelihood:
    """log p(x) ~ L_k(x) for every image, batched so that k = 5,000 fits in memory.

    Memory is about batch_size * chunk * (pixels + hidden units) floats: 50 x 500 images
    through the decoder at a time by default.
    """
    check_images(x, "x", binary=getattr(model.likelihood, "binary", False), nonempty=True)
    check_positive_int(k, "k")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(chunk, "chunk")
    was_training = model.training
    model.eval()
    if seed is not None:
        torch.manual_seed(seed)
    out = []
    batches = device_batches(model, x, y, batch_size)
    total = math.ceil(len(x) / batch_size)
    for xb, yb in tqdm(batches, total=total, desc=f"log p(x), k={k}", disable=not progress,
                       leave=False):
        out.append(iwae_bound(model, xb, k, yb, chunk=chunk).cpu())
    model.train(was_training)
    return LogLikelihood(torch.cat(out), k, int(x[0].numel()))


@torch.no_grad()
def evaluate_elbo(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None,
                  batch_size: int = 500) -> dict[str, float]:
    """Average ELBO, reconstruction and KL over a data set x (N, C, H, W), N >= 1, in nats
    per image."""
    check_images(x, "x", nonempty=True)
    check_positive_int(batch_size, "batch_size")
    was_training = model.training
    model.eval()
    sums = {"elbo": 0.0, "reconstruction": 0.0, "kl": 0.0}
    for xb, yb in device_batches(model, x, y, batch_size):
        t = elbo(model, xb, yb)
        sums["elbo"] += float(t.elbo.sum())
        sums["reconstruction"] += float(t.reconstruction.sum())
        sums["kl"] += float(t.kl.sum())
    model.train(was_training)
    return {key: v / len(x) for key, v in sums.items()}
