"""Chapter 1's exercises: the log-density of a diagonal Gaussian, the binomial
log-likelihood from logits, and one gradient step of maximum likelihood."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tutorial_lib.exercises.catalogue.common import (
    SHAPES,
    UNSTABLE_LOGITS,
    extreme_logits,
    randn,
    seeded,
    uniform,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, gaussian, mean_for_sum
from tutorial_lib.vae.gaussian import log_normal_diag

LOG_2PI = math.log(2 * math.pi)


def _cases_log_normal() -> list[Case]:
    gen, out = seeded(1), []
    for b, d in SHAPES:
        x, mean = randn(gen, b, d), randn(gen, b, d)
        log_var = uniform(gen, b, d, low=-2.0, high=2.0)
        out.append(Case((x, mean, log_var), f"x, mean, log_var of shape ({b}, {d})", b))
    return out


def _diagnosis_cases() -> list[Case]:
    """Positive log-variances, where log(log_var) is defined: a student who takes log_var
    for the variance (with a clamp or an abs against the NaN) is told apart there."""
    gen = seeded(101)
    return [Case((randn(gen, b, d), randn(gen, b, d), uniform(gen, b, d, low=0.2, high=1.5)),
                 f"x, mean, log_var > 0 of shape ({b}, {d})", b) for b, d in SHAPES]


FORMULA = Formula(
    quantities=lambda x, mean, log_var: {"x": x, "mean": mean, **gaussian(log_var)},
    terms=(
        Term("-(x - mean)^2 / (2 sigma^2) (the squared error)",
             lambda q: (q["x"] - q["mean"]) ** 2 / q["var"], -0.5,
             unsquared=lambda q: (q["x"] - q["mean"]) / q["var"]),
        Term("-1/2 log sigma^2 = -log_var / 2 (the normalizer)", lambda q: q["log_var"], -0.5),
        Term("-1/2 log(2 pi)", lambda q: LOG_2PI, -0.5, constant=True),
    ),
    reduce=lambda t: t.sum(-1),
    wrong_reductions=(mean_for_sum("dimensions", "the coordinates are independent, so "
                                   "the density is a product and its log a sum"),),
    reduced_over="the d dimensions",
    gaussians=("",),
)


LOG_NORMAL = Exercise(
    id="ch01.log_normal_diag",
    title="log-density of a diagonal Gaussian",
    signature="log_normal_diag(x, mean, log_var) -> (B,)",
    reference=log_normal_diag,
    cases=_cases_log_normal,
    formula=FORMULA,
    diagnosis_cases=_diagnosis_cases,
    grad_args=(0, 1, 2),
    confirmation="Compare: torch.distributions.Normal(mean, (0.5 * log_var).exp())"
                 ".log_prob(x).sum(-1).",
)


def log_binomial(k: torch.Tensor, n: int, logits: torch.Tensor) -> torch.Tensor:
    """log Binomial(k; n, sigmoid(logits)) summed over the last axis, from logits:
    (B, d), int, (B, d) -> (B,). Stable at any logit: log sigmoid(a) = F.logsigmoid(a)."""
    log_choose = (torch.lgamma(torch.tensor(n + 1.0)) - torch.lgamma(k + 1)
                  - torch.lgamma(n - k + 1))
    return (log_choose + k * F.logsigmoid(logits) + (n - k) * F.logsigmoid(-logits)).sum(-1)


def _cases_binomial() -> list[Case]:
    gen, out = seeded(111), []
    for (b, d), n in zip(SHAPES, (4, 10, 7), strict=True):
        k = torch.randint(0, n + 1, (b, d), generator=gen).float()
        out.append(Case((k, n, randn(gen, b, d, scale=2.0)),
                        f"k of shape ({b}, {d}) out of n = {n}, logits ({b}, {d})", b))
    k = torch.randint(0, 6, (4, 6), generator=gen).float()
    out.append(Case((k, 5, extreme_logits(gen, 4, 6)),
                    "logits of size 25 to 120, both signs, shape (4, 6)", 4, extreme=True))
    return out


BINOMIAL_FORMULA = Formula(
    quantities=lambda k, n, logits: {"k": k, "n": float(n), "a": logits},
    terms=(
        Term("log C(n, k) (the binomial coefficient)", lambda q: torch.lgamma(
            torch.tensor(q["n"] + 1.0)) - torch.lgamma(q["k"] + 1) - torch.lgamma(
            q["n"] - q["k"] + 1)),
        Term("k log sigmoid(a) (the successes)", lambda q: q["k"] * F.logsigmoid(q["a"])),
        Term("(n - k) log(1 - sigmoid(a)) (the failures)",
             lambda q: (q["n"] - q["k"]) * F.logsigmoid(-q["a"]),
             alternatives=(("log(1 - sigmoid(a)) is log sigmoid(-a), not -log sigmoid(a)",
                            lambda q: -(q["n"] - q["k"]) * F.logsigmoid(q["a"])),
                           ("the failures are counted n times, not n - k times",
                            lambda q: q["n"] * F.logsigmoid(-q["a"])))),
    ),
    reduce=lambda t: t.sum(-1),
    wrong_reductions=(mean_for_sum("dimensions", "the coordinates are independent"),),
    reduced_over="the d dimensions",
)


LOG_BINOMIAL = Exercise(
    id="ch01.log_binomial",
    title="the binomial log-likelihood from logits",
    signature="log_binomial(k, n, logits) -> (B,)",
    reference=log_binomial,
    cases=_cases_binomial,
    formula=BINOMIAL_FORMULA,
    grad_args=(2,),
    unstable_hint=UNSTABLE_LOGITS,
    confirmation="Compare: torch.distributions.Binomial(n, logits=logits).log_prob(k).sum(-1).",
)


def mle_step(theta: torch.Tensor, x: torch.Tensor, lr: float) -> torch.Tensor:
    """One step of gradient descent on the average negative log-likelihood of a diagonal
    Gaussian: theta (2, d) holds the mean (row 0) and the log-variance (row 1); x (B, d).
    Returns the updated theta (2, d), a new tensor."""
    mean, log_var = theta[0], theta[1]
    var = log_var.exp()
    grad_mean = -((x - mean) / var).mean(0)  # d NLL / d mean
    grad_log_var = 0.5 * (1 - (x - mean) ** 2 / var).mean(0)  # d NLL / d log_var
    return theta - lr * torch.stack([grad_mean, grad_log_var])


def _cases_mle_step() -> list[Case]:
    gen, out = seeded(112), []
    for (b, d), lr in zip(SHAPES, (0.1, 0.05, 0.3), strict=True):
        theta = torch.stack([randn(gen, d), uniform(gen, d, low=-1.0, high=1.0)])
        out.append(Case((theta, randn(gen, b, d, scale=1.5, shift=0.5), lr),
                        f"theta (2, {d}), x ({b}, {d}), lr = {lr}", b))
    return out


def _mle_gradient(theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (theta - mle_step(theta, x, 1.0))


MLE_STEP = Exercise(
    id="ch01.mle_step",
    title="one gradient step of maximum likelihood",
    signature="mle_step(theta, x, lr) -> (2, d)",
    reference=mle_step,
    cases=_cases_mle_step,
    output="array",
    generic=False,
    mistakes=(
        Mistake("the step goes up the negative log-likelihood: gradient DEscent subtracts, "
                "theta - lr * grad", lambda th, x, lr: th + lr * _mle_gradient(th, x)),
        Mistake("the step is B times too large: the negative log-likelihood was summed over "
                "the batch where the chapter averages it",
                lambda th, x, lr: th - lr * len(x) * _mle_gradient(th, x)),
        Mistake("the learning rate is missing: theta - lr * grad",
                lambda th, x, lr: th - _mle_gradient(th, x)),
        Mistake("you returned the gradient, not the updated parameters theta - lr * grad",
                lambda th, x, lr: _mle_gradient(th, x)),
        Mistake("only the mean takes its step: the log-variance row theta[1] must be "
                "updated too",
                lambda th, x, lr: torch.stack([mle_step(th, x, lr)[0], th[1]])),
    ),
    confirmation="The step lowers the average negative log-likelihood for a small lr.",
)
