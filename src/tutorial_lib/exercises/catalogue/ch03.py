"""Chapter 3's exercises: the Monte Carlo ELBO from samples of q, the loss of one VAE
training step, and the Monte Carlo KL."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.exercises.catalogue.common import (
    linear_net,
    log_weight_cases,
    randn,
    seeded,
    uniform,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, gaussian
from tutorial_lib.vae.gaussian import kl_to_standard_normal

LOG_2PI = math.log(2 * math.pi)


def elbo_from_samples(log_joint: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """The Monte Carlo ELBO: mean over K samples of log p(x, z_k) - log q(z_k | x).

    Args:
        log_joint, log_q: (K, B), sample k of example b.
    Returns:
        (B,).
    """
    return (log_joint - log_q).mean(0)


FORMULA = Formula(
    quantities=lambda log_joint, log_q: {"log_joint": log_joint, "log_q": log_q},
    terms=(Term("log p(x, z)", lambda q: q["log_joint"]),
           Term("-log q(z | x) (the entropy term)", lambda q: q["log_q"], -1.0)),
    reduce=lambda t: t.mean(0),
    wrong_reductions=(("a sum over the K samples where the Monte Carlo estimate averages "
                       "(mean over axis 0)", lambda t: t.sum(0)),),
)


ELBO_SAMPLES = Exercise(
    id="ch03.elbo_from_samples",
    title="the ELBO from samples of q",
    signature="elbo_from_samples(log_joint, log_q) -> (B,)",
    reference=elbo_from_samples,
    cases=lambda: log_weight_cases(big=False),
    formula=FORMULA,
    grad_args=(0, 1),
    axes=("the K samples", "the B examples"),
    mistakes=(
        Mistake("the sign is flipped: the ELBO is E_q[log p(x, z) - log q(z | x)]; you "
                "computed the mean of log q - log p (the negative ELBO)",
                lambda lj, lq: (lq - lj).mean(0)),
        Mistake("you computed log(mean(exp(.))), the importance-weighted bound of "
                "chapter 5; the ELBO averages the log-weights",
                lambda lj, lq: torch.logsumexp(lj - lq, 0) - math.log(len(lj))),
    ),
)


def negative_elbo_step(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor,
                       eps: torch.Tensor) -> torch.Tensor:
    """The loss of one VAE training step: the negative ELBO averaged over the batch.

    Args:
        encoder: (B, D) -> (B, 2 d_z), the mean and the log-variance side by side.
        decoder: (B, d_z) -> (B, D) logits of a Bernoulli decoder.
        x: (B, D) binary; eps: (B, d_z), the standard normal noise of the sample.
    Returns:
        A scalar whose gradient reaches both networks.
    """
    mu, log_var = encoder(x).chunk(2, dim=1)
    z = mu + (0.5 * log_var).exp() * eps
    reconstruction = F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none")
    return (reconstruction.sum(1) + kl_to_standard_normal(mu, log_var)).mean()


def _cases_vae_step() -> list[Case]:
    gen, out = seeded(31), []
    for b, d, d_z in ((5, 6, 2), (8, 4, 3)):
        encoder, decoder = linear_net(gen, d, 2 * d_z), linear_net(gen, d_z, d)
        x = (torch.rand(b, d, generator=gen) < 0.4).float()
        out.append(Case((encoder, decoder, x, randn(gen, b, d_z)),
                        f"x ({b}, {d}), eps ({b}, {d_z})", b))
    return out


def _vae_quantities(encoder, decoder, x, eps) -> dict:
    mu, log_var = encoder(x).chunk(2, dim=1)
    return {"decoder": decoder, "x": x, "eps": eps, "mu": mu, **gaussian(log_var)}


def _reconstruction(q: dict, z: torch.Tensor | None = None) -> torch.Tensor:
    z = q["mu"] + q["std"] * q["eps"] if z is None else z
    return F.binary_cross_entropy_with_logits(q["decoder"](z), q["x"], reduction="none")


VAE_STEP = Exercise(
    id="ch03.negative_elbo_step",
    title="the loss of one VAE training step",
    signature="negative_elbo_step(encoder, decoder, x, eps) -> scalar",
    reference=negative_elbo_step,
    cases=_cases_vae_step,
    output="scalar",
    formula=Formula(
        quantities=_vae_quantities,
        terms=(
            Term("-log p(x | z) (the reconstruction, summed over the D pixels)",
                 lambda q: _reconstruction(q).sum(1), alternatives=(
                     ("the decoder sees mu, not the sample z = mu + sigma * eps: without the "
                      "noise the KL has nothing to trade against",
                      lambda q: _reconstruction(q, q["mu"]).sum(1)),
                     ("a mean over the D pixels where the sum belongs (as with "
                      "binary_cross_entropy_with_logits's default reduction=\"mean\"): the "
                      "pixels are independent given z, so pass reduction=\"none\" and sum "
                      "over the pixels", lambda q: _reconstruction(q).mean(1)))),
            Term("KL(q(z | x) || N(0, I))", lambda q: 0.5 * (
                q["mu"] ** 2 + q["var"] - q["log_var"] - 1).sum(1)),
        ),
        reduce=lambda t: t.mean(0),
        gaussians=("",),
    ),
    grad_args=(0, 1),
    confirmation="Both networks get the reference's gradient, through the sample z.",
)


def kl_monte_carlo(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """The Monte Carlo estimate of KL(q(z | x) || N(0, I)) from K samples z_k ~ q:
    mean over k of log q(z_k | x) - log p(z_k). z: (K, B, d); mu, log_var: (B, d) -> (B,)."""
    log_q = -0.5 * ((z - mu) ** 2 / log_var.exp() + log_var + LOG_2PI).sum(-1)
    log_p = -0.5 * (z ** 2 + LOG_2PI).sum(-1)
    return (log_q - log_p).mean(0)


def _cases_kl_mc() -> list[Case]:
    gen, out = seeded(32), []
    for k, b, d in ((4, 3, 5), (6, 7, 2), (3, 5, 4)):
        mu, log_var = randn(gen, b, d), uniform(gen, b, d, low=-1.5, high=1.0)
        z = mu + (0.5 * log_var).exp() * randn(gen, k, b, d)
        out.append(Case((z, mu, log_var), f"z (K={k}, B={b}, d={d}), mu, log_var ({b}, {d})",
                        b))
    return out


def _diagnosis_kl_mc() -> list[Case]:
    gen = seeded(33)
    return [Case((randn(gen, k, b, d), randn(gen, b, d), uniform(gen, b, d, low=0.2, high=1.5)),
                 f"z (K={k}, B={b}, d={d}), log_var > 0", b)
            for k, b, d in ((4, 3, 5), (6, 7, 2))]


KL_MONTE_CARLO = Exercise(
    id="ch03.kl_monte_carlo",
    title="the Monte Carlo estimate of the KL term",
    signature="kl_monte_carlo(z, mu, log_var) -> (B,)",
    reference=kl_monte_carlo,
    cases=_cases_kl_mc,
    diagnosis_cases=_diagnosis_kl_mc,
    formula=Formula(
        quantities=lambda z, mu, log_var: {"z": z, "mu": mu, **gaussian(log_var)},
        terms=(
            Term("-(z - mu)^2 / (2 sigma^2) in log q", lambda q: (q["z"] - q["mu"]) ** 2
                 / q["var"], -0.5, unsquared=lambda q: (q["z"] - q["mu"]) / q["var"]),
            Term("-1/2 log sigma^2 in log q", lambda q: q["log_var"].expand_as(q["z"]), -0.5),
            Term("-1/2 log(2 pi) in log q", lambda q: LOG_2PI, -0.5, constant=True),
            Term("+z^2 / 2 from -log p(z)", lambda q: q["z"] ** 2, 0.5,
                 unsquared=lambda q: q["z"]),
            Term("+1/2 log(2 pi) from -log p(z)", lambda q: LOG_2PI, 0.5, constant=True),
        ),
        reduce=lambda t: t.sum(-1).mean(0),
        wrong_reductions=(
            ("a mean over the d latent dimensions where the sum belongs: log q(z) of a "
             "diagonal Gaussian sums over the coordinates", lambda t: t.mean(-1).mean(0)),
            ("a sum over the K samples where the Monte Carlo estimate averages",
             lambda t: t.sum(-1).sum(0))),
        reduced_over="the d latent dimensions",
        gaussians=("",),
    ),
    grad_args=(1, 2),
    axes=("the K samples", "the B examples", "the d latent dimensions"),
    mistakes=(
        Mistake("you computed the Monte Carlo estimate of KL(p || q) with samples of q, "
                "E_q[log p(z) - log q(z)]: the sign is flipped",
                lambda z, mu, lv: -kl_monte_carlo(z, mu, lv)),
    ),
    confirmation="Its average over many samples is the closed-form KL of chapter 4.",
)
