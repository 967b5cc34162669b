"""Chapter 1's exercise: the log-density of a diagonal Gaussian."""

from __future__ import annotations

import math

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise
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
             unsquared=lambda q: (q["x"] - q["mean"]).abs() / q["var"]),
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
