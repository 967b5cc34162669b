"""Precision and recall of generative models with k-nearest-neighbour manifolds
(Kynkaanniemi et al., 2019).

The real manifold is the union of balls around the real feature vectors, each with the
radius of its k-th nearest real neighbour; likewise for the generated ones.

- precision: the fraction of generated samples inside the real manifold (quality);
- recall: the fraction of real samples inside the generated manifold (coverage).

A model that draws only a few sharp modes has high precision and low recall; one that
spreads blurry mass everywhere can have the opposite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tutorial_lib.validation import check_features, check_positive_int


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    k: int

    def __repr__(self) -> str:
        return f"precision {self.precision:.3f}, recall {self.recall:.3f} (k = {self.k})"


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return torch.cdist(torch.from_numpy(a), torch.from_numpy(b)).numpy()


def knn_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row (N, D) to its k-th nearest other row; returns (N,)."""
    d = _distances(features, features)
    # column 0 of the sorted row is the point itself (distance 0)
    return np.sort(d, axis=1)[:, k]


def manifold_fraction(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Fraction of ``queries`` (M, D) within radii[i] of some manifold[i] (N, D)."""
    d = _distances(queries, manifold)
    return float((d <= radii[None, :]).any(axis=1).mean())


def precision_recall(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray,
                     k: int = 3) -> PrecisionRecall:
    """Improved precision and recall of ``fake`` (M, D) against ``real`` (N, D) features.

    ``k`` is the neighbour that sets each ball's radius (the paper uses 3); both sets need
    more than k samples.
    """
    r = check_features(real, "real")
    f = check_features(fake, "fake")
    check_positive_int(k, "k")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real has {r.shape[1]} columns but fake has {f.shape[1]}; both "
                         f"must come from the same extractor")
    if min(len(r), len(f)) <= k:
        raise ValueError(f"k = {k} needs more than {k} samples in each set, got {len(r)} "
                         f"real and {len(f)} fake")
    precision = manifold_fraction(r, knn_radii(r, k), f)
    recall = manifold_fraction(f, knn_radii(f, k), r)
    return PrecisionRecall(precision=precision, recall=recall, k=k)
