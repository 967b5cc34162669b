"""The book's code exercises: for each, the reference, the inputs, the mistakes it names.

Exercise ids read ``chNN.function_name``. The references are the package's own functions
where one exists (so the exercises check the code the chapters use); the few written out
here (the KL between two Gaussians, the Monte Carlo ELBO, the Bernoulli ELBO from tensors,
the discriminator step) are where the package works at a higher level, on whole models.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.applications.anomaly import roc_auc
from tutorial_lib.exercises.checker import (
    LOG_2PI,
    Case,
    Exercise,
    Mistake,
    as_array,
    randn,
    uniform,
)
from tutorial_lib.gan.losses import (
    discriminator_loss,
    generator_loss_nonsaturating,
    gradient_penalty,
)
from tutorial_lib.hybrids.vaegan import feature_distance
from tutorial_lib.metrics.coverage import class_coverage
from tutorial_lib.metrics.frechet import frechet_distance
from tutorial_lib.metrics.kid import mmd2_unbiased_from_kernels
from tutorial_lib.vae.gaussian import kl_normal_std, log_normal_diag, reparameterize
from tutorial_lib.vae.objectives import log_mean_exp

SHAPES = ((3, 5), (7, 4), (5, 11))  # (B, d): B, d distinct and not 2, so factors tell apart


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- chapter 1: log-density
def _cases_log_normal() -> list[Case]:
    gen, out = _gen(1), []
    for b, d in SHAPES:
        x, mean = randn(gen, b, d), randn(gen, b, d)
        log_var = uniform(gen, b, d, low=-2.0, high=2.0)
        out.append(Case((x, mean, log_var), f"x, mean, log_var of shape ({b}, {d})", b))
    return out


def _log_normal_terms(x, mean, log_var, *, var=None, half=0.5, const=LOG_2PI, logdet=None):
    var = log_var.exp() if var is None else var
    logdet = log_var if logdet is None else logdet
    return -(half * (x - mean) ** 2 / var + 0.5 * logdet + 0.5 * const).sum(-1)


LOG_NORMAL = Exercise(
    id="ch01.log_normal_diag",
    title="log-density of a diagonal Gaussian",
    signature="log_normal_diag(x, mean, log_var) -> (B,)",
    reference=log_normal_diag,
    cases=_cases_log_normal,
    mistakes=(
        Mistake("the sign is flipped: you returned the negative log-density (a loss); "
                "return log N(x; mean, diag(exp(log_var)))",
                lambda x, m, lv: -log_normal_diag(x, m, lv)),
        Mistake("a factor 1/2 is missing in front of the squared term: "
                "-(x - mean)^2 / (2 sigma^2), not -(x - mean)^2 / sigma^2",
                lambda x, m, lv: _log_normal_terms(x, m, lv, half=1.0)),
        Mistake("the log-variance is used as the variance: divide by sigma^2 = "
                "exp(log_var), not by log_var",
                lambda x, m, lv: _log_normal_terms(x, m, lv, var=lv)),
        Mistake("you divided by sigma = exp(log_var / 2) where the variance sigma^2 = "
                "exp(log_var) belongs",
                lambda x, m, lv: _log_normal_terms(x, m, lv, var=(0.5 * lv).exp())),
        Mistake("the variance is used where its logarithm belongs: the normalizer "
                "contributes -1/2 log sigma^2 = -1/2 log_var, not -1/2 exp(log_var)",
                lambda x, m, lv: _log_normal_terms(x, m, lv, logdet=lv.exp())),
        Mistake("the constant -1/2 log(2 pi) per dimension is missing",
                lambda x, m, lv: _log_normal_terms(x, m, lv, const=0.0)),
        Mistake("a mean over dimensions where the sum belongs: the coordinates are "
                "independent, so the density is a product and its log a sum",
                lambda x, m, lv: log_normal_diag(x, m, lv) / x.shape[-1]),
    ),
    confirmation="Compare: torch.distributions.Normal(mean, (0.5 * log_var).exp())"
                 ".log_prob(x).sum(-1).",
)


# -------------------------------------------------------- chapter 2: KL of two Gaussians
def kl_diag_gaussians(mu_q: torch.Tensor, log_var_q: torch.Tensor, mu_p: torch.Tensor,
                      log_var_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, diag e^{log_var_q}) || N(mu_p, diag e^{log_var_p})) per row: (B, d) -> (B,)."""
    return 0.5 * (log_var_p - log_var_q
                  + (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp() - 1.0).sum(-1)


def _cases_kl_two() -> list[Case]:
    gen, out = _gen(2), []
    for b, d in SHAPES:
        args = (randn(gen, b, d), uniform(gen, b, d, low=-1.5, high=1.5),
                randn(gen, b, d), uniform(gen, b, d, low=0.3, high=1.5))
        out.append(Case(args, f"four tensors of shape ({b}, {d})", b))
    return out


KL_TWO = Exercise(
    id="ch02.kl_diag_gaussians",
    title="KL divergence between two diagonal Gaussians",
    signature="kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p) -> (B,)",
    reference=kl_diag_gaussians,
    cases=_cases_kl_two,
    mistakes=(
        Mistake("you computed KL(p || q), with the two Gaussians swapped: KL is not "
                "symmetric; the first argument q is the one the expectation is under",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mp, lp, mq, lq)),
        Mistake("the log-variances are used as variances: sigma^2 = exp(log_var)",
                lambda mq, lq, mp, lp: 0.5 * (torch.log(lp / lq)
                                              + (lq + (mq - mp) ** 2) / lp - 1).sum(-1)),
        Mistake("the -1 inside the sum is missing (check: KL(q || q) must be 0)",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mq, lq, mp, lp) + 0.5 * mq.shape[-1]),
        Mistake("the sign of the log-variance term is flipped: the term is "
                "log(sigma_p^2 / sigma_q^2) = log_var_p - log_var_q",
                lambda mq, lq, mp, lp: 0.5 * (lq - lp + ((lq.exp() + (mq - mp) ** 2)
                                                         / lp.exp()) - 1).sum(-1)),
        Mistake("a mean over dimensions where the sum belongs: for independent "
                "coordinates the KL is the sum of the per-dimension KLs",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mq, lq, mp, lp) / mq.shape[-1]),
    ),
    confirmation="Compare with torch.distributions.kl_divergence on two Independent Normals.",
)


