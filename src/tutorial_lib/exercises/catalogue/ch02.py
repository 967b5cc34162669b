"""Chapter 2's exercises: the KL divergence between two diagonal Gaussians, and the KL
and Jensen-Shannon divergences of densities on a grid."""

from __future__ import annotations

import math
from collections.abc import Callable

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
             unsquared=lambda q: (q["mu_q"] - q["mu_p"]) / q["var_p"]),
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


def kl_on_grid(p: torch.Tensor, q: torch.Tensor, dx: float) -> torch.Tensor:
    """KL(p || q) of two densities tabulated on a uniform grid of spacing dx: (N,) -> ().
    Where p = 0 the integrand is 0 (0 log 0 = 0), whatever q is."""
    return torch.xlogy(p, p).sub(torch.xlogy(p, q)).sum() * dx


def jsd_on_grid(p: torch.Tensor, q: torch.Tensor, dx: float) -> torch.Tensor:
    """The Jensen-Shannon divergence 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, of
    two densities on a grid: (N,) -> (), in nats (at most log 2)."""
    m = 0.5 * (p + q)
    return 0.5 * kl_on_grid(p, m, dx) + 0.5 * kl_on_grid(q, m, dx)


def _cases_grid() -> list[Case]:
    out = []
    for n, (mp, sp), (mq, sq) in ((201, (0.0, 1.0), (1.0, 0.7)), (301, (-1.0, 0.5), (1.5, 1.2)),
                                  (151, (0.5, 0.8), (0.0, 2.0))):
        x = torch.linspace(-6.0, 6.0, n, dtype=torch.float64)
        dx = float(x[1] - x[0])
        p = torch.exp(-0.5 * ((x - mp) / sp) ** 2) / (sp * (2 * torch.pi) ** 0.5)
        q = torch.exp(-0.5 * ((x - mq) / sq) ** 2) / (sq * (2 * torch.pi) ** 0.5)
        out.append(Case((p, q, dx), f"two Gaussian densities on {n} grid points", n))
    x = torch.linspace(0.0, 2.0, 101, dtype=torch.float64)
    p = torch.where(x < 1.0, torch.ones_like(x), torch.zeros_like(x))  # U[0, 1): zeros
    q = torch.full_like(x, 0.5)
    out.append(Case((p, q, float(x[1] - x[0])), "p = U[0, 1), zero on half the grid", 101,
                    extreme=True))
    return out


_ZERO_MASS = ("Where p(x) = 0 the integrand p log(p / q) is 0 (0 log 0 = 0), but "
              "p * torch.log(p) gives 0 * (-inf) = NaN: use torch.xlogy(p, p / q), or sum only "
              "where p > 0")


def _kl_terms(p: str, q: str) -> Callable[[dict], torch.Tensor]:
    return lambda v: torch.xlogy(v[p], v[p]).sub(torch.xlogy(v[p], v[q])).sum() * v["dx"]


KL_GRID = Exercise(
    id="ch02.kl_on_grid",
    title="KL(p || q) of two densities on a grid",
    signature="kl_on_grid(p, q, dx) -> scalar",
    reference=kl_on_grid,
    cases=_cases_grid,
    output="scalar",
    formula=Formula(
        quantities=lambda p, q, dx: {"p": p, "q": q, "dx": dx},
        terms=(Term("sum p log p dx", lambda v: torch.xlogy(v["p"], v["p"]).sum() * v["dx"]),
               Term("-sum p log q dx", lambda v: torch.xlogy(v["p"], v["q"]).sum() * v["dx"],
                    -1.0)),
        swap=("p", "q"),
    ),
    grad_args=(0, 1),
    unstable_hint=_ZERO_MASS,
    mistakes=(
        Mistake("you computed KL(q || p): the expectation is under p, the first argument",
                lambda p, q, dx: kl_on_grid(q, p, dx)),
        Mistake("the grid spacing dx is missing: an integral on a grid is sum f(x_i) dx",
                lambda p, q, dx: kl_on_grid(p, q, dx) / dx),
        Mistake("you averaged over the grid points: the integral is sum f(x_i) dx, not the "
                "mean of f(x_i)", lambda p, q, dx: kl_on_grid(p, q, dx) / dx / len(p)),
        Mistake("log base 2: the chapter measures divergences in nats, the natural log",
                lambda p, q, dx: kl_on_grid(p, q, dx) / math.log(2)),
    ),
)


JSD_GRID = Exercise(
    id="ch02.jsd_on_grid",
    title="the Jensen-Shannon divergence on a grid",
    signature="jsd_on_grid(p, q, dx) -> scalar",
    reference=jsd_on_grid,
    cases=_cases_grid,
    output="scalar",
    formula=Formula(
        quantities=lambda p, q, dx: {"p": p, "q": q, "m": 0.5 * (p + q), "dx": dx},
        terms=(Term("1/2 KL(p || m)", _kl_terms("p", "m"), 0.5,
                    alternatives=(("KL(m || p) where KL(p || m) belongs: the mixture m is "
                                   "the second argument", _kl_terms("m", "p")),)),
               Term("1/2 KL(q || m)", _kl_terms("q", "m"), 0.5,
                    alternatives=(("KL(m || q) where KL(q || m) belongs: the mixture m is "
                                   "the second argument", _kl_terms("m", "q")),))),
    ),
    grad_args=(0, 1),
    unstable_hint=_ZERO_MASS,
    mistakes=(
        Mistake("the mixture is p + q, not the density m = (p + q) / 2: it must integrate "
                "to 1", lambda p, q, dx: 0.5 * kl_on_grid(p, p + q, dx)
                + 0.5 * kl_on_grid(q, p + q, dx)),
        Mistake("that is KL(p || q), not the Jensen-Shannon divergence: compare both p and q "
                "with their mixture m = (p + q) / 2", kl_on_grid),
        Mistake("the grid spacing dx is missing: an integral on a grid is sum f(x_i) dx",
                lambda p, q, dx: jsd_on_grid(p, q, dx) / dx),
        Mistake("log base 2: the chapter measures divergences in nats (at most log 2)",
                lambda p, q, dx: jsd_on_grid(p, q, dx) / math.log(2)),
    ),
    confirmation="It is symmetric, and at most log 2 = 0.693 nats.",
)
