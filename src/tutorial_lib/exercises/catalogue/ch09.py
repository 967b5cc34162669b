"""Chapter 9's exercises: the Frechet distance between two Gaussians and the unbiased
MMD^2 at the core of KID."""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.metrics.frechet import frechet_distance
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
