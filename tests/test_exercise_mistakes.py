"""The checkers against a set of realistic student mistakes and correct variants.

The mistakes below were written from what students get wrong in practice (course forums
and Q&A of CS231n and CS236, the PyTorch forums: log 2 pi added once, logsumexp without
- log K, BCE with its default reduction, a loss returned with .item(), a sampler seeded
inside, a tuple returned, ...), not from the catalogue's list. Each comes with the words a
message must contain to *name* it. The requirements:

- every mistake is rejected, and no correct variant is refused (at least 3 per exercise);
- no check crashes: whatever a function returns or raises becomes a message;
- at least 70% of the mistakes are named (the count per exercise is printed by
  ``python tests/test_exercise_mistakes.py``);
- the cases the book promises to catch (no gradient, a seeded sampler, the naive
  log-sigmoid at extreme logits, a tuple) are named in every exercise where they apply.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial
import scipy.stats
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from tutorial_lib.exercises import EXERCISES, FAILED, PASSED, run_check

LOG_2PI = math.log(2 * math.pi)
TD = torch.distributions


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _sqrtm_sym(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


# ------------------------------------------------------------------ the mistakes
# (exercise, what the student did, the wrong function, words that name it)
Mistake = tuple[str, str, Callable, str]
M: list[Mistake] = []


def mistake(exercise: str, what: str, words: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        M.append((exercise, what, fn, words))
        return fn
    return register


# ch01: log N(x; mean, diag(exp(log_var)))
E = "ch01.log_normal_diag"
mistake(E, "log 2 pi added once, not per dimension", "once")(
    lambda x, m, lv: -0.5 * (((x - m) ** 2 / lv.exp() + lv).sum(-1) + LOG_2PI))
mistake(E, "log 2 pi forgotten", "log(2 pi)")(
    lambda x, m, lv: -0.5 * ((x - m) ** 2 / lv.exp() + lv).sum(-1))
mistake(E, "divides by sigma, not sigma^2", "standard deviation")(
    lambda x, m, lv: -0.5 * ((x - m) ** 2 / (0.5 * lv).exp() + lv + LOG_2PI).sum(-1))
mistake(E, "log_var taken as the variance, clamped", "log-variance")(
    lambda x, m, lv: -0.5 * ((x - m) ** 2 / lv.clamp_min(1e-6) + torch.log(lv.clamp_min(1e-6))
                             + LOG_2PI).sum(-1))
mistake(E, "mean over dimensions", "mean over")(
    lambda x, m, lv: -0.5 * ((x - m) ** 2 / lv.exp() + lv + LOG_2PI).mean(-1))
mistake(E, "no 1/2 on the log-determinant", "log sigma^2")(
    lambda x, m, lv: -(0.5 * (x - m) ** 2 / lv.exp() + lv + 0.5 * LOG_2PI).sum(-1))
mistake(E, "Normal(mean, var): the variance as the scale", "standard deviation")(
    lambda x, m, lv: TD.Normal(m, lv.exp()).log_prob(x).sum(-1))
mistake(E, "returned the negative log-density", "sign")(
    lambda x, m, lv: 0.5 * ((x - m) ** 2 / lv.exp() + lv + LOG_2PI).sum(-1))

# ch02: KL(N(mu_q, var_q) || N(mu_p, var_p))
E = "ch02.kl_diag_gaussians"
mistake(E, "(mu_q - mu_p)^2 divided by var_q", "(mu_q - mu_p)^2 / sigma_p^2")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + lq.exp() / lp.exp() + (mq - mp) ** 2 / lq.exp()
                                  - 1).sum(-1))
mistake(E, "(mu_q - mu_p)^2 forgotten", "means")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + lq.exp() / lp.exp() - 1).sum(-1))
mistake(E, "q and p swapped", "swapped")(
    lambda mq, lq, mp, lp: TD.kl_divergence(TD.Normal(mp, (0.5 * lp).exp()),
                                            TD.Normal(mq, (0.5 * lq).exp())).sum(-1))
mistake(E, "the -1 forgotten", "-1")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp()).sum(-1))
mistake(E, "log-variance ratio upside down", "log")(
    lambda mq, lq, mp, lp: 0.5 * (lq - lp + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1).sum(-1))
mistake(E, "mean over dimensions", "mean over")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1).mean(-1))
mistake(E, "variance ratio var_p / var_q", "sigma_q^2 / sigma_p^2")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + lp.exp() / lq.exp() + (mq - mp) ** 2 / lp.exp()
                                  - 1).sum(-1))
mistake(E, "standard deviations where variances belong", "standard deviation")(
    lambda mq, lq, mp, lp: 0.5 * (lp - lq + ((0.5 * lq).exp() + (mq - mp) ** 2)
                                  / (0.5 * lp).exp() - 1).sum(-1))

# ch03: the Monte Carlo ELBO from (K, B) log-densities
E = "ch03.elbo_from_samples"
mistake(E, "sum over the K samples", "sum")(lambda lj, lq: (lj - lq).sum(0))
mistake(E, "log q added", "sign")(lambda lj, lq: (lj + lq).mean(0))
mistake(E, "mean over the wrong axis", "axis")(lambda lj, lq: (lj - lq).mean(1))
mistake(E, "log-mean-exp (the IWAE bound)", "importance-weighted")(
    lambda lj, lq: torch.logsumexp(lj - lq, 0) - math.log(len(lj)))
mistake(E, "log q forgotten", "log q")(lambda lj, lq: lj.mean(0))
mistake(E, "mean over everything", "averaged over the batch")(lambda lj, lq: (lj - lq).mean())
mistake(E, "returned .item() of the mean", "float")(lambda lj, lq: (lj - lq).mean().item())

# ch04: KL(q || N(0, I))
E = "ch04.kl_to_standard_normal"
mistake(E, "log_var taken as the variance, clamped", "log-variance")(
    lambda mu, lv: 0.5 * (mu ** 2 + lv - torch.log(lv.clamp_min(1e-6)) - 1).sum(1))
mistake(E, "mu^2 forgotten", "mu^2")(lambda mu, lv: 0.5 * (lv.exp() - lv - 1).sum(1))
mistake(E, "the 1/2 forgotten", "1/2")(lambda mu, lv: (mu ** 2 + lv.exp() - lv - 1).sum(1))
mistake(E, "+ 1 for - 1", "-1")(lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv + 1).sum(1))
mistake(E, "sign of the 1 + log_var - mu^2 - exp form wrong", "sign")(
    lambda mu, lv: 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), dim=1))
mistake(E, "mean over latent dimensions", "mean over")(
    lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).mean(1))
mistake(E, "returned a detached tensor", "gradient")(
    lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1).detach())


@mistake(E, "computed under torch.no_grad()", "gradient")
def _kl_no_grad(mu, lv):
    with torch.no_grad():
        return 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1)


mistake(E, "returned (kl, per_dim)", "tuple")(
    lambda mu, lv: (0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1), 0.5 * (mu ** 2 + lv.exp()
                                                                       - lv - 1)))
mistake(E, "returned a NumPy array", "NumPy")(
    lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1).detach().numpy())

# ch04: z = mu + sigma * eps
E = "ch04.reparameterize"


@mistake(E, "seeds the generator inside", "seed")
def _seeded(mu, lv):
    torch.manual_seed(0)
    return mu + (0.5 * lv).exp() * torch.randn_like(mu)


mistake(E, "one noise draw shared across the batch", "shared")(
    lambda mu, lv: mu + (0.5 * lv).exp() * torch.randn(mu.shape[1]))
mistake(E, "sigma = exp(log_var)", "variance")(
    lambda mu, lv: mu + lv.exp() * torch.randn_like(mu))
mistake(E, "sigma = sqrt(log_var)", "log-variance")(
    lambda mu, lv: mu + lv.sqrt() * torch.randn_like(mu))
mistake(E, "uniform noise", "uniform")(lambda mu, lv: mu + (0.5 * lv).exp() * torch.rand_like(mu))
mistake(E, "torch.normal(mu, sigma): no gradient", "gradient")(
    lambda mu, lv: torch.normal(mu.detach(), (0.5 * lv).exp().detach()))
mistake(E, "returned (z, eps)", "tuple")(
    lambda mu, lv: (mu + (0.5 * lv).exp() * torch.randn_like(mu), torch.randn_like(mu)))
mistake(E, "Normal(mu, sigma).sample()", "gradient")(
    lambda mu, lv: TD.Normal(mu, (0.5 * lv).exp()).sample())
mistake(E, "mu forgotten", "mean")(lambda mu, lv: (0.5 * lv).exp() * torch.randn_like(mu))

# ch04: the Bernoulli ELBO
E = "ch04.bernoulli_elbo"


def _kl4(mu, lv):
    return 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1)


def _nll_pixels(lg, x):
    return F.binary_cross_entropy_with_logits(lg, x, reduction="none").flatten(1)


mistake(E, "KL forgotten", "KL")(lambda x, lg, mu, lv: -_nll_pixels(lg, x).sum(1))
mistake(E, "BCE with its default reduction (mean)", "reduction")(
    lambda x, lg, mu, lv: -F.binary_cross_entropy_with_logits(lg, x) - _kl4(mu, lv))
mistake(E, "BCE input and target swapped", "swapped")(
    lambda x, lg, mu, lv: -_nll_pixels(x, lg).sum(1) - _kl4(mu, lv))
mistake(E, "naive log(sigmoid)", "logit")(
    lambda x, lg, mu, lv: (x * torch.log(torch.sigmoid(lg)) + (1 - x) * torch.log(
        1 - torch.sigmoid(lg))).flatten(1).sum(1) - _kl4(mu, lv))
mistake(E, "binary_cross_entropy on sigmoid (clamped at -100)", "logit")(
    lambda x, lg, mu, lv: -F.binary_cross_entropy(torch.sigmoid(lg), x, reduction="none")
    .flatten(1).sum(1) - _kl4(mu, lv))
mistake(E, "KL added", "KL")(lambda x, lg, mu, lv: -_nll_pixels(lg, x).sum(1) + _kl4(mu, lv))
mistake(E, "KL averaged over latent dimensions", "mean over")(
    lambda x, lg, mu, lv: -_nll_pixels(lg, x).sum(1) - _kl4(mu, lv) / mu.shape[1])
mistake(E, "returned (log_px, kl)", "tuple")(
    lambda x, lg, mu, lv: (-_nll_pixels(lg, x).sum(1), _kl4(mu, lv)))
mistake(E, "log(sigmoid + 1e-8)", "logit")(
    lambda x, lg, mu, lv: (x * torch.log(torch.sigmoid(lg) + 1e-8) + (1 - x) * torch.log(
        1 - torch.sigmoid(lg) + 1e-8)).flatten(1).sum(1) - _kl4(mu, lv))

# ch05: the IWAE bound
# ch04: my_elbo(model, x) (the full set: tests/test_exercise_ch04_elbo.py)
E = "ch04.my_elbo"


def _my_elbo(model, x, *, std=torch.exp, kl_sign=-1.0, kl_scale=1.0):
    mu, lv = model.encode(x)
    z = mu + std(lv) * torch.randn_like(mu)
    rec = -F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none")
    return rec.flatten(1).sum(1) + kl_sign * kl_scale * 0.5 * (
        mu ** 2 + lv.exp() - lv - 1).sum(1)


mistake(E, "z = mu + exp(log_var) * eps", "variance")(lambda m, x: _my_elbo(m, x))
mistake(E, "KL added", "MINUS")(
    lambda m, x: _my_elbo(m, x, std=lambda lv: (0.5 * lv).exp(), kl_sign=1.0))
mistake(E, "no 1/2 in the KL", "1/2")(
    lambda m, x: _my_elbo(m, x, std=lambda lv: (0.5 * lv).exp(), kl_scale=2.0))

E = "ch05.iwae_from_log_weights"
mistake(E, "logsumexp without - log K", "log K")(lambda lw: torch.logsumexp(lw, 0))


@mistake(E, "max shift without adding the max back", "max")
def _shift_no_add(lw):
    m = lw.max(0).values
    return torch.log(torch.exp(lw - m).mean(0))


mistake(E, "mean of the log-weights (the ELBO)", "ELBO")(lambda lw: lw.mean(0))
mistake(E, "log(mean(exp))", "underflow")(lambda lw: torch.log(lw.exp().mean(0)))
mistake(E, "logsumexp over the wrong axis", "axis")(
    lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]))
mistake(E, "+ log K", "log K")(lambda lw: torch.logsumexp(lw, 0) + math.log(len(lw)))
mistake(E, "logsumexp divided by K", "log K")(lambda lw: torch.logsumexp(lw, 0) / len(lw))

# ch06: the discriminator's loss
E = "ch06.discriminator_loss"
mistake(E, "labels swapped", "swapped")(lambda r, f: _bce(r, 0.0) + _bce(f, 1.0))
mistake(E, "naive log(sigmoid)", "logit")(
    lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()))
mistake(E, "returned loss.item()", "gradient")(lambda r, f: (_bce(r, 1.0) + _bce(f, 0.0)).item())
mistake(E, "returned (loss_real, loss_fake)", "tuple")(lambda r, f: (_bce(r, 1.0), _bce(f, 0.0)))
mistake(E, "only the real half", "generated")(lambda r, f: _bce(r, 1.0))
mistake(E, "summed over the batch", "summed over the batch")(
    lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="sum")
    + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="sum"))
mistake(E, "binary_cross_entropy on logits", "probabilities")(
    lambda r, f: F.binary_cross_entropy(r, torch.ones_like(r))
    + F.binary_cross_entropy(f, torch.zeros_like(f)))
mistake(E, "log(sigmoid + 1e-8)", "logit")(
    lambda r, f: -(torch.log(torch.sigmoid(r) + 1e-8).mean()
                   + torch.log(1 - torch.sigmoid(f) + 1e-8).mean()))

# ch06: the non-saturating generator loss
E = "ch06.generator_loss_nonsaturating"
mistake(E, "BCE against the fake label 0", "label")(lambda f: _bce(f, 0.0))
mistake(E, "the saturating loss", "saturating")(lambda f: -F.softplus(f).mean())
mistake(E, "-log(sigmoid + 1e-8)", "logit")(lambda f: -torch.log(torch.sigmoid(f) + 1e-8).mean())
mistake(E, "naive -log(sigmoid)", "logit")(lambda f: -torch.log(torch.sigmoid(f)).mean())
mistake(E, "returned a detached loss", "gradient")(lambda f: _bce(f, 1.0).detach())


@mistake(E, "computed under torch.no_grad()", "gradient")
def _g_no_grad(f):
    with torch.no_grad():
        return _bce(f, 1.0)


mistake(E, "summed over the batch", "summed over the batch")(lambda f: F.softplus(-f).sum())
mistake(E, "returned a Python float", "float")(lambda f: float(_bce(f, 1.0)))

# ch07: the discriminator step's loss
E = "ch07.discriminator_step_loss"
mistake(E, "generated samples not detached", "detach")(
    lambda d, g, real, z: _bce(d(real), 1.0) + _bce(d(g(z)), 0.0))
mistake(E, "labels swapped", "swapped")(
    lambda d, g, real, z: _bce(d(real), 0.0) + _bce(d(g(z).detach()), 1.0))
mistake(E, "loss.item()", "gradient")(
    lambda d, g, real, z: float(_bce(d(real), 1.0) + _bce(d(g(z).detach()), 0.0)))


@mistake(E, "fake logits under no_grad: half of the gradient lost", "no gradient")
def _d_half_graph(d, g, real, z):
    with torch.no_grad():
        fake_logits = d(g(z))
    return _bce(d(real), 1.0) + _bce(fake_logits, 0.0)


mistake(E, "the generator's loss in the D step", "label")(
    lambda d, g, real, z: _bce(d(g(z).detach()), 1.0))
mistake(E, "returned (loss_real, loss_fake)", "tuple")(
    lambda d, g, real, z: (_bce(d(real), 1.0), _bce(d(g(z).detach()), 0.0)))

# ch08: the gradient penalty


def _gp(eps_of=None, *, create_graph=True, reduce=None, squared_norm=False, one_sided=False,
        whole_batch=False, returns_norm=False):
    def penalty(critic, real, fake):
        eps = (torch.rand(len(real), 1, 1, 1) if eps_of is None else eps_of(real))
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
        if whole_batch:
            return (grad.norm() - 1) ** 2
        norm = grad.flatten(1).norm(dim=1)
        if squared_norm:
            norm = norm ** 2
        gap = F.relu(norm - 1) if one_sided else norm - 1
        value = (gap ** 2).sum() if reduce == "sum" else (gap ** 2).mean()
        return (value, norm) if returns_norm else value
    return penalty


E = "ch08.gradient_penalty"
mistake(E, "normal interpolation weights", "normal")(_gp(lambda r: torch.randn(len(r), 1, 1, 1)))
mistake(E, "one weight per pixel", "per pixel")(_gp(torch.rand_like))
mistake(E, "no create_graph", "create_graph")(_gp(create_graph=False))
mistake(E, "squared norm", "squared norm")(_gp(squared_norm=True))
mistake(E, "one-sided", "one-sided")(_gp(one_sided=True))
mistake(E, "returned (penalty, norm)", "tuple")(_gp(returns_norm=True))
mistake(E, "one norm over the whole batch", "whole batch")(_gp(whole_batch=True))
mistake(E, "summed over the batch", "summed over the batch")(_gp(reduce="sum"))

# ch09: the Frechet distance
E = "ch09.frechet_distance"
mistake(E, "elementwise square root", "elementwise")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                                 - 2 * np.trace(np.sqrt(np.abs(s1 @ s2)))))
mistake(E, "sqrt(S1) sqrt(S2)", "commute")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * _sqrtm_sym(s1)
                                                                   @ _sqrtm_sym(s2))))
mistake(E, "distance of the means not squared", "squared")(
    lambda m1, s1, m2, s2: float(np.linalg.norm(m1 - m2) + np.trace(s1) + np.trace(s2)
                                 - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real))
mistake(E, "factor 2 forgotten", "2")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                                 - np.trace(scipy.linalg.sqrtm(s1 @ s2)).real))
mistake(E, "complex result of sqrtm", "complex")(
    lambda m1, s1, m2, s2: ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2)
    - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).astype(complex)))
mistake(E, "tr(Sigma_2) forgotten", "tr(Sigma_2)")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1)
                                 - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real))
mistake(E, "returned the square root", "square")(
    lambda m1, s1, m2, s2: math.sqrt(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                                     - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real))

# ch09: the unbiased MMD^2
E = "ch09.mmd2_unbiased"


def _off(k):
    return k.sum() - np.trace(k)


mistake(E, "biased (diagonal kept)", "biased")(lambda a, b, c: a.mean() + b.mean() - 2 * c.mean())
mistake(E, "diagonal also removed from k_xy", "k_xy")(
    lambda a, b, c: _off(a) / (len(a) * (len(a) - 1)) + _off(b) / (len(b) * (len(b) - 1))
    - 2 * (c.sum() - np.trace(c)) / c.size)
mistake(E, "divided by n^2", "n(n - 1)")(
    lambda a, b, c: _off(a) / len(a) ** 2 + _off(b) / len(b) ** 2 - 2 * c.mean())
mistake(E, "cross term without its 2", "2")(
    lambda a, b, c: _off(a) / (len(a) * (len(a) - 1)) + _off(b) / (len(b) * (len(b) - 1))
    - c.mean())
mistake(E, "cross term added", "sign")(
    lambda a, b, c: _off(a) / (len(a) * (len(a) - 1)) + _off(b) / (len(b) * (len(b) - 1))
    + 2 * c.mean())
mistake(E, "k_yy forgotten", "k_yy")(
    lambda a, b, c: _off(a) / (len(a) * (len(a) - 1)) - 2 * c.mean())

# ch10: the total variation from uniform
E = "ch10.class_total_variation"


def _tv(labels, k, *, half=0.5, minlength=True, counts=False, sup=False, present=False):
    c = torch.bincount(labels, minlength=k if minlength else 0).double()
    p = c if counts else c / len(labels)
    ref = (len(labels) if counts else 1.0) / (int((c > 0).sum()) if present else k)
    dev = (p - ref).abs()
    if present:
        dev = dev[c > 0]
    return float(dev.max()) if sup else float(half * dev.sum())


mistake(E, "L1 distance (no 1/2)", "half")(lambda lb, k: _tv(lb, k, half=1.0))
mistake(E, "bincount without minlength", "minlength")(lambda lb, k: _tv(lb, k, minlength=False))
mistake(E, "counts, not fractions", "fractions")(lambda lb, k: _tv(lb, k, counts=True))
mistake(E, "max, not half the sum", "max")(lambda lb, k: _tv(lb, k, sup=True))
mistake(E, "uniform over the present classes", "ALL")(lambda lb, k: _tv(lb, k, present=True))

# ch11: the feature-space reconstruction error
E = "ch11.feature_distance"
mistake(E, "mean over features", "mean over")(lambda a, b: 0.5 * ((a - b) ** 2).mean(1))
mistake(E, "norm not squared", "square")(lambda a, b: 0.5 * (a - b).norm(dim=1))
mistake(E, "no 1/2", "1/2")(lambda a, b: ((a - b) ** 2).sum(1))
mistake(E, "absolute differences", "absolute")(lambda a, b: 0.5 * (a - b).abs().sum(1))
mistake(E, "F.mse_loss with its default reduction", "reduction")(
    lambda a, b: 0.5 * F.mse_loss(a, b))
mistake(E, "sum over the batch axis", "axis")(lambda a, b: 0.5 * ((a - b) ** 2).sum(0))

# ch12: ROC AUC
E = "ch12.roc_auc"
mistake(E, "roc_auc_score arguments swapped", "y_true")(
    lambda s, t: roc_auc_score(s.numpy(), t.numpy()))


def _auc(s, t, *, tie=0.5, flip=False, denominator=None):
    a, n = s[t].double(), s[~t].double()
    if flip:
        a, n = n, a
    wins = ((a[:, None] > n[None, :]).double() + tie * (a[:, None] == n[None, :]).double()).sum()
    return float(wins / (denominator(len(a), len(n)) if denominator else len(a) * len(n)))


mistake(E, "orientation flipped", "orientation")(lambda s, t: _auc(s, t, flip=True))
mistake(E, "ties not counted", "ties")(lambda s, t: _auc(s, t, tie=0.0))
mistake(E, "ties as wins", "ties")(lambda s, t: _auc(s, t, tie=1.0))
mistake(E, "divided by all pairs of images", "pairs")(
    lambda s, t: _auc(s, t, denominator=lambda a, n: (a + n) ** 2 / 4))


# ----------------------------------------------- the exercises added with the checker
# (written after the checker, like the held-out set below, but counted in the main set)
E = "ch01.log_binomial"
LG = torch.lgamma


def _log_choose(k, n):
    return LG(torch.tensor(n + 1.0)) - LG(k + 1) - LG(n - k + 1)


mistake(E, "log C(n, k) forgotten", "log C(n, k)")(
    lambda k, n, a: (k * F.logsigmoid(a) + (n - k) * F.logsigmoid(-a)).sum(-1))
mistake(E, "naive log(sigmoid)", "logit")(
    lambda k, n, a: (_log_choose(k, n) + k * torch.log(torch.sigmoid(a))
                     + (n - k) * torch.log(1 - torch.sigmoid(a))).sum(-1))
mistake(E, "failures counted n times", "n times")(
    lambda k, n, a: (_log_choose(k, n) + k * F.logsigmoid(a) + n * F.logsigmoid(-a)).sum(-1))
mistake(E, "log(1 - sigmoid) as -logsigmoid", "log sigmoid(-a)")(
    lambda k, n, a: (_log_choose(k, n) + k * F.logsigmoid(a) - (n - k) * F.logsigmoid(a)).sum(-1))

E = "ch01.mle_step"


def _mle_grad(theta, x):
    t = theta.detach().requires_grad_(True)
    nll = 0.5 * ((x - t[0]) ** 2 / t[1].exp() + t[1] + LOG_2PI).sum(1)
    return t, nll


@mistake(E, "gradient ascent", "subtracts")
def _mle_ascent(theta, x, lr):
    t, nll = _mle_grad(theta, x)
    (g,) = torch.autograd.grad(nll.mean(), t)
    return (t + lr * g).detach()


@mistake(E, "NLL summed over the batch", "B times")
def _mle_sum(theta, x, lr):
    t, nll = _mle_grad(theta, x)
    (g,) = torch.autograd.grad(nll.sum(), t)
    return (t - lr * g).detach()


@mistake(E, "returns the gradient", "gradient")
def _mle_grad_only(theta, x, lr):
    t, nll = _mle_grad(theta, x)
    return torch.autograd.grad(nll.mean(), t)[0]


E = "ch02.kl_on_grid"
mistake(E, "naive p log(p / q)", "0 log 0")(lambda p, q, dx: (p * torch.log(p / q)).sum() * dx)
mistake(E, "dx forgotten", "dx")(lambda p, q, dx: (torch.xlogy(p, p) - torch.xlogy(p, q)).sum())
mistake(E, "KL(q || p)", "first argument")(
    lambda p, q, dx: (torch.xlogy(q, q) - torch.xlogy(q, p)).sum() * dx)
mistake(E, "log2", "nats")(lambda p, q, dx: (torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx
                           / math.log(2))

E = "ch02.jsd_on_grid"


def _kl_grid(p, q, dx):
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx


mistake(E, "m = p + q", "(p + q) / 2")(
    lambda p, q, dx: 0.5 * _kl_grid(p, p + q, dx) + 0.5 * _kl_grid(q, p + q, dx))
mistake(E, "KL(m || p)", "second argument")(
    lambda p, q, dx: 0.5 * _kl_grid(0.5 * (p + q), p, dx) + 0.5 * _kl_grid(q, 0.5 * (p + q), dx))
mistake(E, "no 1/2", "1/2")(
    lambda p, q, dx: _kl_grid(p, 0.5 * (p + q), dx) + _kl_grid(q, 0.5 * (p + q), dx))
mistake(E, "naive logs", "0 log 0")(
    lambda p, q, dx: 0.5 * (p * torch.log(2 * p / (p + q))).sum() * dx
    + 0.5 * (q * torch.log(2 * q / (p + q))).sum() * dx)

E = "ch03.negative_elbo_step"


def _step(enc, dec, x, eps, *, std_of=None, z_of=None, recon="none", kl_sign=1.0,
          reduce="mean"):
    mu, lv = enc(x).chunk(2, dim=1)
    std = (0.5 * lv).exp() if std_of is None else std_of(lv)
    z = mu + std * eps if z_of is None else z_of(mu, std, eps)
    if recon == "none":
        rec = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(1)
    else:
        rec = F.binary_cross_entropy_with_logits(dec(z), x)
    total = rec + kl_sign * 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1)
    return total.mean() if reduce == "mean" else total.sum()


mistake(E, "sigma = exp(log_var) in the sample", "variance")(
    lambda e, d, x, eps: _step(e, d, x, eps, std_of=torch.exp))
mistake(E, "decoder on mu", "sees mu")(
    lambda e, d, x, eps: _step(e, d, x, eps, z_of=lambda mu, std, eps: mu))
mistake(E, "BCE default reduction", "reduction")(
    lambda e, d, x, eps: _step(e, d, x, eps, recon="mean"))
mistake(E, "KL added with the wrong sign", "KL")(
    lambda e, d, x, eps: _step(e, d, x, eps, kl_sign=-1.0))
mistake(E, "summed over the batch", "summed over the batch")(
    lambda e, d, x, eps: _step(e, d, x, eps, reduce="sum"))
mistake(E, "z detached", "gradient")(
    lambda e, d, x, eps: _step(e, d, x, eps, z_of=lambda mu, std, eps: (mu + std * eps).detach()))

E = "ch03.kl_monte_carlo"


def _log_q(z, mu, lv):
    return -0.5 * ((z - mu) ** 2 / lv.exp() + lv + LOG_2PI).sum(-1)


mistake(E, "log 2 pi only in log q", "log(2 pi)")(
    lambda z, mu, lv: (_log_q(z, mu, lv) + 0.5 * (z ** 2).sum(-1)).mean(0))
mistake(E, "log p - log q", "sign")(
    lambda z, mu, lv: (-0.5 * (z ** 2 + LOG_2PI).sum(-1) - _log_q(z, mu, lv)).mean(0))
mistake(E, "mean over the latent dimensions", "mean over")(
    lambda z, mu, lv: (-0.5 * ((z - mu) ** 2 / lv.exp() + lv) + 0.5 * z ** 2).mean(-1).mean(0))
mistake(E, "sum over the K samples", "sum over the K samples")(
    lambda z, mu, lv: (_log_q(z, mu, lv) + 0.5 * (z ** 2 + LOG_2PI).sum(-1)).sum(0))

E = "ch05.free_bits_kl"
mistake(E, "floor per example", "each example")(lambda kl, fb: kl.clamp_min(fb).mean(0).sum())
mistake(E, "one floor for the total", "own floor")(lambda kl, fb: kl.mean(0).sum().clamp_min(fb))
mistake(E, "clamp_max", "max")(lambda kl, fb: kl.mean(0).clamp_max(fb).sum())
mistake(E, "a new tensor from a float", "gradient")(
    lambda kl, fb: torch.tensor(float(kl.mean(0).clamp_min(fb).sum())))

E = "ch05.importance_weights"
mistake(E, "softmax over the batch", "wrong axis")(lambda lw: torch.softmax(lw, dim=1))
mistake(E, "exp / sum", "underflow")(lambda lw: lw.exp() / lw.exp().sum(0))
mistake(E, "log_softmax", "log")(lambda lw: torch.log_softmax(lw, dim=0))
mistake(E, "max shift, not normalized", "normalized")(lambda lw: torch.exp(lw - lw.max(0).values))

E = "ch06.discriminator_loss_hinge"
mistake(E, "margins swapped", "swapped")(lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean())
mistake(E, "no relu", "relu")(lambda r, f: (1 - r).mean() + (1 + f).mean())
mistake(E, "no margin", "margin")(lambda r, f: F.relu(-r).mean() + F.relu(f).mean())
mistake(E, "relu forgotten on the fake side", "relu")(
    lambda r, f: F.relu(1 - r).mean() + (1 + f).mean())

E = "ch07.generator_step_loss"
mistake(E, "the fake label", "label")(lambda d, g, z: _bce(d(g(z)), 0.0))
mistake(E, "G(z) detached", "gradient")(lambda d, g, z: _bce(d(g(z).detach()), 1.0))
mistake(E, "saturating", "saturating")(lambda d, g, z: -_bce(d(g(z)), 0.0))
mistake(E, "returned .item()", "float")(lambda d, g, z: _bce(d(g(z)), 1.0).item())

E = "ch07.slerp"
mistake(E, "lerp", "straight line")(lambda z0, z1, t: (1 - t[:, None]) * z0 + t[:, None] * z1)
mistake(E, "no normalization of the cosine", "unnormalized")(
    lambda z0, z1, t: (torch.sin((1 - t[:, None]) * torch.arccos(torch.dot(z0, z1).clamp(-1, 1)))
                       * z0 + torch.sin(t[:, None] * torch.arccos(torch.dot(z0, z1).clamp(-1, 1)))
                       * z1) / torch.sin(torch.arccos(torch.dot(z0, z1).clamp(-1, 1))))


@mistake(E, "weights swapped", "swapped")
def _slerp_swapped(z0, z1, t):
    w = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    t = t[:, None]
    return (torch.sin(t * w) * z0 + torch.sin((1 - t) * w) * z1) / torch.sin(w)


E = "ch08.critic_step_loss"


def _critic(c, g, x, z, e, *, create_graph=True, detach=True, sign=1.0, lam=10.0, sq=False):
    fake = g(z).detach() if detach else g(z)
    x_hat = (e * x + (1 - e) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(c(x_hat).sum(), x_hat, create_graph=create_graph)
    norm = grad.norm(dim=1) ** (2 if sq else 1)
    return sign * (c(fake).mean() - c(x).mean()) + lam * ((norm - 1) ** 2).mean()


mistake(E, "signs of the Wasserstein terms", "signs")(
    lambda c, g, x, z, e: _critic(c, g, x, z, e, sign=-1.0))
mistake(E, "no create_graph", "create_graph")(
    lambda c, g, x, z, e: _critic(c, g, x, z, e, create_graph=False))
mistake(E, "fake not detached", "detach")(lambda c, g, x, z, e: _critic(c, g, x, z, e,
                                                                        detach=False))
mistake(E, "penalty forgotten", "penalty")(lambda c, g, x, z, e: _critic(c, g, x, z, e, lam=0.0))
mistake(E, "squared norm", "squared norm")(lambda c, g, x, z, e: _critic(c, g, x, z, e, sq=True))

E = "ch08.r1_penalty"


def _r1(d, x, *, power=2, create_graph=True, minus=0.0):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=create_graph)
    return ((grad.flatten(1).norm(dim=1) - minus) ** power).mean()


mistake(E, "norm not squared", "squared")(lambda d, x: _r1(d, x, power=1))
mistake(E, "no create_graph", "create_graph")(lambda d, x: _r1(d, x, create_graph=False))
mistake(E, "pulled to 1", "to 0")(lambda d, x: _r1(d, x, minus=1.0))

E = "ch09.trace_sqrt_product"
mistake(E, "sqrt(S1) sqrt(S2)", "commute")(
    lambda s1, s2: float(np.trace(_sqrtm_sym(s1) @ _sqrtm_sym(s2))))
mistake(E, "elementwise sqrt", "elementwise")(lambda s1, s2: float(np.trace(np.sqrt(np.abs(
    s1 @ s2)))))
mistake(E, "sqrt of the trace", "square root of the trace")(
    lambda s1, s2: float(np.sqrt(np.trace(s1 @ s2))))

E = "ch10.knn_radii"


def _pairwise(f):
    return np.sqrt(((f[:, None] - f[None]) ** 2).sum(-1))


mistake(E, "column k - 1", "off by one")(lambda f, k: np.sort(_pairwise(f), axis=1)[:, k - 1])
mistake(E, "squared distances", "squared")(lambda f, k: np.sort(_pairwise(f) ** 2, axis=1)[:, k])
mistake(E, "column k + 1", "off by one")(lambda f, k: np.sort(_pairwise(f), axis=1)[:, k + 1])

E = "ch10.manifold_fraction"


def _dist(q, m):
    return np.sqrt(((q[:, None] - m[None]) ** 2).sum(-1))


mistake(E, "all for any", "all where any")(
    lambda m, r, q: float((_dist(q, m) <= r[None]).all(1).mean()))
mistake(E, "reduced over the queries", "manifold points")(
    lambda m, r, q: float((_dist(q, m) <= r[None]).any(0).mean()))
mistake(E, "squared distances", "squared")(
    lambda m, r, q: float((_dist(q, m) ** 2 <= r[None]).any(1).mean()))

E = "ch11.aae_discriminator_loss"
mistake(E, "codes not detached", "detach")(
    lambda d, enc, x, zp: _bce(d(zp), 1.0) + _bce(d(enc(x)), 0.0))
mistake(E, "labels swapped", "swapped")(
    lambda d, enc, x, zp: _bce(d(zp), 0.0) + _bce(d(enc(x).detach()), 1.0))
mistake(E, "the prior forgotten", "z_prior")(lambda d, enc, x, zp: _bce(d(enc(x).detach()), 0.0))

E = "ch11.aae_encoder_loss"
mistake(E, "label 0", "label")(lambda d, enc, x: _bce(d(enc(x)), 0.0))
mistake(E, "codes detached", "gradient")(lambda d, enc, x: _bce(d(enc(x).detach()), 1.0))
mistake(E, "saturating", "saturating")(lambda d, enc, x: -_bce(d(enc(x)), 0.0))

E = "ch12.gram_matrix"
mistake(E, "not normalized", "not normalized")(
    lambda f: f.flatten(2) @ f.flatten(2).transpose(1, 2))
mistake(E, "divided by C H W", "C H W")(
    lambda f: f.flatten(2) @ f.flatten(2).transpose(1, 2) / f[0].numel())
mistake(E, "positions x positions", "expected")(
    lambda f: f.flatten(2).transpose(1, 2) @ f.flatten(2) / f[0, 0].numel())

E = "ch12.pix2pix_generator_loss"
mistake(E, "L2 for L1", "L2")(lambda lg, f, t, lam: _bce(lg, 1.0) + lam * F.mse_loss(f, t))
mistake(E, "lam forgotten", "lam")(lambda lg, f, t, lam: _bce(lg, 1.0) + F.l1_loss(f, t))
mistake(E, "lam on the adversarial term", "adversarial")(
    lambda lg, f, t, lam: lam * _bce(lg, 1.0) + F.l1_loss(f, t))
mistake(E, "label 0", "label 0")(lambda lg, f, t, lam: _bce(lg, 0.0) + lam * F.l1_loss(f, t))


# ----------------------------------------------------------- correct variants
# ------------------------------------------------- chapters 13 to 15 (Part V)
# ch13: paired translation
E = "ch13.patch_discriminator_loss"
mistake(E, "one logit per image", "averaged over the patches")(
    lambda r, f: _bce(r.mean((1, 2, 3)), 1.0) + _bce(f.mean((1, 2, 3)), 0.0))
mistake(E, "BCE summed over patches", "summed")(
    lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="sum")
    / len(r) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="sum")
    / len(f))
mistake(E, "labels swapped", "label")(lambda r, f: _bce(r, 0.0) + _bce(f, 1.0))
mistake(E, "real patches labelled 0", "real")(lambda r, f: _bce(r, 0.0) + _bce(f, 0.0))
mistake(E, "halves averaged, not summed", "factor")(
    lambda r, f: 0.5 * (_bce(r, 1.0) + _bce(f, 0.0)))
mistake(E, "only the real half", "missing")(lambda r, f: _bce(r, 1.0))

E = "ch13.block_average"
mistake(E, "max pooling", "max pooling")(
    lambda x, k: F.interpolate(F.max_pool2d(x, k), scale_factor=k, mode="nearest"))
mistake(E, "strided subsampling", "one pixel per block")(
    lambda x, k: x[..., ::k, ::k].repeat_interleave(k, 2).repeat_interleave(k, 3))
mistake(E, "bilinear upsampling", "nearest")(
    lambda x, k: F.interpolate(F.avg_pool2d(x, k), scale_factor=k, mode="bilinear"))
mistake(E, "no upsampling", "shape")(lambda x, k: F.avg_pool2d(x, k))
mistake(E, "block sums", "sum")(
    lambda x, k: F.interpolate(F.avg_pool2d(x, k) * k * k, scale_factor=k, mode="nearest"))

E = "ch13.discriminator_pairs"
mistake(E, "fake paired with the target", "target")(
    lambda a, b, f: torch.cat([torch.cat([a, b], 1), torch.cat([b, f], 1)], 0))
mistake(E, "output first", "input")(
    lambda a, b, f: torch.cat([torch.cat([b, a], 1), torch.cat([f, a], 1)], 0))
mistake(E, "fake pairs first", "first B")(
    lambda a, b, f: torch.cat([torch.cat([a, f], 1), torch.cat([a, b], 1)], 0))
mistake(E, "pairs along the batch axis", "shape")(
    lambda a, b, f: torch.cat([a, b, a, f], 0))
mistake(E, "unconditional", "shape")(lambda a, b, f: torch.cat([b, f], 0))

# ch14: unpaired translation
E = "ch14.cycle_consistency_loss"
mistake(E, "squared error", "L2")(
    lambda a, ac, b, bc: F.mse_loss(ac, a) + F.mse_loss(bc, b))
mistake(E, "only the cycle from A", "cycle from B")(lambda a, ac, b, bc: F.l1_loss(ac, a))
mistake(E, "l1_loss with reduction sum", "summed")(
    lambda a, ac, b, bc: F.l1_loss(ac, a, reduction="sum") / len(a)
    + F.l1_loss(bc, b, reduction="sum") / len(b))
mistake(E, "the two cycles averaged, not added", "1/2")(
    lambda a, ac, b, bc: 0.5 * (F.l1_loss(ac, a) + F.l1_loss(bc, b)))

E = "ch14.lsgan_discriminator_loss"
mistake(E, "factor 1/2 forgotten", "1/2")(
    lambda r, f: ((r - 1) ** 2).mean() + (f ** 2).mean())
mistake(E, "targets swapped", "target")(
    lambda r, f: 0.5 * (r ** 2).mean() + 0.5 * ((f - 1) ** 2).mean())
mistake(E, "the generator's loss", "translated")(lambda r, f: ((f - 1) ** 2).mean())
mistake(E, "BCE with logits", "cross-entropy")(
    lambda r, f: 0.5 * _bce(r, 1.0) + 0.5 * _bce(f, 0.0))

E = "ch14.hidden_class_change"
mistake(E, "one minus the survival", "round trip")(lambda y, t, c: float((t != y).float().mean()))
mistake(E, "conditioned on the round trip", "all the digits")(
    lambda y, t, c: float(((c == y) & (t != y)).sum() / (c == y).sum()))
mistake(E, "round trip test reversed", "round trip")(
    lambda y, t, c: float(((c != y) & (t != y)).float().mean()))
mistake(E, "cycled compared with the translation", "round trip")(
    lambda y, t, c: float(((c == t) & (t != y)).float().mean()))


# ch15: style transfer
E = "ch15.style_loss_layer"


def _g15(f):
    phi = f.flatten(2)
    return phi @ phi.transpose(1, 2) / phi.shape[-1]


mistake(E, "no 1/(4 C^2)", "4 C^2")(lambda f, t: ((_g15(f) - t) ** 2).sum((1, 2)).mean())
mistake(E, "Gram not divided by M", "not normalized")(
    lambda f, t: ((f.flatten(2) @ f.flatten(2).transpose(1, 2) - t) ** 2).sum((1, 2)).mean()
    / (4 * f.shape[1] ** 2))
mistake(E, "mse_loss over the Gram entries", "mean over the C^2")(
    lambda f, t: F.mse_loss(_g15(f), t.expand_as(_g15(f))) / (4 * f.shape[1] ** 2))
mistake(E, "Frobenius norm not squared", "squared")(
    lambda f, t: torch.linalg.matrix_norm(_g15(f) - t).mean() / (4 * f.shape[1] ** 2))
mistake(E, "returned .item()", "gradient")(
    lambda f, t: (((_g15(f) - t) ** 2).sum((1, 2)).mean() / (4 * f.shape[1] ** 2)).item())

E = "ch15.content_loss"
mistake(E, "F.mse_loss", "mse_loss")(lambda f, t: F.mse_loss(f, t.expand_as(f)))
mistake(E, "mean instead of sum, with the 1/2", "mean over the C H W")(
    lambda f, t: 0.5 * ((f - t) ** 2).mean())
mistake(E, "L1 distance", "absolute")(lambda f, t: 0.5 * (f - t).abs().flatten(1).sum(1).mean())
mistake(E, "features detached", "gradient")(
    lambda f, t: 0.5 * ((f.detach() - t) ** 2).flatten(1).sum(1).mean())

E = "ch15.total_variation"
mistake(E, "vertical differences only", "horizontal")(
    lambda x: x.diff(dim=2).pow(2).flatten(1).sum(1).mean())
mistake(E, "horizontal differences only", "vertical")(
    lambda x: x.diff(dim=3).pow(2).flatten(1).sum(1).mean())
mistake(E, "anisotropic L1 TV", "absolute")(
    lambda x: (x.diff(dim=2).abs().flatten(1).sum(1) + x.diff(dim=3).abs().flatten(1).sum(1))
    .mean())
mistake(E, "torch.roll neighbours", "wrap")(
    lambda x: (((x - x.roll(1, 2)) ** 2).flatten(1).sum(1)
               + ((x - x.roll(1, 3)) ** 2).flatten(1).sum(1)).mean())


# ch16: from VAEs to diffusion
def _c16(v):
    return v[:, None]


E = "ch16.forward_sample"
mistake(E, "variance as the noise's scale", "standard deviation")(
    lambda x, ab, e: _c16(ab).sqrt() * x + _c16(1 - ab) * e)
mistake(E, "alpha_bar without its square root on x", "not by alpha_bar_t")(
    lambda x, ab, e: _c16(ab) * x + _c16(1 - ab).sqrt() * e)
mistake(E, "the two scales swapped", "swapped")(
    lambda x, ab, e: _c16(1 - ab).sqrt() * x + _c16(ab).sqrt() * e)

E = "ch16.step_kl"
mistake(E, "variance term without the factor d", "per coordinate")(
    lambda mq, vq, mp, vp: 0.5 * (vq / vp - 1 - torch.log(vq / vp))
    + ((mq - mp) ** 2).sum(1) / (2 * vp))
mistake(E, "distance divided by var_q", "2 var_p")(
    lambda mq, vq, mp, vp: mq.shape[1] / 2 * (vq / vp - 1 - torch.log(vq / vp))
    + ((mq - mp) ** 2).sum(1) / (2 * vq))
mistake(E, "mean over coordinates of the distance", "not a mean")(
    lambda mq, vq, mp, vp: mq.shape[1] / 2 * (vq / vp - 1 - torch.log(vq / vp))
    + ((mq - mp) ** 2).mean(1) / (2 * vp))

E = "ch16.decoder_mean"
mistake(E, "square root over the numerator too", "denominator only")(
    lambda z, e, a, ab: (z - _c16((1 - a).sqrt() / (1 - ab).sqrt()) * e) / _c16(a).sqrt())
mistake(E, "forgot to divide by sqrt(alpha_t)", "divide the whole bracket")(
    lambda z, e, a, ab: z - _c16((1 - a) / (1 - ab).sqrt()) * e)
mistake(E, "alpha and alpha_bar swapped", "swapped")(
    lambda z, e, a, ab: (z - _c16((1 - ab) / (1 - a).sqrt()) * e) / _c16(ab).sqrt())
mistake(E, "returned the image estimate", "mean of z_0")(
    lambda z, e, a, ab: (z - _c16(1 - ab).sqrt() * e) / _c16(ab).sqrt())

E = "ch16.noise_prediction_loss"
mistake(E, "the network sees x", "noisy z_t")(
    lambda m, x, ab, e: (e - m(x, ab)).pow(2).mean(1))
mistake(E, "the target is x", "target is the noise")(
    lambda m, x, ab, e: (x - m(_c16(ab).sqrt() * x + _c16(1 - ab).sqrt() * e, ab))
    .pow(2).mean(1))
mistake(E, "sum over coordinates", "not the sum")(
    lambda m, x, ab, e: (e - m(_c16(ab).sqrt() * x + _c16(1 - ab).sqrt() * e, ab))
    .pow(2).sum(1))


C: list[tuple[str, str, Callable]] = []


def correct(exercise: str, what: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        C.append((exercise, what, fn))
        return fn
    return register


E = "ch01.log_normal_diag"
correct(E, "torch.distributions.Normal")(
    lambda x, m, lv: TD.Normal(m, (0.5 * lv).exp()).log_prob(x).sum(-1))
correct(E, "Independent Normal")(
    lambda x, m, lv: TD.Independent(TD.Normal(m, torch.exp(lv / 2)), 1).log_prob(x))
correct(E, "standardized residual, d log 2 pi")(
    lambda x, m, lv: -0.5 * (((x - m) / (0.5 * lv).exp()) ** 2).sum(-1) - 0.5 * lv.sum(-1)
    - 0.5 * x.shape[-1] * LOG_2PI)
correct(E, "MultivariateNormal with a diagonal covariance")(
    lambda x, m, lv: TD.MultivariateNormal(m, torch.diag_embed(lv.exp())).log_prob(x))

E = "ch02.kl_diag_gaussians"
correct(E, "kl_divergence of Independent Normals")(
    lambda mq, lq, mp, lp: TD.kl_divergence(TD.Independent(TD.Normal(mq, (0.5 * lq).exp()), 1),
                                            TD.Independent(TD.Normal(mp, (0.5 * lp).exp()), 1)))
correct(E, "with variances and log")(
    lambda mq, lq, mp, lp: 0.5 * (torch.log(lp.exp() / lq.exp()) + (lq.exp() + (mq - mp) ** 2)
                                  / lp.exp() - 1).sum(-1))
correct(E, "with standard deviations")(
    lambda mq, lq, mp, lp: (torch.log((0.5 * lp).exp() / (0.5 * lq).exp())
                            + (lq.exp() + (mq - mp).pow(2)) / (2 * lp.exp()) - 0.5).sum(dim=1))

E = "ch03.elbo_from_samples"
correct(E, "sub then mean")(lambda lj, lq: lj.sub(lq).mean(dim=0))
correct(E, "difference of means")(lambda lj, lq: torch.mean(lj, 0) - torch.mean(lq, 0))
correct(E, "sum over K, divided by K")(lambda lj, lq: (lj - lq).sum(0) / lj.shape[0])

E = "ch04.kl_to_standard_normal"
correct(E, "the pytorch/examples form")(
    lambda mu, lv: -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp(), dim=1))
correct(E, "kl_divergence")(
    lambda mu, lv: TD.kl_divergence(TD.Normal(mu, (0.5 * lv).exp()),
                                    TD.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1))
correct(E, "with sigma")(
    lambda mu, lv: (0.5 * (mu ** 2 + torch.exp(lv / 2) ** 2) - 0.5 * lv - 0.5).sum(-1))

E = "ch04.reparameterize"
correct(E, "rsample")(lambda mu, lv: TD.Normal(mu, (0.5 * lv).exp()).rsample())
correct(E, "randn of mu's shape")(lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape))
correct(E, "std from sqrt(exp)")(lambda mu, lv: mu + lv.exp().sqrt() * torch.randn_like(mu))
correct(E, "eps first")(lambda mu, lv: torch.randn_like(lv).mul(lv.mul(0.5).exp()).add(mu))

E = "ch04.bernoulli_elbo"
correct(E, "Bernoulli(logits=...).log_prob")(
    lambda x, lg, mu, lv: TD.Bernoulli(logits=lg).log_prob(x).flatten(1).sum(1) - _kl4(mu, lv))
correct(E, "logsigmoid form")(
    lambda x, lg, mu, lv: (x * F.logsigmoid(lg) + (1 - x) * F.logsigmoid(-lg)).sum((1, 2, 3))
    - _kl4(mu, lv))
correct(E, "BCE summed per image in a loop")(
    lambda x, lg, mu, lv: -torch.stack([F.binary_cross_entropy_with_logits(a, b, reduction="sum")
                                        for a, b in zip(lg, x, strict=True)]) - _kl4(mu, lv))
correct(E, "softplus form")(
    lambda x, lg, mu, lv: (x * lg - F.softplus(lg)).view(len(x), -1).sum(-1) - _kl4(mu, lv))

E = "ch04.my_elbo"
correct(E, "the plain way")(lambda m, x: _my_elbo(m, x, std=lambda lv: (0.5 * lv).exp()))
correct(E, "the library's elbo")(lambda m, x: __import__("tutorial_lib.vae", fromlist=["elbo"])
                                 .elbo(m, x).elbo)
correct(E, "rsample and kl_divergence")(lambda m, x: (lambda mu, lv: TD.Bernoulli(
    logits=m.decode(TD.Normal(mu, (0.5 * lv).exp()).rsample())).log_prob(x).flatten(1).sum(1)
    - TD.kl_divergence(TD.Normal(mu, (0.5 * lv).exp()), TD.Normal(0.0, 1.0)).sum(1))(
    *m.encode(x)))

E = "ch05.iwae_from_log_weights"
correct(E, "logsumexp - log K")(lambda lw: torch.logsumexp(lw, dim=0) - math.log(lw.shape[0]))


@correct(E, "max shift with the max added back")
def _shift(lw):
    m = lw.max(dim=0, keepdim=True).values
    return (m + torch.log(torch.exp(lw - m).mean(0, keepdim=True))).squeeze(0)


correct(E, "logsumexp of lw - log K")(lambda lw: torch.logsumexp(lw - math.log(len(lw)), 0))
correct(E, "torch.special.logsumexp")(
    lambda lw: torch.special.logsumexp(lw, 0) - torch.log(torch.tensor(float(len(lw)))))

E = "ch06.discriminator_loss"
correct(E, "logsigmoid form")(lambda r, f: -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()))
correct(E, "softplus form")(lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean())
correct(E, "BCEWithLogitsLoss module")(
    lambda r, f: torch.nn.BCEWithLogitsLoss()(r, torch.ones_like(r))
    + torch.nn.BCEWithLogitsLoss()(f, torch.zeros_like(f)))

E = "ch06.generator_loss_nonsaturating"
correct(E, "softplus")(lambda f: F.softplus(-f).mean())
correct(E, "-logsigmoid")(lambda f: -F.logsigmoid(f).mean())
correct(E, "BCE against ones")(
    lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)))

E = "ch07.discriminator_step_loss"
correct(E, "detached fake")(lambda d, g, real, z: _bce(d(real), 1.0) + _bce(d(g(z).detach()), 0.0))


@correct(E, "generator under no_grad")
def _d_no_grad_g(d, g, real, z):
    with torch.no_grad():
        fake = g(z)
    return _bce(d(real), 1.0) + _bce(d(fake), 0.0)


@correct(E, "one call on the concatenation")
def _d_cat(d, g, real, z):
    logits = d(torch.cat([real, g(z).detach()]))
    r, f = logits[: len(real)], logits[len(real):]
    return F.softplus(-r).mean() + F.softplus(f).mean()


E = "ch08.gradient_penalty"
correct(E, "the reference's way")(_gp())


def _gp_grad_outputs(critic, real, fake):
    eps = torch.rand(real.size(0), 1, 1, 1).expand_as(real)
    x_hat = eps * real + (1 - eps) * fake
    x_hat.requires_grad_(True)
    out = critic(x_hat)
    grad = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out),
                               create_graph=True, retain_graph=True)[0]
    return ((grad.view(grad.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def _gp_lerp(critic, real, fake):
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)))
    x_hat = torch.lerp(fake, real, eps).detach().requires_grad_()
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (torch.linalg.vector_norm(grad.reshape(len(grad), -1), dim=1) - 1).pow(2).mean()


correct(E, "grad_outputs form")(_gp_grad_outputs)
correct(E, "lerp and vector_norm")(_gp_lerp)

E = "ch09.frechet_distance"
correct(E, "sqrtm of the product, real part")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg
                                                                   .sqrtm(s1 @ s2).real)))
correct(E, "symmetric square root")(
    lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np
                                 .trace(_sqrtm_sym(_sqrtm_sym(s1) @ s2 @ _sqrtm_sym(s1)))))
correct(E, "eigenvalues of the product")(
    lambda m1, s1, m2, s2: float(np.dot(m1 - m2, m1 - m2) + np.trace(s1) + np.trace(s2) - 2 * np
                                 .sqrt(np.linalg.eigvals(s1 @ s2).real.clip(0)).sum()))

E = "ch09.mmd2_unbiased"
correct(E, "fill_diagonal on copies")(
    lambda a, b, c: float(_zero_diag(a).sum() / (len(a) * (len(a) - 1))
                          + _zero_diag(b).sum() / (len(b) * (len(b) - 1)) - 2 * c.mean()))
correct(E, "masks")(
    lambda a, b, c: float(a[~np.eye(len(a), dtype=bool)].mean() + b[~np.eye(len(b), dtype=bool)]
                          .mean() - 2 * c.mean()))
correct(E, "loops")(
    lambda a, b, c: sum(a[i, j] for i in range(len(a)) for j in range(len(a)) if i != j)
    / (len(a) * (len(a) - 1))
    + sum(b[i, j] for i in range(len(b)) for j in range(len(b)) if i != j) / (len(b) * (len(b) - 1))
    - 2 * c.sum() / (c.shape[0] * c.shape[1]))


def _zero_diag(k):
    k = k.copy()
    np.fill_diagonal(k, 0.0)
    return k


E = "ch10.class_total_variation"
correct(E, "bincount, a 0-d tensor")(
    lambda lb, k: 0.5 * (torch.bincount(lb, minlength=k) / len(lb) - 1 / k).abs().sum())
correct(E, "numpy histogram")(
    lambda lb, k: float(0.5 * np.abs(np.histogram(lb.numpy(), bins=np.arange(k + 1))[0]
                                     / len(lb) - 1 / k).sum()))
correct(E, "Counter loop")(
    lambda lb, k: 0.5 * sum(abs(Counter(lb.tolist()).get(c, 0) / len(lb) - 1 / k)
                            for c in range(k)))

E = "ch11.feature_distance"
correct(E, "mse_loss without reduction")(
    lambda a, b: 0.5 * F.mse_loss(a, b, reduction="none").sum(1))
correct(E, "squared norm")(lambda a, b: 0.5 * torch.linalg.vector_norm(a - b, dim=1) ** 2)
correct(E, "einsum")(lambda a, b: 0.5 * torch.einsum("bf,bf->b", a - b, a - b))

E = "ch12.roc_auc"
correct(E, "roc_auc_score")(lambda s, t: roc_auc_score(t.numpy(), s.numpy()))
correct(E, "Mann-Whitney by ranks")(
    lambda s, t: float((scipy.stats.rankdata(s.numpy())[t.numpy()].sum()
                        - t.sum().item() * (t.sum().item() + 1) / 2)
                       / (t.sum().item() * (~t).sum().item())))
correct(E, "pairwise comparisons")(lambda s, t: _auc(s, t))


E = "ch01.log_binomial"
correct(E, "torch.distributions.Binomial")(
    lambda k, n, a: TD.Binomial(n, logits=a).log_prob(k).sum(-1))
correct(E, "softplus form")(
    lambda k, n, a: (_log_choose(k, n) + k * a - n * F.softplus(a)).sum(-1))
correct(E, "logsigmoid form")(
    lambda k, n, a: (_log_choose(k, n) + k * F.logsigmoid(a) + (n - k) * F.logsigmoid(-a))
    .sum(dim=1))

E = "ch01.mle_step"


@correct(E, "autograd")
def _mle_autograd(theta, x, lr):
    t, nll = _mle_grad(theta, x)
    (g,) = torch.autograd.grad(nll.mean(), t)
    return (t - lr * g).detach()


@correct(E, "closed-form gradient")
def _mle_closed(theta, x, lr):
    m, lv = theta
    var = lv.exp()
    g = torch.stack([-((x - m) / var).mean(0), 0.5 * (1 - (x - m) ** 2 / var).mean(0)])
    return theta - lr * g


@correct(E, "an optimizer step on a copy")
def _mle_sgd(theta, x, lr):
    t = theta.clone().requires_grad_(True)
    opt = torch.optim.SGD([t], lr=lr)
    (-TD.Normal(t[0], (0.5 * t[1]).exp()).log_prob(x).sum(1).mean()).backward()
    opt.step()
    return t.detach()


E = "ch02.kl_on_grid"
correct(E, "xlogy of the ratio")(lambda p, q, dx: torch.xlogy(p, p / q).sum() * dx)
correct(E, "mask where p > 0")(
    lambda p, q, dx: (p[p > 0] * (p[p > 0].log() - q[p > 0].log())).sum() * dx)
correct(E, "torch.where")(
    lambda p, q, dx: torch.where(p > 0, p * torch.log(p / q), torch.zeros_like(p)).sum() * dx)

E = "ch02.jsd_on_grid"
correct(E, "with kl_on_grid")(
    lambda p, q, dx: 0.5 * _kl_grid(p, (p + q) / 2, dx) + 0.5 * _kl_grid(q, (p + q) / 2, dx))
correct(E, "entropy form")(
    lambda p, q, dx: (-torch.xlogy((p + q) / 2, (p + q) / 2).sum()
                      + 0.5 * torch.xlogy(p, p).sum() + 0.5 * torch.xlogy(q, q).sum()) * dx)
correct(E, "xlogy of the ratios")(
    lambda p, q, dx: 0.5 * dx * (torch.xlogy(p, 2 * p / (p + q)).sum()
                                 + torch.xlogy(q, 2 * q / (p + q)).sum()))

E = "ch03.negative_elbo_step"
correct(E, "the plain way")(lambda e, d, x, eps: _step(e, d, x, eps))


@correct(E, "torch.distributions")
def _step_td(enc, dec, x, eps):
    mu, lv = enc(x).chunk(2, dim=1)
    q = TD.Normal(mu, (0.5 * lv).exp())
    z = mu + q.stddev * eps
    log_px = TD.Bernoulli(logits=dec(z)).log_prob(x).sum(1)
    kl = TD.kl_divergence(q, TD.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1)
    return (kl - log_px).mean()


@correct(E, "summed then divided by B")
def _step_sum(enc, dec, x, eps):
    h = enc(x)
    mu, lv = h[:, : h.shape[1] // 2], h[:, h.shape[1] // 2:]
    z = torch.addcmul(mu, torch.exp(lv / 2), eps)
    rec = F.binary_cross_entropy_with_logits(dec(z), x, reduction="sum")
    return (rec - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())) / len(x)


E = "ch03.kl_monte_carlo"
correct(E, "the two log-densities")(
    lambda z, mu, lv: (_log_q(z, mu, lv) + 0.5 * (z ** 2 + LOG_2PI).sum(-1)).mean(0))
correct(E, "torch.distributions")(
    lambda z, mu, lv: (TD.Normal(mu, (0.5 * lv).exp()).log_prob(z)
                       - TD.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0))
correct(E, "the constants cancel")(
    lambda z, mu, lv: (0.5 * (z ** 2 - (z - mu) ** 2 / lv.exp() - lv)).sum(-1).mean(0))

E = "ch05.free_bits_kl"
correct(E, "clamp_min")(lambda kl, fb: kl.mean(0).clamp_min(fb).sum())
correct(E, "torch.maximum")(lambda kl, fb: torch.maximum(kl.mean(0), torch.tensor(fb)).sum())
correct(E, "torch.clamp on the sum over B")(
    lambda kl, fb: torch.clamp(kl.sum(0) / len(kl), min=fb).sum())

E = "ch05.importance_weights"
correct(E, "softmax")(lambda lw: torch.softmax(lw, 0))
correct(E, "max shift")(lambda lw: (lw - lw.max(0).values).exp() / (lw - lw.max(0).values)
                        .exp().sum(0))
correct(E, "exp of log_softmax")(lambda lw: torch.log_softmax(lw, dim=0).exp())

E = "ch06.discriminator_loss_hinge"
correct(E, "relu")(lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean())
correct(E, "clamp")(lambda r, f: (1 - r).clamp(min=0).mean() + (1 + f).clamp(min=0).mean())
correct(E, "minimum form")(
    lambda r, f: -torch.minimum(r - 1, torch.zeros_like(r)).mean()
    - torch.minimum(-f - 1, torch.zeros_like(f)).mean())

E = "ch07.generator_step_loss"
correct(E, "BCE against ones")(lambda d, g, z: _bce(d(g(z)), 1.0))
correct(E, "softplus")(lambda d, g, z: F.softplus(-d(g(z))).mean())
correct(E, "-logsigmoid")(lambda d, g, z: -F.logsigmoid(d(g(z))).mean())

E = "ch07.slerp"
correct(E, "the formula")(lambda z0, z1, t: _slerp_swapped(z0, z1, 1 - t))


@correct(E, "unit vectors for the angle")
def _slerp_units(z0, z1, t):
    w = torch.acos((z0 / z0.norm()) @ (z1 / z1.norm()))
    return (torch.sin((1 - t)[:, None] * w) * z0 + torch.sin(t[:, None] * w) * z1) / w.sin()


@correct(E, "a loop over t")
def _slerp_loop(z0, z1, t):
    w = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    return torch.stack([(torch.sin((1 - s) * w) * z0 + torch.sin(s * w) * z1) / torch.sin(w)
                        for s in t])


E = "ch08.critic_step_loss"
correct(E, "the reference's way")(lambda c, g, x, z, e: _critic(c, g, x, z, e))


@correct(E, "generator under no_grad, grad_outputs")
def _critic_no_grad(c, g, x, z, e):
    with torch.no_grad():
        fake = g(z)
    x_hat = torch.lerp(fake, x, e).requires_grad_(True)
    out = c(x_hat)
    (grad,) = torch.autograd.grad(out, x_hat, torch.ones_like(out), create_graph=True)
    gp = (torch.linalg.vector_norm(grad, dim=1) - 1).pow(2).mean()
    return -(c(x).mean() - c(fake).mean()) + 10.0 * gp


@correct(E, "one critic call on the concatenation")
def _critic_cat(c, g, x, z, e):
    fake = g(z).detach()
    x_hat = (e * x + (1 - e) * fake).requires_grad_(True)
    scores = c(torch.cat([x, fake, x_hat]))
    b = len(x)
    (grad,) = torch.autograd.grad(scores[2 * b:].sum(), x_hat, create_graph=True)
    return scores[b:2 * b].mean() - scores[:b].mean() + 10 * ((grad.norm(dim=1) - 1) ** 2).mean()


E = "ch08.r1_penalty"
correct(E, "the package's way")(lambda d, x: _r1(d, x))


@correct(E, "grad_outputs and pow")
def _r1_go(d, x):
    x = x.clone().requires_grad_()
    out = d(x)
    (g,) = torch.autograd.grad(out, x, grad_outputs=torch.ones_like(out), create_graph=True)
    return g.pow(2).sum(dim=1).mean()


correct(E, "squared vector_norm")(
    lambda d, x: torch.linalg.vector_norm(torch.autograd.grad(
        d(xg := x.detach().requires_grad_()).sum(), xg, create_graph=True)[0], dim=1).pow(2)
    .mean())

E = "ch09.trace_sqrt_product"
correct(E, "symmetric root")(
    lambda s1, s2: float(np.sqrt(np.clip(np.linalg.eigvalsh(
        _sqrtm_sym(s1) @ s2 @ _sqrtm_sym(s1)), 0, None)).sum()))
correct(E, "sqrtm of the product, real part")(
    lambda s1, s2: float(np.trace(scipy.linalg.sqrtm(s1 @ s2)).real))
correct(E, "eigenvalues of the product")(
    lambda s1, s2: float(np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()))

E = "ch10.knn_radii"
correct(E, "sorted rows")(lambda f, k: np.sort(_pairwise(f), axis=1)[:, k])
correct(E, "scipy cdist and partition")(
    lambda f, k: np.partition(scipy.spatial.distance.cdist(f, f), k, axis=1)[:, k])
correct(E, "self excluded with inf")(
    lambda f, k: np.sort(_pairwise(f) + np.diag(np.full(len(f), np.inf)), axis=1)[:, k - 1])

E = "ch10.manifold_fraction"
correct(E, "any over the manifold")(lambda m, r, q: float((_dist(q, m) <= r[None]).any(1).mean()))
correct(E, "a loop over queries")(
    lambda m, r, q: sum(bool(np.any(np.linalg.norm(m - p, axis=1) <= r)) for p in q) / len(q))
correct(E, "torch.cdist")(
    lambda m, r, q: float((torch.cdist(torch.from_numpy(q), torch.from_numpy(m))
                           <= torch.from_numpy(r)).any(1).double().mean()))

E = "ch11.aae_discriminator_loss"
correct(E, "detached codes")(
    lambda d, enc, x, zp: _bce(d(zp), 1.0) + _bce(d(enc(x).detach()), 0.0))


@correct(E, "encoder under no_grad")
def _aae_no_grad(d, enc, x, zp):
    with torch.no_grad():
        codes = enc(x)
    return F.softplus(-d(zp)).mean() + F.softplus(d(codes)).mean()


correct(E, "logsigmoid form")(
    lambda d, enc, x, zp: -F.logsigmoid(d(zp)).mean() - F.logsigmoid(-d(enc(x).detach())).mean())

E = "ch11.aae_encoder_loss"
correct(E, "BCE against ones")(lambda d, enc, x: _bce(d(enc(x)), 1.0))
correct(E, "softplus")(lambda d, enc, x: F.softplus(-d(enc(x))).mean())
correct(E, "-logsigmoid")(lambda d, enc, x: -F.logsigmoid(d(enc(x))).mean())

E = "ch12.gram_matrix"
correct(E, "bmm")(lambda f: torch.bmm(f.flatten(2), f.flatten(2).transpose(1, 2))
                  / (f.shape[2] * f.shape[3]))
correct(E, "einsum")(lambda f: torch.einsum("bchw,bdhw->bcd", f, f) / (f.shape[-1] * f.shape[-2]))
correct(E, "a loop over images")(
    lambda f: torch.stack([g.reshape(len(g), -1) @ g.reshape(len(g), -1).T for g in f])
    / f[0, 0].numel())

E = "ch12.pix2pix_generator_loss"
correct(E, "BCE and l1_loss")(lambda lg, f, t, lam: _bce(lg, 1.0) + lam * F.l1_loss(f, t))
correct(E, "softplus and abs mean")(
    lambda lg, f, t, lam: F.softplus(-lg).mean() + lam * (f - t).abs().mean())
correct(E, "L1Loss module")(
    lambda lg, f, t, lam: torch.nn.BCEWithLogitsLoss()(lg, torch.ones_like(lg))
    + lam * torch.nn.L1Loss()(f, t))


# correct variants, ch13: paired translation
E = "ch13.patch_discriminator_loss"
correct(E, "BCE with ones and zeros")(lambda r, f: _bce(r, 1.0) + _bce(f, 0.0))
correct(E, "softplus")(lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean())
correct(E, "logsigmoid, flattened")(
    lambda r, f: -F.logsigmoid(r.flatten()).mean() - F.logsigmoid(-f.flatten()).mean())

E = "ch13.block_average"
correct(E, "repeat_interleave")(
    lambda x, k: F.avg_pool2d(x, k).repeat_interleave(k, 2).repeat_interleave(k, 3))
correct(E, "reshape and mean")(
    lambda x, k: x.reshape(*x.shape[:2], x.shape[2] // k, k, x.shape[3] // k, k)
    .mean((3, 5), keepdim=True).expand(*x.shape[:2], x.shape[2] // k, k, x.shape[3] // k, k)
    .reshape(x.shape))
correct(E, "a box filter")(
    lambda x, k: F.interpolate(F.conv2d(x.flatten(0, 1)[:, None], torch.ones(1, 1, k, k) / k**2,
                                        stride=k), scale_factor=k).reshape(x.shape))

E = "ch13.discriminator_pairs"
correct(E, "two cats")(lambda a, b, f: torch.cat([torch.cat([a, b], 1), torch.cat([a, f], 1)]))
correct(E, "input repeated")(
    lambda a, b, f: torch.cat([torch.cat([a, a]), torch.cat([b, f])], dim=1))
correct(E, "stack then reshape")(
    lambda a, b, f: torch.stack([torch.cat([a, b], 1), torch.cat([a, f], 1)]).flatten(0, 1))

# correct variants, ch14: unpaired translation
E = "ch14.cycle_consistency_loss"
correct(E, "l1_loss")(lambda a, ac, b, bc: F.l1_loss(ac, a) + F.l1_loss(bc, b))
correct(E, "abs mean")(lambda a, ac, b, bc: (a - ac).abs().mean() + (b - bc).abs().mean())
correct(E, "L1Loss modules, per-image means")(
    lambda a, ac, b, bc: torch.nn.L1Loss()(ac, a)
    + (bc - b).abs().flatten(1).mean(1).mean())

E = "ch14.lsgan_discriminator_loss"
correct(E, "mse_loss")(lambda r, f: 0.5 * F.mse_loss(r, torch.ones_like(r))
                       + 0.5 * F.mse_loss(f, torch.zeros_like(f)))
correct(E, "pow and mean")(lambda r, f: (((r - 1) ** 2).mean() + f.pow(2).mean()) / 2)
correct(E, "MSELoss module")(lambda r, f: 0.5 * (torch.nn.MSELoss()(r, torch.ones_like(r))
                                                 + torch.nn.MSELoss()(f, torch.zeros_like(f))))

E = "ch14.hidden_class_change"
correct(E, "boolean mean")(lambda y, t, c: float(((c == y) & (t != y)).float().mean()))
correct(E, "count over n")(lambda y, t, c: int(((c == y) & ~(t == y)).sum()) / len(y))
correct(E, "numpy")(lambda y, t, c: float(np.mean((c.numpy() == y.numpy())
                                                  & (t.numpy() != y.numpy()))))


# correct variants, ch15: style transfer
E = "ch15.style_loss_layer"
correct(E, "einsum Gram")(
    lambda f, t: ((torch.einsum("bchw,bdhw->bcd", f, f) / f[0, 0].numel() - t) ** 2)
    .sum((1, 2)).mean() / (4 * f.shape[1] ** 2))
correct(E, "unnormalized Gram with 1/(4 C^2 M^2)")(
    lambda f, t: ((f.flatten(2) @ f.flatten(2).transpose(1, 2) - t * f[0, 0].numel()) ** 2)
    .sum((1, 2)).mean() / (4 * f.shape[1] ** 2 * f[0, 0].numel() ** 2))
correct(E, "a loop over images with matrix_norm")(
    lambda f, t: torch.stack([torch.linalg.matrix_norm(g.reshape(len(g), -1)
                                                       @ g.reshape(len(g), -1).T
                                                       / g[0].numel() - t) ** 2 for g in f])
    .mean() / (4 * f.shape[1] ** 2))

E = "ch15.content_loss"
correct(E, "mse_loss with reduction sum over the batch size")(
    lambda f, t: 0.5 * F.mse_loss(f, t.expand_as(f), reduction="sum") / len(f))
correct(E, "squared norms per image")(
    lambda f, t: 0.5 * torch.linalg.vector_norm((f - t).flatten(1), dim=1).pow(2).mean())
correct(E, "a loop over images")(
    lambda f, t: sum(0.5 * ((g - t) ** 2).sum() for g in f) / len(f))

E = "ch15.total_variation"
correct(E, "diff")(
    lambda x: (x.diff(dim=2).pow(2).flatten(1).sum(1) + x.diff(dim=3).pow(2).flatten(1).sum(1))
    .mean())
correct(E, "slices summed over all, divided by B")(
    lambda x: (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum() + ((x[..., 1:] - x[..., :-1]) ** 2)
               .sum()) / len(x))
correct(E, "conv2d with difference kernels")(
    lambda x: (F.conv2d(x.flatten(0, 1)[:, None], torch.tensor([[[[-1.0], [1.0]]]])) ** 2
               + 0).flatten(1).sum(1).view(len(x), -1).sum(1).mean()
    + (F.conv2d(x.flatten(0, 1)[:, None], torch.tensor([[[[-1.0, 1.0]]]])) ** 2)
    .flatten(1).sum(1).view(len(x), -1).sum(1).mean())


# correct variants, ch16: from VAEs to diffusion
E = "ch16.forward_sample"
correct(E, "unsqueeze")(
    lambda x, ab, e: ab.unsqueeze(1).sqrt() * x + (1 - ab).unsqueeze(1).sqrt() * e)
correct(E, "torch.sqrt and view")(
    lambda x, ab, e: torch.sqrt(ab).view(-1, 1) * x + torch.sqrt(1 - ab).view(-1, 1) * e)
correct(E, "einsum")(
    lambda x, ab, e: torch.einsum("b,bd->bd", ab.sqrt(), x)
    + torch.einsum("b,bd->bd", (1 - ab).sqrt(), e))

E = "ch16.step_kl"
correct(E, "torch.distributions, summed")(
    lambda mq, vq, mp, vp: TD.kl_divergence(TD.Normal(mq, vq.sqrt()[:, None].expand_as(mq)),
                                            TD.Normal(mp, vp.sqrt()[:, None].expand_as(mp)))
    .sum(1))
correct(E, "log-variances")(
    lambda mq, vq, mp, vp: 0.5 * (mq.shape[1] * (torch.log(vp) - torch.log(vq) + vq / vp - 1)
                                  + ((mq - mp) ** 2).sum(1) / vp))
correct(E, "per coordinate, then summed")(
    lambda mq, vq, mp, vp: (torch.log(vp.sqrt() / vq.sqrt())[:, None]
                            + (vq[:, None] + (mq - mp) ** 2) / (2 * vp[:, None]) - 0.5).sum(1))

E = "ch16.decoder_mean"
correct(E, "with beta = 1 - alpha")(
    lambda z, e, a, ab: (z - ((1 - a) / (1 - ab).sqrt())[:, None] * e) * a.rsqrt()[:, None])
correct(E, "the posterior mean of the implied image")(
    lambda z, e, a, ab: (
        ((ab / a).sqrt() * (1 - a) / (1 - ab))[:, None]
        * ((z - (1 - ab).sqrt()[:, None] * e) / ab.sqrt()[:, None])
        + (a.sqrt() * (1 - ab / a) / (1 - ab))[:, None] * z))
correct(E, "two steps")(
    lambda z, e, a, ab: (z / a.sqrt()[:, None])
    - ((1 - a) / ((1 - ab).sqrt() * a.sqrt()))[:, None] * e)

E = "ch16.noise_prediction_loss"
correct(E, "mse_loss without reduction")(
    lambda m, x, ab, e: F.mse_loss(m(ab.sqrt()[:, None] * x + (1 - ab).sqrt()[:, None] * e,
                                     ab), e, reduction="none").mean(1))
correct(E, "squared norm over d")(
    lambda m, x, ab, e: torch.linalg.vector_norm(
        e - m(ab.sqrt()[:, None] * x + (1 - ab).sqrt()[:, None] * e, ab), dim=1) ** 2
    / x.shape[1])
correct(E, "mean over the last axis")(
    lambda m, x, ab, e: ((m(ab.sqrt()[:, None] * x + (1 - ab).sqrt()[:, None] * e, ab) - e)
                         ** 2).mean(dim=-1))


# ------------------------------------------------------------- held out
# Written after the checker was finished, and not used to change it: their naming rate is
# measured (see the closing table), only their rejection is required.
H: list[Mistake] = [
    ("ch01.log_normal_diag", "log 2 pi once, in the split form", lambda x, m, lv: -0.5 * (
        (x - m) ** 2 / lv.exp()).sum(-1) - 0.5 * lv.sum(-1) - 0.5 * LOG_2PI, "once"),
    ("ch01.log_normal_diag", "Normal(mean, log_var)", lambda x, m, lv: TD.Normal(
        m, lv).log_prob(x).sum(-1), "log-variance"),
    ("ch01.log_normal_diag", "log sigma for log sigma^2", lambda x, m, lv: -(
        0.5 * (x - m) ** 2 / lv.exp() + 0.25 * lv + 0.5 * LOG_2PI).sum(-1), "normalizer"),
    ("ch02.kl_diag_gaussians", "log of the std ratio", lambda mq, lq, mp, lp: 0.5 * (
        0.5 * (lp - lq) + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1).sum(-1),
     "log(sigma_p^2 / sigma_q^2)"),
    ("ch02.kl_diag_gaussians", "means not squared", lambda mq, lq, mp, lp: 0.5 * (
        lp - lq + (lq.exp() + (mq - mp)) / lp.exp() - 1).sum(-1), "square"),
    ("ch03.elbo_from_samples", "mean over everything", lambda lj, lq: (lj - lq).mean(),
     "averaged"),
    ("ch03.elbo_from_samples", "log q summed, log p averaged",
     lambda lj, lq: lj.mean(0) - lq.sum(0), "log q"),
    ("ch04.kl_to_standard_normal", "the pytorch/examples form, mean", lambda mu, lv: -0.5 * (
        1 + lv - mu ** 2 - lv.exp()).mean(1), "mean over"),
    ("ch04.kl_to_standard_normal", "summed over the batch too", lambda mu, lv: 0.5 * (
        mu ** 2 + lv.exp() - lv - 1).sum(), "summed over the batch"),
    ("ch04.kl_to_standard_normal", "sigma = exp(log_var) throughout", lambda mu, lv: 0.5 * (
        mu ** 2 + lv.exp() ** 2 - 2 * lv - 1).sum(1), "standard deviation"),
    ("ch04.reparameterize", "one scalar draw", lambda mu, lv: mu + lv.exp() ** 0.5
     * torch.randn(1), "shared"),
    ("ch04.reparameterize", "0.5 * exp(log_var) as sigma", lambda mu, lv: mu + 0.5
     * lv.exp() * torch.randn_like(mu), "standard deviation"),
    ("ch04.bernoulli_elbo", "everything summed", lambda x, lg, mu, lv: -F.binary_cross_entropy(
        torch.sigmoid(lg), x, reduction="sum") - _kl4(mu, lv).sum(), "reduction"),
    ("ch04.bernoulli_elbo", "KL averaged over the batch", lambda x, lg, mu, lv: -_nll_pixels(
        lg, x).sum(1) - _kl4(mu, lv).mean(), "KL"),
    ("ch05.iwae_from_log_weights", "log B for log K", lambda lw: torch.logsumexp(lw, 0)
     - math.log(lw.shape[1]), "log K"),
    ("ch06.discriminator_loss", "one BCE over the concatenation", lambda r, f: (
        F.binary_cross_entropy_with_logits(torch.cat([r, f]), torch.cat([
            torch.ones_like(r), torch.zeros_like(f)]))), "1/2"),
    ("ch06.discriminator_loss", "naive log(sigmoid), one mean", lambda r, f: -(torch.log(
        torch.sigmoid(r)) + torch.log(1 - torch.sigmoid(f))).mean(), "logit"),
    ("ch06.generator_loss_nonsaturating", "a new leaf that requires grad", lambda f: _bce(
        f, 1.0).detach().requires_grad_(), "gradient"),
    ("ch06.generator_loss_nonsaturating", "log1p(exp(-a))",
     lambda f: torch.log1p(torch.exp(-f)).mean(), "logit"),
    ("ch07.discriminator_step_loss", "one-sided label smoothing", lambda d, g, real, z: _bce(
        d(real), 0.9) + _bce(d(g(z).detach()), 0.0), "label"),
    ("ch07.discriminator_step_loss", "the fake logits detached", lambda d, g, real, z: _bce(
        d(real), 1.0) + _bce(d(g(z)).detach(), 0.0), "no gradient"),
    ("ch08.gradient_penalty", "one weight for the batch", _gp(lambda r: torch.rand(1)),
     "same weight"),
    ("ch08.gradient_penalty", "at the generated samples", _gp(torch.zeros_like),
     "interpolates"),
    ("ch09.frechet_distance", "np.sqrt of the product", lambda m1, s1, m2, s2: float(
        ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * np.sqrt(s1 @ s2))), "elementwise"),
    ("ch09.mmd2_unbiased", "k_xy divided by n^2", lambda a, b, c: _off(a) / (len(a) * (
        len(a) - 1)) + _off(b) / (len(b) * (len(b) - 1)) - 2 * c.sum() / len(a) ** 2, "k_xy"),
    ("ch10.class_total_variation", "divided by K, not N", lambda lb, k: float(0.5 * (
        torch.bincount(lb, minlength=k) / k - 1 / k).abs().sum()), "fractions"),
    ("ch11.feature_distance", "cdist", lambda a, b: 0.5 * torch.cdist(a, b).diag(), "square"),
    ("ch12.roc_auc", "scores negated", lambda s, t: roc_auc_score(t.numpy(), -s.numpy()),
     "orientation"),
    ("ch12.roc_auc", "means compared", lambda s, t: float(s[t].mean() > s[~t].mean()),
     "pairs"),
]

# A second held-out set, written on 2026-12-07 before the checker's diagnoses were widened
# for the first one's unnamed cases (which made the first set no longer held out). Its
# naming rate is the honest measure of how the diagnoses generalize; it is printed, and
# only its rejection is required.
H2: list[Mistake] = [
    ("ch01.log_normal_diag", "variance where log-variance belongs in the normalizer",
     lambda x, m, lv: -0.5 * ((x - m) ** 2 / lv.exp() + lv.exp() + LOG_2PI).sum(-1), "variance"),
    ("ch01.log_normal_diag", "the quadratic term without the 1/2",
     lambda x, m, lv: -((x - m) ** 2 / lv.exp()).sum(-1) - 0.5 * (lv + LOG_2PI).sum(-1), "1/2"),
    ("ch01.log_binomial", "binomial coefficient forgotten", lambda k, n, lg: (
        k * F.logsigmoid(lg) + (n - k) * F.logsigmoid(-lg)).sum(-1), "coefficient"),
    ("ch01.log_binomial", "mean over the last axis", lambda k, n, lg: (
        torch.lgamma(torch.tensor(n + 1.0)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
        + k * F.logsigmoid(lg) + (n - k) * F.logsigmoid(-lg)).mean(-1), "mean"),
    ("ch01.mle_step", "gradient ascent", lambda th, x, lr: th + lr * torch.stack([
        -((x - th[0]) / th[1].exp()).mean(0),
        0.5 * (1 - (x - th[0]) ** 2 / th[1].exp()).mean(0)]), "sign"),
    ("ch02.kl_diag_gaussians", "variance ratio not divided", lambda mq, lq, mp, lp: 0.5 * (
        lp - lq + lq.exp() + (mq - mp) ** 2 / lp.exp() - 1).sum(-1), "variance"),
    ("ch02.kl_diag_gaussians", "the -1 once", lambda mq, lq, mp, lp: 0.5 * (
        lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp()).sum(-1) - 0.5, "once"),
    ("ch02.kl_on_grid", "dx forgotten", lambda p, q, dx: (torch.xlogy(p, p)
                                                         - torch.xlogy(p, q)).sum(), "dx"),
    ("ch02.jsd_on_grid", "KL(p||q) halves instead of the mixture", lambda p, q, dx: 0.5 * (
        torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx + 0.5 * (
        torch.xlogy(q, q) - torch.xlogy(q, p)).sum() * dx, "mixture"),
    ("ch03.elbo_from_samples", "log q added", lambda lj, lq: (lj + lq).mean(0), "sign"),
    ("ch03.elbo_from_samples", "mean over the batch axis", lambda lj, lq: (lj - lq).mean(1),
     "axis"),
    ("ch03.kl_monte_carlo", "log p without the square", lambda z, mu, lv: (
        -0.5 * ((z - mu) ** 2 / lv.exp() + lv + LOG_2PI).sum(-1)
        + 0.5 * (z + LOG_2PI).sum(-1)).mean(0), "square"),
    ("ch04.kl_to_standard_normal", "1 + log_var - mu^2 - exp(log_var), no -1/2",
     lambda mu, lv: (1 + lv - mu ** 2 - lv.exp()).sum(1), "1/2"),
    ("ch04.kl_to_standard_normal", "log_var.exp() for exp(log_var)^2 mixup in the trace",
     lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1).sum(1), "standard deviation"),
    ("ch04.reparameterize", "mu + eps * log_var", lambda mu, lv: mu + torch.randn_like(mu) * lv,
     "log-variance"),
    ("ch04.bernoulli_elbo", "the KL with a plus sign, BCE as reconstruction",
     lambda x, lg, mu, lv: F.binary_cross_entropy_with_logits(lg, x, reduction="none")
     .flatten(1).sum(1) + _kl4(mu, lv), "sign"),
    ("ch05.iwae_from_log_weights", "mean of logs (the ELBO)", lambda lw: lw.mean(0), "ELBO"),
    ("ch05.iwae_from_log_weights", "logsumexp over the batch axis",
     lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]), "axis"),
    ("ch05.free_bits_kl", "clamped per example, not per batch mean",
     lambda kl, fb: kl.clamp_min(fb).mean(0).sum(), "batch"),
    ("ch05.importance_weights", "softmax over the batch axis",
     lambda lw: torch.softmax(lw, dim=1), "axis"),
    ("ch06.discriminator_loss", "fake labelled 1", lambda r, f: _bce(r, 1.0) + _bce(f, 1.0),
     "label"),
    ("ch06.discriminator_loss_hinge", "relu(1 - fake)", lambda r, f: F.relu(1 - r).mean()
     + F.relu(1 - f).mean(), "sign"),
    ("ch06.generator_loss_nonsaturating", "the saturating loss", lambda f: -F.softplus(
        f).mean(), "saturating"),
    ("ch07.generator_step_loss", "the generator's output detached", lambda d, g, z: _bce(
        d(g(z).detach()), 1.0), "gradient"),
    ("ch08.r1_penalty", "the norm, not its square", lambda d, real: torch.autograd.grad(
        d(real.requires_grad_(True)).sum(), real, create_graph=True)[0].flatten(1).norm(
        dim=1).mean(), "square"),
    ("ch09.frechet_distance", "means' distance not squared", lambda m1, s1, m2, s2: float(
        np.linalg.norm(m1 - m2) + np.trace(s1 + s2 - 2 * _sqrtm_sym(
            _sqrtm_sym(s1) @ s2 @ _sqrtm_sym(s1)))), "square"),
    ("ch09.mmd2_unbiased", "the cross term added", lambda a, b, c: _off(a) / (len(a) * (
        len(a) - 1)) + _off(b) / (len(b) * (len(b) - 1)) + 2 * c.mean(), "sign"),
    ("ch10.class_total_variation", "without the 1/2", lambda lb, k: float((torch.bincount(
        lb, minlength=k) / len(lb) - 1 / k).abs().sum()), "1/2"),
    ("ch10.knn_radii", "the k-th column counting the point itself", lambda f, k: np.sort(
        scipy.spatial.distance.cdist(f, f), axis=1)[:, k - 1], "itself"),
    ("ch11.feature_distance", "mean over features", lambda a, b: 0.5 * (a - b).pow(2).mean(1),
     "mean"),
    ("ch12.gram_matrix", "not divided by H W", lambda f: f.flatten(2) @ f.flatten(
        2).transpose(1, 2), "H W"),
    ("ch12.pix2pix_generator_loss", "L2 instead of L1", lambda fl, fake, tgt, lam: _bce(
        fl, 1.0) + lam * ((fake - tgt) ** 2).mean(), "L1"),
]

H_CORRECT: list[tuple[str, str, Callable]] = [
    ("ch05.iwae_from_log_weights", "one global max shift",
     lambda lw: torch.log(torch.mean(torch.exp(lw - lw.max()), 0)) + lw.max()),
    ("ch06.discriminator_loss", "one summed BCE over the concatenation, / B", lambda r, f: (
        F.binary_cross_entropy_with_logits(torch.cat([r, f]), torch.cat([
            torch.ones_like(r), torch.zeros_like(f)]), reduction="sum") / len(r))),
    ("ch04.kl_to_standard_normal", "Independent kl_divergence", lambda mu, lv: TD.kl_divergence(
        TD.Independent(TD.Normal(mu, (0.5 * lv).exp()), 1),
        TD.Independent(TD.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1))),
    ("ch01.log_normal_diag", "log(2 pi sigma^2)", lambda x, m, lv: -0.5 * (torch.log(
        2 * math.pi * lv.exp()) + (x - m) ** 2 / lv.exp()).sum(-1)),
    ("ch08.gradient_penalty", "grad_outputs of ones", _gp_grad_outputs),
    ("ch12.roc_auc", "lists to roc_auc_score", lambda s, t: roc_auc_score(t.int().tolist(),
                                                                          s.tolist())),
    ("ch09.frechet_distance", "sqrtm of s1.dot(s2), real_if_close", lambda m1, s1, m2, s2: float(
        np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(np.real_if_close(
            scipy.linalg.sqrtm(s1.dot(s2)), tol=1e6)).real)),
    ("ch10.class_total_variation", "numpy bincount", lambda lb, k: float(np.abs(np.bincount(
        lb.numpy(), minlength=k) / len(lb) - 1 / k).sum() / 2)),
]


# ------------------------------------------------------------------- the tests
def classify(exercise: str, fn: Callable, words: str) -> str:
    """"named", "unnamed", "accepted" (a wrong function passed) or "crash"."""
    try:
        result = run_check(EXERCISES[exercise], fn)
    except Exception as error:  # noqa: BLE001 -- counted, never raised
        return f"crash: {type(error).__name__}: {error}"
    if result.status == PASSED:
        return "accepted"
    return "named" if words.lower() in result.message.lower() else "unnamed"


@pytest.mark.parametrize("exercise, what, fn, words", M, ids=[f"{m[0]}: {m[1]}" for m in M])
def test_every_mistake_is_rejected_without_a_crash(exercise, what, fn, words) -> None:
    outcome = classify(exercise, fn, words)
    assert outcome in ("named", "unnamed"), outcome


@pytest.mark.parametrize("exercise, what, fn", C, ids=[f"{c[0]}: {c[1]}" for c in C])
def test_no_correct_variant_is_refused(exercise, what, fn) -> None:
    result = run_check(EXERCISES[exercise], fn)
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise, what, fn, words", H, ids=[f"{m[0]}: {m[1]}" for m in H])
def test_every_held_out_mistake_is_rejected_without_a_crash(exercise, what, fn, words) -> None:
    outcome = classify(exercise, fn, words)
    assert outcome in ("named", "unnamed"), outcome


@pytest.mark.parametrize("exercise, what, fn, words", H2, ids=[f"{m[0]}: {m[1]}" for m in H2])
def test_every_second_held_out_mistake_is_rejected_without_a_crash(exercise, what, fn,
                                                                    words) -> None:
    outcome = classify(exercise, fn, words)
    assert outcome in ("named", "unnamed"), outcome


@pytest.mark.parametrize("exercise, what, fn", H_CORRECT,
                         ids=[f"{c[0]}: {c[1]}" for c in H_CORRECT])
def test_no_held_out_correct_variant_is_refused(exercise, what, fn) -> None:
    result = run_check(EXERCISES[exercise], fn)
    assert result.status == PASSED, result.message


def test_the_set_covers_every_exercise() -> None:
    mistakes, variants = Counter(m[0] for m in M), Counter(c[0] for c in C)
    assert len(M) >= 60
    for exercise in EXERCISES:
        assert mistakes[exercise] >= 3, exercise
        assert variants[exercise] >= 3, exercise


def counts() -> dict[str, Counter]:
    """Per exercise: how many of the set's mistakes are named, unnamed, accepted, crash."""
    table: dict[str, Counter] = {ex: Counter() for ex in EXERCISES}
    for exercise, _, fn, words in M:
        table[exercise][classify(exercise, fn, words).split(":")[0]] += 1
    for exercise, _, fn in C:
        table[exercise]["refused" if not run_check(EXERCISES[exercise], fn).passed
                        else "variants"] += 1
    return table


