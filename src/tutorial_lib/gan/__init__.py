"""Generative adversarial networks (Part III): one module per concept.

- :mod:`~tutorial_lib.gan.losses`: minimax, non-saturating, cross-entropy, Wasserstein,
  hinge; gradient penalty, R1, weight clipping.
- :mod:`~tutorial_lib.gan.models`: one class per network (``MLPGenerator``,
  ``DCGANGenerator``, ``MLPDiscriminator``, ``DCGANDiscriminator``) on the base classes
  ``Generator`` and ``Discriminator``, conditional and spectral-normalized options, and the
  factories ``make_generator`` / ``make_discriminator`` that pick a class from
  ``GANConfig.data_shape``.
- :mod:`~tutorial_lib.gan.train`: the discriminator and generator steps and their loop.
- :mod:`~tutorial_lib.gan.toy_metrics`: modes captured and high-quality samples.
- :mod:`~tutorial_lib.gan.optimal_discriminator`: chapter 6's 1-D check.
- :mod:`~tutorial_lib.gan.game`: the discriminator's decision surface over training.
- :mod:`~tutorial_lib.gan.recipes`: the book's settings for each variant, chosen by
  measurement (shared by the notebooks, ``bench gan`` and ``train gan``).
- :mod:`~tutorial_lib.gan.reference`: generators saved and loaded as verified checkpoints.
- :mod:`~tutorial_lib.gan.latent`: straight and spherical paths through latent space.
"""

from tutorial_lib.gan import recipes
from tutorial_lib.gan.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    Discriminator,
    GANConfig,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    make_discriminator,
    make_generator,
)
from tutorial_lib.gan.toy_metrics import ModeCoverage, mode_coverage
from tutorial_lib.gan.train import LOSSES, GANTrainConfig, train_gan
from tutorial_lib.training import TrainingDiverged

__all__ = [
    "LOSSES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Discriminator",
    "GANConfig",
    "GANTrainConfig",
    "Generator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ModeCoverage",
    "TrainingDiverged",
    "make_discriminator",
    "make_generator",
    "mode_coverage",
    "recipes",
    "train_gan",
]
