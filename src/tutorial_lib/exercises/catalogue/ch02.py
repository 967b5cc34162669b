"""Chapter 2's exercise: the KL divergence between two diagonal Gaussians."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, gaussian, mean_for_sum


def kl_diag_gaussians(mu_q: torch.Tensor, log_var_q: torch.Tensor, mu_p: torch.Tensor,
                      log_var_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, diag e^{log_var_q}) || N(mu_p, diag e^{log_var_p})) per row: (B, d) -> (B,)."""
    return 0.5 * (log_var_p - log_var_q
                  + (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp() - 1.0).sum(-1)


def _cases_kl_two() -> list[Case]:
    gen, out = seeded(2), []
    for b, d in SHAPES:
        args = (randn(gen, b, d), uniform(gen, b, d, low=-1.5, high=1.5),
                randn(gen, b, d), uniform(gen, b, d, low=0.3, high=1.5))
        out.append(Case(args, f"four tensors of shape ({b}, {d})", b))
    return out


def _diagnosis_cases() -> list[Case]:
    """Positive log-variances, where log(log_var) is defined (see chapter 1's)."""
    gen = seeded(102)
    return [Case((randn(gen, b, d), uniform(gen, b, d, low=0.2, high=1.5),
                  randn(gen, b, d), uniform(gen, b, d, low=0.3, high=1.5)),
                 f"four tensors of shape ({b}, {d}), log-variances > 0", b) for b, d in SHAPES]


FORMULA = Formula(
    quantities=lambda mu_q, log_var_q, mu_p, log_var_p: {
        "mu_q": mu_q, "mu_p": mu_p, **gaussian(log_var_q, "_q"), **gaussian(log_var_p, "_p")},
    terms=(
        Term("log(sigma_p^2 / sigma_q^2) = log_var_p - log_var_q",
             lambda q: q["log_var_p"] - q["log_var_q"], 0.5),
        Term("sigma_q^2 / sigma_p^2", lambda q: q["var_q"] / q["var_p"], 0.5),
        Term("(mu_q - mu_p)^2 / sigma_p^2 (the distance of the means)",
             lambda q: (q["mu_q"] - q["mu_p"]) ** 2 / q["var_p"], 0.5,
             unsquared=lambda q: (q["mu_q"] - q["mu_p"]).abs() / q["var_p"]),
        Term("-1", lambda q: 1.0, -0.5, constant=True),
    ),
    reduce=lambda t: t.sum(-1),
    wrong_reductions=(mean_for_sum("dimensions", "for independent coordinates the KL is "
                                   "the sum of the per-dimension KLs"),),
    reduced_over="the d dimensions",
    gaussians=("_q", "_p"),
    swap=("_q", "_p"),
)


KL_TWO = Exercise(
    id="ch02.kl_diag_gaussians",
    title="KL divergence between two diagonal Gaussians",
    signature="kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p) -> (B,)",
    reference=kl_diag_gaussians,
    cases=_cases_kl_two,
    formula=FORMULA,
    diagnosis_cases=_diagnosis_cases,
    grad_args=(0, 1, 2, 3),
    mistakes=(
        Mistake("you computed KL(p || q), with the two Gaussians swapped: KL is not "
                "symmetric; the first argument q is the one the expectation is under",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mp, lp, mq, lq)),
    ),
    confirmation="Compare with torch.distributions.kl_divergence on two Independent Normals.",
)