# -------------------------------------------------------- chapter 3: the Monte Carlo ELBO
def elbo_from_samples(log_joint: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """The Monte Carlo ELBO: mean over K samples of log p(x, z_k) - log q(z_k | x).

    Args:
        log_joint, log_q: (K, B), sample k of example b.
    Returns:
        (B,).
    """
    return (log_joint - log_q).mean(0)


def _cases_log_weights(big: bool) -> list[Case]:
    gen, out = _gen(3), []
    for k, b in ((4, 3), (9, 5), (6, 7)):
        log_q = randn(gen, k, b, scale=2.0, shift=-3.0)
        log_joint = randn(gen, k, b, scale=3.0, shift=-100.0 if not big else -800.0)
        out.append(Case((log_joint, log_q), f"log_joint, log_q of shape (K={k}, B={b})", b))
    return out


ELBO_SAMPLES = Exercise(
    id="ch03.elbo_from_samples",
    title="the ELBO from samples of q",
    signature="elbo_from_samples(log_joint, log_q) -> (B,)",
    reference=elbo_from_samples,
    cases=lambda: _cases_log_weights(big=False),
    mistakes=(
        Mistake("the sign is flipped: the ELBO is E_q[log p(x, z) - log q(z | x)]; you "
                "computed the mean of log q - log p (the negative ELBO)",
                lambda lj, lq: (lq - lj).mean(0)),
        Mistake("the entropy term is missing: subtract log q(z | x) from log p(x, z)",
                lambda lj, lq: lj.mean(0)),
        Mistake("you summed over the K samples where the Monte Carlo estimate averages",
                lambda lj, lq: (lj - lq).sum(0)),
        Mistake("you computed log(mean(exp(.))), the importance-weighted bound of "
                "chapter 5; the ELBO averages the log-weights",
                lambda lj, lq: torch.logsumexp(lj - lq, 0) - math.log(len(lj))),
    ),
)


# ------------------------------------------------------------------- chapter 4: the VAE
def _cases_mu_log_var() -> list[Case]:
    gen, out = _gen(4), []
    for b, d in SHAPES:
        out.append(Case((randn(gen, b, d), uniform(gen, b, d, low=-2.0, high=1.5)),
                        f"mu, log_var of shape ({b}, {d})", b))
    return out


KL_STD = Exercise(
    id="ch04.kl_normal_std",
    title="the KL term of the VAE, KL(q(z|x) || N(0, I))",
    signature="kl_normal_std(mu, log_var) -> (B,)",
    reference=kl_normal_std,
    cases=_cases_mu_log_var,
    mistakes=(
        Mistake("the log-variance is used as the variance: sigma^2 = exp(log_var) and "
                "log sigma^2 = log_var",
                lambda mu, lv: 0.5 * (mu ** 2 + lv - torch.log(lv) - 1).sum(-1)),
        Mistake("you used sigma = exp(log_var / 2) where the variance sigma^2 = "
                "exp(log_var) belongs",
                lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1).sum(-1)),
        Mistake("the sign of the log-variance term is flipped: the KL has - log sigma^2",
                lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() + lv - 1).sum(-1)),
        Mistake("the -1 inside the sum is missing (check: the KL of N(0, I) to itself "
                "must be 0)",
                lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv).sum(-1)),
        Mistake("a mean over latent dimensions where the sum belongs: the KL between "
                "diagonal Gaussians is the sum of d_z one-dimensional KLs",
                lambda mu, lv: kl_normal_std(mu, lv) / mu.shape[-1]),
    ),
    confirmation="The KL is 0 exactly when mu = 0 and log_var = 0.",
)


