"""Class coverage: which digits does a generator draw, and how evenly?

A classifier labels each generated image; the histogram of predicted classes is compared
with the uniform distribution (the training data have equal class counts) by the total
variation distance TV(p, u) = 1/2 sum_k |p_k - 1/K|: 0 for perfectly even classes, and
1 - 1/K when every sample is one class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ClassCoverage:
    counts: tuple[int, ...]  # predicted-class counts, one per class
    tv: float  # total variation distance from uniform

    @property
    def classes_present(self) -> int:
        return sum(c > 0 for c in self.counts)

    @property
    def fractions(self) -> np.ndarray:
        counts = np.asarray(self.counts, dtype=np.float64)
        return counts / counts.sum()

    def __repr__(self) -> str:
        return (f"{self.classes_present} of {len(self.counts)} classes present, "
                f"TV from uniform {self.tv:.3f}, counts {list(self.counts)}")


def class_coverage(predicted: torch.Tensor | np.ndarray, num_classes: int = 10) -> ClassCoverage:
    """Histogram of predicted labels (N,) in {0, ..., num_classes - 1} and its total
    variation distance from the uniform distribution."""
    labels = predicted.detach().cpu().numpy() if isinstance(predicted, torch.Tensor) \
        else np.asarray(predicted)
    if labels.ndim != 1 or len(labels) == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"predicted: expected a non-empty 1-D array of integer class labels, "
                         f"got dtype {labels.dtype} and shape {labels.shape}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"predicted: labels must lie in 0..{num_classes - 1}, got range "
                         f"[{labels.min()}, {labels.max()}]")
    counts = np.bincount(labels, minlength=num_classes)
    p = counts / counts.sum()
    return ClassCoverage(counts=tuple(int(c) for c in counts),
                         tv=float(0.5 * np.abs(p - 1.0 / num_classes).sum()))
