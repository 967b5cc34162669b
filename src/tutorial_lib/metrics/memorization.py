"""Does a model copy its training set? Nearest-neighbour distances.

FID, KID, precision and recall all reward a "model" that returns its training images.
The check here compares, for each sample, the distance to its nearest training image
with the same distance for held-out real images: a copier's samples sit at distance 0,
far closer than any new real image does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tutorial_lib.validation import check_tensor


@dataclass(frozen=True)
class NearestNeighbours:
    distance: torch.Tensor  # (N,) Euclidean distance to the nearest reference row
    index: torch.Tensor  # (N,) index of that reference row


def nearest_neighbours(x: torch.Tensor, reference: torch.Tensor,
                       batch_size: int = 1024) -> NearestNeighbours:
    """For each row of ``x`` (N, ...) its nearest row of ``reference`` (M, ...), compared
    flattened (pixels of images, or feature vectors), in Euclidean distance."""
    check_tensor(x, "x")
    check_tensor(reference, "reference")
    a, b = x.reshape(len(x), -1).float(), reference.reshape(len(reference), -1).float()
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x has {a.shape[1]} values per item but reference has "
                         f"{b.shape[1]}; compare images of the same shape")
    if len(b) == 0:
        raise ValueError("reference is empty")
    distances, indices = [], []
    for start in range(0, len(a), batch_size):
        d = torch.cdist(a[start:start + batch_size], b)
        best = d.min(dim=1)
        distances.append(best.values)
        indices.append(best.indices)
    return NearestNeighbours(torch.cat(distances), torch.cat(indices))


def copy_fraction(samples: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor,
                  quantile: float = 0.01) -> float:
    """Fraction of ``samples`` closer to a training image than all but ``quantile`` of the
    held-out real images are: about ``quantile`` for a model that makes new images, near
    1 for one that copies."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie in (0, 1), got {quantile}")
    threshold = torch.quantile(nearest_neighbours(held_out, train).distance, quantile)
    return float((nearest_neighbours(samples, train).distance < threshold).float().mean())