def _check_reparameterize(fn: Callable) -> str | None:
    n = 20_000
    mu = torch.tensor([[0.5, -1.0, 2.0]]).repeat(n, 1).requires_grad_(True)
    log_var = torch.tensor([[-1.0, 0.7, 1.6]]).repeat(n, 1).requires_grad_(True)
    z = fn(mu, log_var)
    if not isinstance(z, torch.Tensor):
        return f"expected a tensor z, got {type(z).__name__}"
    if z.shape != mu.shape:
        return f"expected z with the shape of mu, {tuple(mu.shape)}; got {tuple(z.shape)}"
    if not torch.isfinite(z).all():
        return ("z contains NaN: log_var can be negative, so it cannot be a variance or a "
                "standard deviation under a square root; sigma = exp(log_var / 2)")
    if not z.requires_grad:
        return ("no gradient flows from z to mu and log_var: build z = mu + sigma * eps "
                "from the inputs (not torch.normal(...), .sample(), detach or no_grad)")
    grads = torch.autograd.grad(z.sum(), (mu, log_var), allow_unused=True)
    if grads[0] is None:
        return ("the mean mu is not added (no gradient reaches mu): "
                "z = mu + exp(log_var / 2) * eps")
    if grads[1] is None or not grads[1].abs().sum() > 0:
        return ("no gradient reaches log_var: scale the noise by sigma = exp(log_var / 2), "
                "computed from log_var")
    z = z.detach()
    mean, std = z.mean(0), z.std(0)
    lv = log_var[0].detach()
    want_mean, want_std = mu[0].detach(), (0.5 * lv).exp()

    def near(a: torch.Tensor, b: torch.Tensor, tol: float) -> bool:
        return bool(torch.all((a - b).abs() <= tol * b.abs().clamp_min(0.1)))

    if float(std.max()) < 1e-6:
        return "z does not vary: the noise eps is missing (draw it with torch.randn_like(mu))"
    if not near(std, want_std, 0.05):
        if near(std, lv.exp(), 0.05):
            return ("the noise is scaled by exp(log_var), the variance: the standard "
                    "deviation is sigma = exp(log_var / 2) (a factor 1/2 is missing)")
        if near(std, lv.abs(), 0.05):
            return ("the log-variance is used as the standard deviation: sigma = "
                    "exp(log_var / 2)")
        if near(std, torch.ones_like(std), 0.05):
            return "the noise is not scaled: z = mu + sigma * eps with sigma = exp(log_var / 2)"
        return (f"the spread of z is wrong: sample standard deviations {std.tolist()}, "
                f"expected exp(log_var / 2) = {want_std.tolist()}")
    if not near(mean, want_mean, 0.05):
        if near(mean, torch.zeros_like(mean) + 0.0, 0.05) or float(mean.abs().max()) < 0.05:
            return "the mean mu is not added: z = mu + sigma * eps"
        return f"the mean of z is wrong: got {mean.tolist()}, expected mu = {want_mean.tolist()}"
    corr = torch.corrcoef(z[:2000].T - want_mean[:, None])
    if float((corr - torch.eye(3)).abs().max()) > 0.2:
        return ("the coordinates of z are correlated: draw an independent eps for every "
                "entry, with the shape of mu")
    again = fn(mu.detach()[:50], log_var.detach()[:50])
    if torch.allclose(as_tensor(again), z[:50]):
        return "two calls return the same z: do not seed the generator inside the function"
    return None


def as_tensor(x) -> torch.Tensor:
    return x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(x)


REPARAMETERIZE = Exercise(
    id="ch04.reparameterize",
    title="the reparameterized sample z = mu + sigma * eps",
    signature="reparameterize(mu, log_var) -> (B, d_z)",
    reference=reparameterize,
    cases=_cases_mu_log_var,
    compare_values=False,
    extra_check=_check_reparameterize,
    confirmation="Checked on 20,000 draws: mean, standard deviation, independence, "
                 "and gradients to mu and log_var.",
)


def bernoulli_elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                   log_var: torch.Tensor) -> torch.Tensor:
    """The one-sample ELBO of a Bernoulli decoder: log p(x | z) - KL(q(z | x) || p(z)).

    Args:
        x: (B, 1, H, W) binary images; logits: (B, 1, H, W), the decoder's output at z.
        mu, log_var: (B, d_z), the encoder's output.
    Returns:
        (B,).
    """
    log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    return log_px - kl_normal_std(mu, log_var)


