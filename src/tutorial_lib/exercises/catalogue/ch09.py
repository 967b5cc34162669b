"""Chapter 9's exercises: the Frechet distance between two Gaussians, the unbiased MMD^2
at the core of KID, and the trace of the matrix square root, computed stably."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.exercises.integrity import NUMBER
from tutorial_lib.metrics.frechet import frechet_distance, trace_sqrt_product
from tutorial_lib.metrics.kid import mmd2_unbiased_from_kernels


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


def _frechet_terms(mu1, s1, mu2, s2, *, cross: float = 2.0, trace_of=None):
    diff = np.sum((mu1 - mu2) ** 2)
    root = trace_of(s1, s2) if trace_of else np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    return diff + np.trace(s1) + np.trace(s2) - cross * root


FRECHET_FORMULA = Formula(
    quantities=lambda mu1, sigma1, mu2, sigma2: {"mu1": mu1, "s1": sigma1, "mu2": mu2,
                                                 "s2": sigma2},
    terms=(
        Term("||mu_1 - mu_2||^2", lambda q: np.sum((q["mu1"] - q["mu2"]) ** 2),
             unsquared=lambda q: np.linalg.norm(q["mu1"] - q["mu2"])),
        Term("tr(Sigma_1)", lambda q: np.trace(q["s1"])),
        Term("tr(Sigma_2)", lambda q: np.trace(q["s2"])),
        Term("-2 tr((Sigma_1 Sigma_2)^{1/2})",
             lambda q: np.trace(scipy.linalg.sqrtm(q["s1"] @ q["s2"])).real, -2.0),
    ),
)


FRECHET = Exercise(
    id="ch09.frechet_distance",
    title="the Frechet distance between two Gaussians",
    signature="frechet_distance(mu1, sigma1, mu2, sigma2) -> float",
    reference=frechet_distance,
    cases=_cases_frechet,
    output="scalar",
    returns=NUMBER,
    formula=FRECHET_FORMULA,
    rtol=1e-3,
    mistakes=(
        Mistake("the factor 2 in front of tr((Sigma_1 Sigma_2)^{1/2}) is missing",
                lambda *a: _frechet_terms(*a, cross=1.0)),
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
        Mistake("you returned the distance; the Frechet distance used by FID is its square "
                "d^2 = ||mu_1 - mu_2||^2 + tr(...)",
                lambda *a: math.sqrt(max(frechet_distance(*a), 0.0))),
    ),
    unstable_hint="a matrix square root of a product that is not symmetric can come back "
                  "complex or NaN in floating point: take the real part of scipy.linalg.sqrtm, "
                  "or use the symmetric form (Sigma_1^{1/2} Sigma_2 Sigma_1^{1/2})^{1/2}",
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


def _off_diagonal_mean(k: np.ndarray) -> float:
    return float((k.sum() - np.trace(k)) / (len(k) * (len(k) - 1)))


MMD_FORMULA = Formula(
    quantities=lambda k_xx, k_yy, k_xy: {"k_xx": k_xx, "k_yy": k_yy, "k_xy": k_xy},
    terms=(
        Term("k_xx averaged over the n(n - 1) pairs i != j",
             lambda q: _off_diagonal_mean(q["k_xx"])),
        Term("k_yy averaged over the m(m - 1) pairs i != j",
             lambda q: _off_diagonal_mean(q["k_yy"])),
        Term("-2 k_xy averaged over all n m pairs", lambda q: float(q["k_xy"].mean()), -2.0,
             alternatives=(("the diagonal is also removed from k_xy: x_i and y_j are "
                            "different samples, so every one of the n m pairs counts, "
                            "k_xy.mean()",
                            lambda q: float((q["k_xy"].sum() - np.trace(q["k_xy"]))
                                            / q["k_xy"].size)),)),
    ),
)


MMD = Exercise(
    id="ch09.mmd2_unbiased",
    title="the unbiased estimate of MMD^2 (the core of KID)",
    signature="mmd2_unbiased(k_xx, k_yy, k_xy) -> float",
    reference=mmd2_unbiased_from_kernels,
    cases=_cases_mmd,
    output="scalar",
    returns=NUMBER,
    formula=MMD_FORMULA,
    mistakes=(
        Mistake("you kept the diagonal terms k(x_i, x_i): that is the biased estimator; "
                "average over the n(n - 1) pairs i != j", _mmd_biased),
        Mistake("after removing the diagonal, divide by the n(n - 1) remaining pairs, "
                "not by n^2",
                lambda kx, ky, kxy: float((kx.sum() - np.trace(kx)) / len(kx) ** 2
                                          + (ky.sum() - np.trace(ky)) / len(ky) ** 2
                                          - 2 * kxy.mean())),
    ),
)


def _cases_trace_sqrt() -> list[Case]:
    rng, out = np.random.default_rng(91), []
    for d in (3, 6, 9):
        out.append(Case((_random_covariance(rng, d), _random_covariance(rng, d)),
                        f"two covariances ({d}, {d})"))
    a = rng.standard_normal((8, 3))  # rank 3 of 8: singular, as covariances of dead units are
    out.append(Case((a @ a.T, _random_covariance(rng, 8)), "a singular covariance (8, 8)"))
    return out


TRACE_SQRT = Exercise(
    id="ch09.trace_sqrt_product",
    title="tr((Sigma_1 Sigma_2)^{1/2}) by the symmetric square root",
    signature="trace_sqrt_product(sigma1, sigma2) -> float",
    reference=trace_sqrt_product,
    cases=_cases_trace_sqrt,
    output="scalar",
    returns=NUMBER,
    rtol=1e-3,
    mistakes=(
        Mistake("an elementwise square root: (Sigma_1 Sigma_2)^{1/2} is a matrix square root, "
                "not np.sqrt of the entries",
                lambda s1, s2: float(np.trace(np.sqrt(np.abs(s1 @ s2))))),
        Mistake("Sigma_1^{1/2} Sigma_2^{1/2} is not (Sigma_1 Sigma_2)^{1/2} unless the two "
                "covariances commute: take the square root of Sigma_1^{1/2} Sigma_2 "
                "Sigma_1^{1/2}", lambda s1, s2: float(np.trace(_sqrtm(s1) @ _sqrtm(s2)))),
        Mistake("the square root of the trace, sqrt(tr(Sigma_1 Sigma_2)): the trace of a "
                "square root is the sum of the square roots of the eigenvalues",
                lambda s1, s2: float(np.sqrt(np.trace(s1 @ s2)))),
        Mistake("the square root is missing: tr(Sigma_1 Sigma_2)",
                lambda s1, s2: float(np.trace(s1 @ s2))),
    ),
    unstable_hint="the product Sigma_1 Sigma_2 is not symmetric, and for a singular "
                  "covariance a general square root (scipy.linalg.sqrtm) can return NaN or a "
                  "complex matrix; take the symmetric root M = Sigma_1^{1/2} Sigma_2 "
                  "Sigma_1^{1/2} (eigh) and sum the square roots of its eigenvalues, clipped "
                  "at 0",
    confirmation="Stable for singular covariances.",
)
