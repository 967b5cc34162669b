"""Image data sets as tensors, binarization, and a loader that works on CPU and GPU.

Every image data set is returned the same way: float32 tensors in [0, 1] of shape
(N, 1, H, W) and int64 labels of shape (N,), split into train and test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from tutorial_lib.budget import Budget, get_budget
from tutorial_lib.device import get_device
from tutorial_lib.validation import check_images, check_labels, check_positive_int

EMBEDDED = ("mnist5k", "digits")
DOWNLOADED = ("mnist", "fashion-mnist")
IMAGE_DATASETS = EMBEDDED + DOWNLOADED

Binarization = Literal["dynamic", "fixed", "threshold"]


@dataclass
class ImageDataset:
    """A train/test split of images. ``x_*``: (N, 1, H, W) float32 in [0, 1]; ``y_*``: (N,)."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int = 10

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W), e.g. (1, 28, 28)."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def dim(self) -> int:
        """Number of pixels per image, C * H * W."""
        return int(np.prod(self.image_shape))

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return (f"ImageDataset({self.name!r}: {len(self.x_train)} train + {len(self.x_test)} "
                f"test images of {c}x{h}x{w}, {self.num_classes} classes)")


def _take(x: np.ndarray, y: np.ndarray, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``limit`` images with the classes as balanced as possible, in their stored order."""
    if limit is not None and limit < len(x):
        # Take the first images of each class in turn, deterministically.
        order = np.lexsort((np.arange(len(y)), _rank_within_class(y)))
        keep = np.sort(order[:limit])
        x, y = x[keep], y[keep]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def _rank_within_class(y: np.ndarray) -> np.ndarray:
    rank = np.empty(len(y), dtype=np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rank[idx] = np.arange(len(idx))
    return rank


def load_images(
    name: str | None = None,
    budget: Budget | str | None = None,
    *,
    max_train: int | None = None,
    max_test: int | None = None,
    root: str | None = None,
) -> ImageDataset:
    """Load an image data set as tensors.

    Args:
        name: ``"mnist5k"`` or ``"digits"`` (embedded, offline), ``"mnist"`` or
            ``"fashion-mnist"`` (downloaded once, checksums verified). None: the budget's
            default (``mnist5k``; ``mnist`` for the full budget).
        budget: caps the number of images (smoke: 512 train, 256 test). None reads
            ``TUTORIAL_BUDGET``.
        max_train, max_test: explicit caps that override the budget's: positive
            integers (or None for the budget's cap).
        root: download folder for the downloaded sets (default: ``TUTORIAL_DATA`` or
            ``~/.cache/tutorial_lib``).

    Returns:
        An :class:`ImageDataset` with float32 images in [0, 1] of shape (N, 1, H, W).
    """
    for cap, cap_name in ((max_train, "max_train"), (max_test, "max_test")):
        if cap is not None:
            check_positive_int(cap, cap_name)
    budget = get_budget(budget)
    name = budget.image_data if name is None else name
    key = str(name).strip().lower().replace("_", "-")
    if key == "mnist-5k":
        key = "mnist5k"
    if key not in IMAGE_DATASETS:
        raise ValueError(
            f"unknown image data set {name!r}; expected one of {', '.join(IMAGE_DATASETS)} "
            "(mnist5k and digits are embedded and work offline)"
        )
    if key == "mnist5k":
        from tutorial_lib.data.embedded import load_mnist5k

        arrays = load_mnist5k()
    elif key == "digits":
        from tutorial_lib.data.embedded import load_digits8x8

        arrays = load_digits8x8()
    else:
        from pathlib import Path

        from tutorial_lib.data.download import load_remote

        raw = load_remote(key, root=Path(root) if root else None)
        arrays = {
            "x_train": (raw["x_train"].astype(np.float32) / 255.0)[:, None],
            "y_train": raw["y_train"].astype(np.int64),
            "x_test": (raw["x_test"].astype(np.float32) / 255.0)[:, None],
            "y_test": raw["y_test"].astype(np.int64),
        }
    n_train = max_train if max_train is not None else budget.max_train_images
    n_test = max_test if max_test is not None else budget.max_test_images
    x_train, y_train = _take(arrays["x_train"], arrays["y_train"], n_train)
    x_test, y_test = _take(arrays["x_test"], arrays["y_test"], n_test)
    return ImageDataset(key, x_train, y_train, x_test, y_test)


def train_validation_split(
    x: torch.Tensor, y: torch.Tensor, n_val: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hold out ``n_val`` images for validation, stratified by class and fixed by ``seed``.

    Returns (x_train, y_train, x_val, y_val).
    """
    check_images(x, "x")
    check_labels(y, "y", len(x))
    check_positive_int(n_val, "n_val")
    if n_val >= len(x):
        raise ValueError(f"n_val={n_val} leaves no training images out of {len(x)}")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    classes = torch.unique(y)
    per_class = [order[y[order] == c] for c in classes]
    share = [round(n_val * len(idx) / len(x)) for idx in per_class]
    share[-1] = n_val - sum(share[:-1])
    val = torch.cat([idx[:k] for idx, k in zip(per_class, share, strict=True)])
    mask = torch.ones(len(x), dtype=torch.bool)
    mask[val] = False
    train = order[mask[order]]
    return x[train], y[train], x[val], y[val]


def binarize(
    x: torch.Tensor,
    mode: Binarization = "dynamic",
    *,
    generator: torch.Generator | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Turn grey levels in [0, 1] into binary images {0, 1} of the same shape (B, C, H, W).

    - ``"dynamic"``: a fresh Bernoulli(x) draw every call (the usual choice for training:
      each epoch sees a new binary version of every image).
    - ``"fixed"``: one Bernoulli(x) draw, fixed by ``seed`` (the same call always gives the
      same images, e.g. for a fixed test set).
    - ``"threshold"``: x > 0.5 (deterministic; loses the grey-level information).
    """
    check_images(x, "x")
    if mode == "dynamic":
        return torch.bernoulli(x, generator=generator)
    if mode == "fixed":
        g = torch.Generator(device=x.device).manual_seed(int(seed))
        return torch.bernoulli(x, generator=g)
    if mode == "threshold":
        return (x > 0.5).to(x.dtype)
    raise ValueError(f"unknown binarization {mode!r}; expected 'dynamic', 'fixed' or 'threshold'")


def random_shift(x: torch.Tensor, max_shift: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Translate each image by a random whole number of pixels in [-max_shift, max_shift]
    along each axis, filling with zeros (background); (B, C, H, W) -> same shape.

    A cheap data augmentation for small data sets: digits moved by a pixel or two are
    still the same digits.
    """
    check_images(x, "x")
    check_positive_int(max_shift, "max_shift", allow_zero=True)
    if max_shift == 0 or len(x) == 0:
        return x
    s = max_shift
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (s, s, s, s))
    shifts = torch.randint(0, 2 * s + 1, (b, 2), generator=generator).tolist()
    out = torch.empty_like(x)
    for i, (dy, dx) in enumerate(shifts):
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


class DeviceLoader:
    """Mini-batches ``(x, y)`` already on ``device``, optionally binarized on the fly.

    A thin wrapper around ``torch.utils.data.DataLoader``: the data stay on the CPU,
    each batch is moved to the device (pinned memory and non-blocking copies on CUDA),
    and dynamic binarization happens on the device. Iterate it once per epoch.
    """

    def __init__(
        self,
        loader: DataLoader,
        device: torch.device,
        binarization: Binarization | None,
    ) -> None:
        self.loader = loader
        self.device = device
        self.binarization = binarization

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        non_blocking = self.device.type == "cuda"
        for x, y in self.loader:
            x = x.to(self.device, non_blocking=non_blocking)
            y = y.to(self.device, non_blocking=non_blocking)
            if self.binarization == "dynamic":
                x = torch.bernoulli(x)
            elif self.binarization is not None:
                x = binarize(x, self.binarization)
            yield x, y


def make_loader(
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    batch_size: int = 128,
    shuffle: bool = True,
    binarization: Binarization | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    drop_last: bool = False,
) -> DeviceLoader:
    """A loader over images ``x`` (N, C, H, W) in [0, 1] and labels ``y`` (N,).

    Args:
        batch_size: images per batch.
        shuffle: reshuffle every epoch (seeded by ``seed``: the same order on every run).
        binarization: None (grey levels), or ``"dynamic"``/``"fixed"``/``"threshold"``
            (see :func:`binarize`).
        device: where batches go; None chooses with :func:`tutorial_lib.get_device`.
    """

    check_images(x, "x")
    check_positive_int(batch_size, "batch_size")
    if y is None:
        y = torch.zeros(len(x), dtype=torch.long)
    check_labels(y, "y", len(x))
    device = get_device(device)
    if binarization == "fixed":
        x = binarize(x, "fixed", seed=seed)
        binarization = None
    elif binarization not in (None, "dynamic", "threshold"):
        raise ValueError(
            f"unknown binarization {binarization!r}; expected None, 'dynamic', 'fixed' or "
            "'threshold'"
        )
    loader = DataLoader(
        TensorDataset(x.cpu(), y.cpu()),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed) if shuffle else None,
    )
    return DeviceLoader(loader, device, binarization)