def test_at_least_70_percent_of_the_mistakes_are_named() -> None:
    named = sum(classify(e, fn, w) == "named" for e, _, fn, w in M)
    assert named >= 0.7 * len(M), f"{named} of {len(M)} named"


# The cases the issue promised to catch, by the words their message must contain.
PROMISED = [
    ("ch04.kl_to_standard_normal", "returned a detached tensor", "gradient"),
    ("ch06.discriminator_loss", "returned loss.item()", "gradient"),
    ("ch06.generator_loss_nonsaturating", "computed under torch.no_grad()", "gradient"),
    ("ch04.reparameterize", "seeds the generator inside", "seed"),
    ("ch04.reparameterize", "one noise draw shared across the batch", "shared"),
    ("ch06.discriminator_loss", "naive log(sigmoid)", "logit"),
    ("ch06.generator_loss_nonsaturating", "naive -log(sigmoid)", "logit"),
    ("ch04.bernoulli_elbo", "naive log(sigmoid)", "logit"),
    ("ch06.discriminator_loss", "returned (loss_real, loss_fake)", "tuple"),
    ("ch08.gradient_penalty", "returned (penalty, norm)", "tuple"),
    ("ch04.kl_to_standard_normal", "returned (kl, per_dim)", "tuple"),
    ("ch06.generator_loss_nonsaturating", "BCE against the fake label 0", "label"),
]


