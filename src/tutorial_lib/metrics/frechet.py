"""The Frechet distance between two Gaussians, and FID on chosen features.

For N(mu_1, S_1) and N(mu_2, S_2) the squared 2-Wasserstein (Frechet) distance is

    d^2 = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})
        = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^{1/2})

(Dowson and Landau, 1982; derived in the appendix). FID (Heusel et al., 2017) fits a
Gaussian to the features of real and of generated images and reports d^2 between them.
The features decide what FID means: this book's FID uses a small digit classifier's
features (:mod:`tutorial_lib.metrics.classifier`) and is not comparable with the
Inception FID of papers.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from tutorial_lib.validation import check_features


def gaussian_statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D), in float64, of ``features`` (N, D), N >= 2."""
    f = check_features(features, "features", min_rows=2)
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _check_statistics(mu: np.ndarray, sigma: np.ndarray,
                      which: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"{which}: expected a mean of shape (D,) and a covariance of shape "
                         f"(D, D), got {mu.shape} and {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"{which}: the mean and covariance must be finite")
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(sigma).max())):
        raise ValueError(f"{which}: the covariance must be symmetric")
    return mu, sigma


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues
    below zero, from rounding, are set to zero)."""
    w, v = scipy.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S_1 S_2)^{1/2}) for symmetric PSD S_1, S_2, computed stably.

    S_1 S_2 is not symmetric, but it is similar to the symmetric PSD matrix
    M = S_1^{1/2} S_2 S_1^{1/2} (conjugate by S_1^{1/2}), so both have the same
    non-negative eigenvalues and tr((S_1 S_2)^{1/2}) = sum_i sqrt(lambda_i(M)). Using
    :func:`scipy.linalg.eigh` on M avoids the complex rounding and the singular-matrix
    failures of a general square root when the covariances are (nearly) singular, as
    covariances of ReLU features with dead units are.
    """
    root = _sqrt_psd(sigma1)
    m = root @ sigma2 @ root
    eigenvalues = scipy.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means, (D,).
        sigma1, sigma2: covariances, (D, D), symmetric positive semi-definite (a sample
            covariance may be singular, e.g. with fewer samples than dimensions).
    """
    mu1, sigma1 = _check_statistics(mu1, sigma1, "first Gaussian")
    mu2, sigma2 = _check_statistics(mu2, sigma2, "second Gaussian")
    if mu1.shape != mu2.shape:
        raise ValueError(f"the two Gaussians live in different dimensions: {len(mu1)} "
                         f"and {len(mu2)}")
    for which, sigma in (("first", sigma1), ("second", sigma2)):
        lowest = scipy.linalg.eigvalsh(sigma)[0]
        if lowest < -1e-6 * max(1.0, np.abs(sigma).max()):
            raise ValueError(f"{which} Gaussian: the covariance has a negative eigenvalue "
                             f"({lowest:.3g}); a covariance must be positive semi-definite")
    diff = mu1 - mu2
    value = (diff @ diff + np.trace(sigma1) + np.trace(sigma2)
             - 2 * trace_sqrt_product(sigma1, sigma2))
    return float(max(value, 0.0))


def fid_from_features(features_a: torch.Tensor | np.ndarray,
                      features_b: torch.Tensor | np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets (N_a, D), (N_b, D)."""
    a = check_features(features_a, "features_a", min_rows=2)
    b = check_features(features_b, "features_b", min_rows=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a has {a.shape[1]} columns but features_b has "
                         f"{b.shape[1]}; both must come from the same extractor")
    mu_a, s_a = gaussian_statistics(a)
    mu_b, s_b = gaussian_statistics(b)
    return frechet_distance(mu_a, s_a, mu_b, s_b)
