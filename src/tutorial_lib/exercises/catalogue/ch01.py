"""Chapter 1's exercise: the log-density of a diagonal Gaussian."""

from __future__ import annotations

import math

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.vae.gaussian import log_normal_diag

LOG_2PI = math.log(2 * math.pi)


def _cases_log_normal() -> list[Case]:
    gen, out = seeded(1), []
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