def _cases_elbo() -> list[Case]:
    gen, out = _gen(5), []
    for b, side, d in ((3, 4, 5), (7, 3, 4), (5, 5, 11)):
        x = (torch.rand(b, 1, side, side, generator=gen) < 0.3).float()
        logits = randn(gen, b, 1, side, side, scale=2.0)
        mu, log_var = randn(gen, b, d), uniform(gen, b, d, low=-2.0, high=1.0)
        out.append(Case((x, logits, mu, log_var),
                        f"x, logits of shape ({b}, 1, {side}, {side}), mu, log_var ({b}, {d})",
                        b))
    return out


def _bce_sum(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)


ELBO = Exercise(
    id="ch04.bernoulli_elbo",
    title="the VAE's ELBO with a Bernoulli decoder",
    signature="bernoulli_elbo(x, logits, mu, log_var) -> (B,)",
    reference=bernoulli_elbo,
    cases=_cases_elbo,
    mistakes=(
        Mistake("you returned the loss, -ELBO: the sign is flipped",
                lambda x, lg, mu, lv: -bernoulli_elbo(x, lg, mu, lv)),
        Mistake("the KL term is added: the ELBO is log p(x | z) MINUS KL(q || p)",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1) + kl_normal_std(mu, lv)),
        Mistake("a mean over pixels where the sum belongs: pixels are independent given z, "
                "so log p(x | z) is a sum over pixels",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).mean(1) - kl_normal_std(mu, lv)),
        Mistake("a mean over latent dimensions in the KL where the sum belongs",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1)
                - kl_normal_std(mu, lv) / mu.shape[-1]),
        Mistake("sigmoid applied twice: binary_cross_entropy_with_logits takes the logits "
                "themselves, not sigmoid(logits)",
                lambda x, lg, mu, lv: -_bce_sum(torch.sigmoid(lg), x).sum(1)
                - kl_normal_std(mu, lv)),
        Mistake("the factor 1/2 of the KL is missing",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1) - 2 * kl_normal_std(mu, lv)),
    ),
)


# --------------------------------------------------------- chapter 5: the IWAE bound
def _cases_iwae() -> list[Case]:
    small = [Case((lj - lq,), c.label.replace("log_joint, log_q", "log_weights"), c.batch)
             for c in _cases_log_weights(big=False) for lj, lq in [c.args]]
    big = _cases_log_weights(big=True)[0]
    lj, lq = big.args
    return [*small, Case((lj - lq,), "log_weights near -800, of shape (K=4, B=3)", 3)]


IWAE = Exercise(
    id="ch05.iwae_bound",
    title="the importance-weighted bound from log-weights",
    signature="iwae_bound(log_weights) -> (B,)",
    reference=log_mean_exp,
    cases=_cases_iwae,
    mistakes=(
        Mistake("you averaged the log-weights: that is the ELBO; the IWAE bound is the log "
                "of the average weight, log (1/K) sum_k exp(log w_k)",
                lambda lw: lw.mean(0)),
        Mistake("the -log K is missing: the bound is log of the MEAN weight, "
                "logsumexp(log_w) - log K",
                lambda lw: torch.logsumexp(lw, 0)),
        Mistake("exp underflows: log-weights of images are in the hundreds below zero, "
                "where exp(.) is 0 in floating point; use torch.logsumexp",
                lambda lw: torch.log(lw.exp().mean(0))),
    ),
    confirmation="Stable even for log-weights near -800, where exp underflows to 0.",
)


# -------------------------------------------------------- chapter 6: the GAN's losses
def _cases_logits() -> list[Case]:
    gen, out = _gen(6), []
    for b in (5, 8, 13):
        out.append(Case((randn(gen, b, 1, scale=2.0), randn(gen, b, 1, scale=2.0)),
                        f"real_logits, fake_logits of shape ({b}, 1)", b))
    return out


def _bce(logits, target: float):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


D_LOSS = Exercise(
    id="ch06.discriminator_loss",
    title="the discriminator's loss from logits",
    signature="discriminator_loss(real_logits, fake_logits) -> scalar",
    reference=discriminator_loss,
    cases=_cases_logits,
    output="scalar",
    mistakes=(
        Mistake("the labels are swapped: real samples get label 1, generated samples 0",
                lambda r, f: _bce(r, 0.0) + _bce(f, 1.0)),
        Mistake("the sign is flipped: you returned the value E log D(x) + E log(1 - D(G(z))) "
                "that the discriminator maximizes; return its negative, a loss to minimize",
                lambda r, f: -discriminator_loss(r, f)),
        Mistake("sigmoid applied twice: binary_cross_entropy_with_logits takes logits",
                lambda r, f: _bce(torch.sigmoid(r), 1.0) + _bce(torch.sigmoid(f), 0.0)),
        Mistake("only the real half of the loss: add the term for the generated samples",
                lambda r, f: _bce(r, 1.0)),
    ),
)


def _cases_fake_logits() -> list[Case]:
    return [Case((c.args[1],), c.label.replace("real_logits, ", ""), c.batch)
            for c in _cases_logits()]