@pytest.mark.parametrize("exercise, what, words", PROMISED, ids=[p[1] for p in PROMISED])
def test_promised_cases_are_named(exercise, what, words) -> None:
    fn = next(m[2] for m in M if m[0] == exercise and m[1] == what)
    result = run_check(EXERCISES[exercise], fn)
    assert result.status == FAILED and words.lower() in result.message.lower(), result.message


if __name__ == "__main__":  # the table of the closing note
    held = Counter(classify(e, fn, w).split(":")[0] for e, _, fn, w in H)
    refused = sum(not run_check(EXERCISES[e], fn).passed for e, _, fn in H_CORRECT)
    print(f"held out: {dict(held)} of {len(H)}; correct variants refused: {refused} of "
          f"{len(H_CORRECT)}")
    for e, what, fn, w in H:
        print(f"  {classify(e, fn, w).split(':')[0]:8s} {e}: {what}")
    held2 = Counter(classify(e, fn, w).split(":")[0] for e, _, fn, w in H2)
    print(f"second held-out set: {dict(held2)} of {len(H2)}")
    for e, what, fn, w in H2:
        print(f"  {classify(e, fn, w).split(':')[0]:8s} {e}: {what}")
    rows = counts()
    print(f"{'exercise':40s} named unnamed accepted crash variants refused")
    for exercise, c in rows.items():
        print(f"{exercise:40s} {c['named']:5d} {c['unnamed']:7d} {c['accepted']:8d} "
              f"{c['crash']:5d} {c['variants']:8d} {c['refused']:7d}")
    total = sum(rows.values(), Counter())
    print(f"{'total':40s} {total['named']:5d} {total['unnamed']:7d} {total['accepted']:8d} "
          f"{total['crash']:5d} {total['variants']:8d} {total['refused']:7d}")
