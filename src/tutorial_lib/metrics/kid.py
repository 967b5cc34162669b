"""Kernel Inception Distance (Binkowski et al., 2018) on chosen features.

KID is the squared maximum mean discrepancy (MMD) between the feature distributions,
with the cubic polynomial kernel k(a, b) = (a.b / D + 1)^3. Its U-statistic estimate is
unbiased: for two samples of one distribution it is zero in expectation (it can come out
negative), which is why KID, unlike FID, can be compared across sample sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tutorial_lib.validation import check_features, check_positive_int


@dataclass(frozen=True)
class KIDResult:
    """KID estimate and its standard error (from disjoint blocks of the samples)."""

    value: float
    stderr: float
    blocks: int

    def __repr__(self) -> str:
        return f"KID {self.value:.4g} +- {self.stderr:.2g} ({self.blocks} blocks)"


def polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(a_i, b_j) = (a_i . b_j / D + 1)^3 for a (N, D) and b (M, D); returns (N, M)."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased_from_kernels(k_aa: np.ndarray, k_bb: np.ndarray, k_ab: np.ndarray
                               ) -> float:
    """The unbiased estimate of MMD^2 from kernel matrices (N, N), (M, M), (N, M), N, M >= 2:

        1/(N(N-1)) sum_{i != j} k(a_i, a_j) + 1/(M(M-1)) sum_{i != j} k(b_i, b_j)
        - 2/(NM) sum_{i, j} k(a_i, b_j).

    The diagonal terms k(a_i, a_i) are left out: keeping them gives the biased estimator.
    """
    n, m = len(k_aa), len(k_bb)
    return float((k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
                 + (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
                 - 2 * k_ab.mean())


def mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    """The unbiased MMD^2 between the samples a (N, D) and b (M, D) with the cubic
    polynomial kernel (see :func:`mmd2_unbiased_from_kernels`)."""
    return mmd2_unbiased_from_kernels(polynomial_kernel(a, a), polynomial_kernel(b, b),
                                      polynomial_kernel(a, b))


def kid(features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray,
        blocks: int = 10, seed: int = 0) -> KIDResult:
    """KID between two feature sets (N_a, D) and (N_b, D).

    Both sets are shuffled and cut into ``blocks`` disjoint blocks; the estimate is the
    mean of the blocks' unbiased MMD^2 (so still unbiased), and the standard error is the
    blocks' standard deviation over sqrt(blocks): an honest error bar, because disjoint
    blocks are independent. Each block needs at least 2 samples of each set.
    """
    a = check_features(features_a, "features_a", min_rows=2)
    b = check_features(features_b, "features_b", min_rows=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a has {a.shape[1]} columns but features_b has "
                         f"{b.shape[1]}; both must come from the same extractor")
    check_positive_int(blocks, "blocks")
    if min(len(a), len(b)) < 2 * blocks:
        raise ValueError(f"{blocks} blocks need at least {2 * blocks} samples in each set, "
                         f"got {len(a)} and {len(b)}; use fewer blocks")
    rng = np.random.default_rng(seed)
    a_blocks = np.array_split(a[rng.permutation(len(a))], blocks)
    b_blocks = np.array_split(b[rng.permutation(len(b))], blocks)
    values = np.array([mmd2_unbiased(x, y) for x, y in zip(a_blocks, b_blocks, strict=True)])
    stderr = values.std(ddof=1) / np.sqrt(blocks) if blocks > 1 else float("nan")
    return KIDResult(value=float(values.mean()), stderr=float(stderr), blocks=blocks)
