"""Does a model copy its training set? Nearest-neighbour distances.

FID, KID, precision and recall all reward a "model" that returns its training images.
The check here compares, for each sample, the distance to its nearest training image
with the same distance for held-out real images: a copier's samples sit at distance 0,
far closer than any new real image does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tutorial_lib.validation import check_images, check_number, check_positive_int, check_tensor


@dataclass(frozen=True)
class NearestNeighbours:
    distance: torch.Tensor  # (N,) Euclidean distance to the nearest reference row
    index: torch.Tensor  # (N,) index of that reference row


def nearest_neighbours(x: torch.Tensor, reference: torch.Tensor,
                       batch_size: int = 1024) -> NearestNeighbours:
    """For each row of ``x`` (N, ...) its nearest row of ``reference`` (M, ...), compared
    flattened (pixels of images, or feature vectors), in Euclidean distance. Both must be
    non-empty and finite."""
    check_tensor(x, "x", nonempty=True, finite=True)
    check_tensor(reference, "reference", nonempty=True, finite=True)
    check_positive_int(batch_size, "batch_size")
    if x[0].numel() != reference[0].numel() or x[0].numel() == 0:
        raise ValueError(f"x has {x[0].numel()} values per item but reference has "
                         f"{reference[0].numel()}; compare non-empty items of the same shape")
    a, b = x.reshape(len(x), -1).float(), reference.reshape(len(reference), -1).float()
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
    1 for one that copies. All three are images (N, C, H, W) in [0, 1] of one shape."""
    for images, name in ((samples, "samples"), (train, "train"), (held_out, "held_out")):
        check_images(images, name, nonempty=True)
    check_number(quantile, "quantile", low=0, high=1, low_open=True, high_open=True)
    if not samples.shape[1:] == train.shape[1:] == held_out.shape[1:]:
        raise ValueError(f"samples, train and held_out must be images of one shape, got "
                         f"{tuple(samples.shape[1:])}, {tuple(train.shape[1:])} and "
                         f"{tuple(held_out.shape[1:])}")
    threshold = torch.quantile(nearest_neighbours(held_out, train).distance, quantile)
    return float((nearest_neighbours(samples, train).distance < threshold).float().mean())