G_LOSS = Exercise(
    id="ch06.generator_loss_nonsaturating",
    title="the non-saturating generator loss",
    signature="generator_loss_nonsaturating(fake_logits) -> scalar",
    reference=generator_loss_nonsaturating,
    cases=_cases_fake_logits,
    output="scalar",
    mistakes=(
        Mistake("this is the saturating (minimax) loss E log(1 - D(G(z))): its gradient "
                "vanishes when D rejects the samples; minimize -E log D(G(z)) instead",
                lambda f: -F.softplus(f).mean()),
        Mistake("the sign is flipped: the generator maximizes E log D(G(z)), so the loss to "
                "minimize is -E log D(G(z)) = E softplus(-logits)",
                lambda f: -generator_loss_nonsaturating(f)),
        Mistake("sigmoid applied twice: the loss takes logits",
                lambda f: _bce(torch.sigmoid(f), 1.0)),
    ),
)


# ---------------------------------------------------- chapter 7: the discriminator step
def discriminator_step_loss(discriminator: nn.Module, generator: nn.Module,
                            real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss for one step: generated samples are detached.

    Args:
        discriminator: maps (B, D) samples to (B, 1) logits; generator: (B, d_z) -> (B, D).
        real: (B, D); z: (B, d_z).
    Returns:
        A scalar whose gradient reaches the discriminator's parameters only.
    """
    fake = generator(z).detach()
    return discriminator_loss(discriminator(real), discriminator(fake))


def _init(module: nn.Module, gen: torch.Generator, scale: float = 0.6) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return module


def _cases_d_step() -> list[Case]:
    gen, out = _gen(7), []
    for b, d_z, d in ((5, 3, 4), (8, 2, 6)):
        g = _init(nn.Sequential(nn.Linear(d_z, 8), nn.Tanh(), nn.Linear(8, d)), gen)
        dis = _init(nn.Sequential(nn.Linear(d, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)), gen)
        out.append(Case((dis, g, randn(gen, b, d), randn(gen, b, d_z)),
                        f"real ({b}, {d}), z ({b}, {d_z})", b))
    return out


def _check_detach(fn: Callable) -> str | None:
    case = _cases_d_step()[0]
    dis, g, real, z = copy.deepcopy(case.args)
    loss = fn(dis, g, real, z)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return ("the loss carries no gradient: return the tensor itself (not .item()), "
                "and do not compute the discriminator's outputs under torch.no_grad()")
    loss.backward()
    if any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in g.parameters()):
        return ("gradients reach the generator: detach the generated samples "
                "(generator(z).detach()) in the discriminator step; otherwise "
                "loss.backward() also fills the generator's gradients, pushing it to make its "
                "samples easier to reject")
    if not any(p.grad is not None and float(p.grad.abs().sum()) > 0
               for p in dis.parameters()):
        return "no gradient reaches the discriminator's parameters"
    return None


def _d_step_swapped(dis, g, real, z):
    return _bce(dis(real), 0.0) + _bce(dis(g(z)), 1.0)


D_STEP = Exercise(
    id="ch07.discriminator_step_loss",
    title="the discriminator step's loss (with the generator held fixed)",
    signature="discriminator_step_loss(discriminator, generator, real, z) -> scalar",
    reference=discriminator_step_loss,
    cases=_cases_d_step,
    output="scalar",
    extra_check=_check_detach,
    mistakes=(
        Mistake("the labels are swapped: real samples get label 1, generated samples 0",
                _d_step_swapped),
        Mistake("the generated samples are missing: score generator(z) as well, with label 0",
                lambda dis, g, real, z: _bce(dis(real), 1.0)),
    ),
    confirmation="No gradient reaches the generator.",
)


# ---------------------------------------------------- chapter 8: the gradient penalty
class RecordingCritic(nn.Module):
    """A small fixed critic f(x) = v . tanh(W x) that records the inputs it is called on."""

    def __init__(self, n_in: int, seed: int = 8) -> None:
        super().__init__()
        gen = _gen(seed)
        self.weight = nn.Parameter(torch.randn(n_in, 6, generator=gen) * 0.8)
        self.out = nn.Parameter(torch.randn(6, 1, generator=gen))
        self.calls: list[torch.Tensor] = []

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.weight) @ self.out  # (B, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.detach().clone())
        return self.score(x)


def _gp_inputs(b: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    gen = _gen(9)
    real = randn(gen, b, 1, 3, 3)
    fake = real - uniform(gen, b, 1, 3, 3, low=0.3, high=1.3)  # differs in every entry
    return real, fake


def _cases_gp() -> list[Case]:
    real, fake = _gp_inputs(5)
    return [Case((RecordingCritic(9), real, fake), "real, fake of shape (5, 1, 3, 3)", 5)]


def _penalty_variants(grad: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    norm = grad.flatten(1).norm(dim=1)
    return [
        (((norm - 1) ** 2).sum(), "you summed over the batch where the mean belongs "
                                  "(the penalty is an expectation over x_hat)"),
        (((grad.flatten(1).pow(2).sum(1) - 1) ** 2).mean(),
         "you penalized the squared norm: the penalty is (||grad|| - 1)^2 with the norm "
         "itself, sqrt of the sum of squares"),
        ((norm - 1).mean(), "the square is missing: (||grad|| - 1)^2, averaged"),
        ((norm - 1).abs().mean(), "the square is missing: (||grad|| - 1)^2, averaged"),
        ((grad.norm() - 1) ** 2, "one norm over the whole batch: compute the gradient's "
                                 "norm per example, grad.flatten(1).norm(dim=1)"),
        ((F.relu(norm - 1) ** 2).mean(), "a one-sided penalty max(0, ||grad|| - 1)^2; the "
                                         "book's (and WGAN-GP's) penalty is two-sided"),
        ((norm ** 2).mean(), "the -1 is missing: the penalty pulls the norm to 1, not 0"),
    ]


def _check_gradient_penalty(fn: Callable) -> str | None:
    real, fake = _gp_inputs()
    critic = RecordingCritic(9)
    penalty = fn(critic, real, fake)
    if not critic.calls:
        return "the critic was never called"
    x_hat = critic.calls[-1]
    if x_hat.shape != real.shape:
        return (f"the critic was called on shape {tuple(x_hat.shape)}; call it on the "
                f"interpolated batch, of the shape of real {tuple(real.shape)}")
    eps = ((x_hat - fake) / (real - fake)).flatten(1)  # (B, pixels), the weights used
    if float((eps - eps[:, :1]).abs().max()) > 1e-4:
        return ("one interpolation weight per pixel: draw one weight per example, of shape "
                "(B, 1, 1, 1), so that x_hat lies on the segment between two images")
    e = eps[:, 0]
    if float(e.min()) < -1e-4 or float(e.max()) > 1 + 1e-4:
        return (f"interpolation weights outside [0, 1] (from {float(e.min()):.2f} to "
                f"{float(e.max()):.2f}): they look drawn from a normal distribution; draw "
                "them uniformly with torch.rand, so that x_hat lies between the two samples")
    if float(e.std()) < 1e-6:
        if float(e.max() - e.min()) < 1e-6 and (float(e[0]) < 1e-6 or float(e[0]) > 1 - 1e-6):
            return ("the critic was called on the real or generated samples themselves; the "
                    "penalty is taken at random interpolates between them")
        return "every example got the same weight: draw one weight per example"
    if not isinstance(penalty, torch.Tensor) or not penalty.requires_grad:
        return ("the penalty carries no gradient to the critic: compute the input gradient "
                "with torch.autograd.grad(..., create_graph=True) and return the tensor")
    x = x_hat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic.score(x).sum(), x, create_graph=True)
    want = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean().detach()
    got = as_array(penalty).reshape(-1)
    if got.size != 1:
        return f"expected a scalar penalty, got shape {tuple(penalty.shape)}"
    if abs(float(got[0]) - float(want)) > 1e-4 * max(1.0, abs(float(want))):
        for value, message in _penalty_variants(grad.detach()):
            if abs(float(got[0]) - float(value)) <= 1e-4 * max(1.0, abs(float(value))):
                return message
        return (f"wrong value: at your interpolates the penalty is {float(want):.5g}, you "
                f"returned {float(got[0]):.5g}")
    critic.zero_grad()
    penalty.backward()
    if critic.weight.grad is None or float(critic.weight.grad.abs().sum()) == 0:
        return ("no gradient reaches the critic's parameters: pass create_graph=True to "
                "torch.autograd.grad")
    return None


GRADIENT_PENALTY = Exercise(
    id="ch08.gradient_penalty",
    title="WGAN-GP's gradient penalty",
    signature="gradient_penalty(critic, real, fake) -> scalar",
    reference=gradient_penalty,  # tutorial_lib.gan.losses: the same signature
    cases=_cases_gp,
    output="scalar",
    compare_values=False,
    extra_check=_check_gradient_penalty,
    confirmation="Uniform weights, one per example, and the penalty back-propagates to the "
                 "critic.",
)


# ------------------------------------------------- chapter 9: Frechet distance and KID
def _random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _cases_frechet() -> list[Case]:
    rng, out = np.random.default_rng(10), []
    for d in (3, 5, 8):
        args = (rng.standard_normal(d), _random_covariance(rng, d),
                rng.standard_normal(d), _random_covariance(rng, d))
        out.append(Case(args, f"means ({d},), covariances ({d}, {d})"))
    return out


def _sqrtm(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _frechet_terms(mu1, s1, mu2, s2, *, cross: float = 2.0, trace_of=None, square=True):
    diff = np.sum((mu1 - mu2) ** 2)
    diff = diff if square else np.sqrt(diff)
    root = trace_of(s1, s2) if trace_of else np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    return diff + np.trace(s1) + np.trace(s2) - cross * root


FRECHET = Exercise(
    id="ch09.frechet_distance",
    title="the Frechet distance between two Gaussians",
    signature="frechet_distance(mu1, sigma1, mu2, sigma2) -> float",
    reference=frechet_distance,
    cases=_cases_frechet,
    output="scalar",
    rtol=1e-3,
    mistakes=(
        Mistake("the factor 2 in front of tr((Sigma_1 Sigma_2)^{1/2}) is missing",
                lambda *a: _frechet_terms(*a, cross=1.0)),
        Mistake("the cross term has the wrong sign: subtract 2 tr((Sigma_1 Sigma_2)^{1/2})",
                lambda *a: _frechet_terms(*a, cross=-2.0)),
        Mistake("an elementwise square root: (Sigma_1 Sigma_2)^{1/2} is a matrix square "
                "root (scipy.linalg.sqrtm), not np.sqrt of the entries",
                lambda *a: _frechet_terms(*a, trace_of=lambda s1, s2: np.trace(np.sqrt(
                    np.abs(s1 @ s2))))),
        Mistake("an elementwise square root of the elementwise product: "
                "(Sigma_1 Sigma_2)^{1/2} is the matrix square root of the matrix product",
                lambda *a: _frechet_terms(*a, trace_of=lambda s1, s2: np.trace(np.sqrt(
                    np.abs(s1 * s2))))),
        Mistake("Sigma_1^{1/2} Sigma_2^{1/2} is not (Sigma_1 Sigma_2)^{1/2} unless the two "
                "covariances commute: take the square root of the product",
                lambda *a: _frechet_terms(*a, trace_of=lambda s1, s2: np.trace(
                    _sqrtm(s1) @ _sqrtm(s2)))),
        Mistake("the distance between the means must be squared, ||mu_1 - mu_2||^2",
                lambda *a: _frechet_terms(*a, square=False)),
        Mistake("you returned the distance; the Frechet distance used by FID is its square "
                "d^2 = ||mu_1 - mu_2||^2 + tr(...)",
                lambda *a: math.sqrt(max(frechet_distance(*a), 0.0))),
    ),
    confirmation="It is zero for identical statistics and symmetric in the two Gaussians.",
)


def _cases_mmd() -> list[Case]:
    rng, out = np.random.default_rng(11), []
    for n, m, d in ((6, 9, 4), (10, 7, 3), (12, 12, 5)):
        x, y = rng.standard_normal((n, d)), rng.standard_normal((m, d)) + 0.3

        def k(a, b, d=d):
            return (a @ b.T / d + 1.0) ** 3
        out.append(Case((k(x, x), k(y, y), k(x, y)), f"kernels for n={n}, m={m}"))
    return out


def _mmd_biased(k_xx, k_yy, k_xy):
    return float(k_xx.mean() + k_yy.mean() - 2 * k_xy.mean())


MMD = Exercise(
    id="ch09.mmd2_unbiased",
    title="the unbiased estimate of MMD^2 (the core of KID)",
    signature="mmd2_unbiased(k_xx, k_yy, k_xy) -> float",
    reference=mmd2_unbiased_from_kernels,
    cases=_cases_mmd,
    output="scalar",
    mistakes=(
        Mistake("you kept the diagonal terms k(x_i, x_i): that is the biased estimator; "
                "average over the n(n - 1) pairs i != j", _mmd_biased),
        Mistake("after removing the diagonal, divide by the n(n - 1) remaining pairs, "
                "not by n^2",
                lambda kx, ky, kxy: float((kx.sum() - np.trace(kx)) / len(kx) ** 2
                                          + (ky.sum() - np.trace(ky)) / len(ky) ** 2
                                          - 2 * kxy.mean())),
        Mistake("the factor 2 of the cross term is missing",
                lambda kx, ky, kxy: mmd2_unbiased_from_kernels(kx, ky, kxy) + kxy.mean()),
    ),
)


# ------------------------------------------------------ chapter 10: class coverage
def class_total_variation(labels: torch.Tensor, num_classes: int) -> float:
    """1/2 sum_k |p_k - 1/K| for the histogram p of labels (N,): the package's
    :func:`~tutorial_lib.metrics.coverage.class_coverage`, as one number."""
    return class_coverage(labels, num_classes).tv


def _cases_tv() -> list[Case]:
    gen, out = _gen(12), []
    for n, k, top in ((50, 10, 8), (37, 4, 3), (64, 6, 5)):
        weights = torch.rand(top, generator=gen) + 0.2
        labels = torch.multinomial(weights, n, replacement=True, generator=gen)
        out.append(Case((labels, k), f"{n} labels, {k} classes (the last ones absent)", n))
    return out


def _tv_variant(labels, k, *, half=0.5, counts=False, present=False, minlength=True,
                sup=False):
    c = torch.bincount(labels, minlength=k if minlength else 0).double()
    p = c if counts else c / len(labels)
    ref = (len(labels) if counts else 1.0) / (int((c > 0).sum()) if present else k)
    dev = (p - ref).abs()
    if present:
        dev = dev[c > 0]
    return float(dev.max()) if sup else float(half * dev.sum())


CLASS_TV = Exercise(
    id="ch10.class_total_variation",
    title="class coverage: total variation from uniform",
    signature="class_total_variation(labels, num_classes) -> float",
    reference=class_total_variation,
    cases=_cases_tv,
    output="scalar",
    mistakes=(
        Mistake("that is the L1 distance sum_k |p_k - 1/K|; the total variation is half of "
                "it", lambda lb, k: _tv_variant(lb, k, half=1.0)),
        Mistake("you used counts where fractions belong: divide the histogram by N",
                lambda lb, k: _tv_variant(lb, k, counts=True)),
        Mistake("the classes that never appear are left out: bincount needs "
                "minlength=num_classes, so that a missing class counts as p_k = 0",
                lambda lb, k: _tv_variant(lb, k, minlength=False)),
        Mistake("the uniform distribution is over ALL num_classes classes, not only over "
                "those that appear", lambda lb, k: _tv_variant(lb, k, present=True)),
        Mistake("max_k |p_k - 1/K| is not the total variation; TV = 1/2 sum_k |p_k - 1/K|",
                lambda lb, k: _tv_variant(lb, k, sup=True)),
    ),
)


# ------------------------------------------------ chapter 11: VAE-GAN's feature loss
def _cases_features() -> list[Case]:
    gen = _gen(13)
    return [Case((randn(gen, b, f), randn(gen, b, f)), f"features of shape ({b}, {f})", b)
            for b, f in SHAPES]


FEATURES = Exercise(
    id="ch11.feature_distance",
    title="VAE-GAN's reconstruction error in feature space",
    signature="feature_distance(features_real, features_rec) -> (B,)",
    reference=feature_distance,
    cases=_cases_features,
    mistakes=(
        Mistake("a mean over features where the sum belongs: -log N(f; f', I) sums the "
                "squared differences of independent coordinates",
                lambda a, b: feature_distance(a, b) / a.shape[1]),
        Mistake("the norm is not squared: 1/2 ||f(x) - f(x_rec)||^2",
                lambda a, b: 0.5 * (a - b).norm(dim=1)),
        Mistake("absolute differences: the Gaussian's error is squared, 1/2 sum (f - f')^2",
                lambda a, b: 0.5 * (a - b).abs().sum(1)),
    ),
)


# ------------------------------------------------------- chapter 12: ROC AUC by hand
def _cases_auc() -> list[Case]:
    gen, out = _gen(14), []
    for n, frac in ((40, 0.3), (23, 0.5), (60, 0.2)):
        truth = torch.rand(n, generator=gen) < frac
        truth[0], truth[1] = True, False
        scores = torch.round(randn(gen, n) + 0.8 * truth.float(), decimals=0)  # with ties
        out.append(Case((scores, truth), f"{n} scores with ties, {int(truth.sum())} anomalies",
                        n))
    return out


def _auc_variant(scores, truth, *, tie: float, flip: bool = False):
    a, n = scores[truth].double(), scores[~truth].double()
    if flip:
        a, n = n, a
    return float(((a[:, None] > n[None, :]).double()
                  + tie * (a[:, None] == n[None, :]).double()).mean())


AUC = Exercise(
    id="ch12.roc_auc",
    title="the area under the ROC curve",
    signature="roc_auc(scores, is_anomaly) -> float",
    reference=roc_auc,
    cases=_cases_auc,
    output="scalar",
    mistakes=(
        Mistake("the orientation is flipped: you measured P(normal scores higher than "
                "anomaly); anomalies should get the higher scores",
                lambda s, t: _auc_variant(s, t, tie=0.5, flip=True)),
        Mistake("ties are not counted: a tie between an anomaly and a normal image counts "
                "one half", lambda s, t: _auc_variant(s, t, tie=0.0)),
        Mistake("ties counted as wins: a tie between an anomaly and a normal image counts "
                "one half, not one", lambda s, t: _auc_variant(s, t, tie=1.0)),
    ),
    confirmation="Compare with sklearn.metrics.roc_auc_score(is_anomaly, scores).",
)


EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in (
    LOG_NORMAL, KL_TWO, ELBO_SAMPLES, KL_STD, REPARAMETERIZE, ELBO, IWAE, D_LOSS, G_LOSS,
    D_STEP, GRADIENT_PENALTY, FRECHET, MMD, CLASS_TV, FEATURES, AUC,
)}


def for_chapter(chapter: int) -> list[Exercise]:
    """The code exercises of one chapter, in the order of the notebook."""
    return [ex for ex in EXERCISES.values() if ex.id.startswith(f"ch{chapter:02d}.")]


def references() -> Sequence[Callable]:
    return [ex.reference for ex in EXERCISES.values()]
