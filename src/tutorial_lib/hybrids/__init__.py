"""Hybrids of VAEs and GANs (chapter 11), built from the parts of both.

- :mod:`~tutorial_lib.hybrids.vaegan`: VAE-GAN, a learned similarity in a
  discriminator's features (Larsen et al., 2016).
- :mod:`~tutorial_lib.hybrids.aae`: the adversarial autoencoder, the aggregate
  posterior matched to the prior by a latent discriminator (Makhzani et al., 2016).
- :mod:`~tutorial_lib.hybrids.train`: the loop both train with.
"""

from tutorial_lib.hybrids.aae import AAE, AAEConfig
from tutorial_lib.hybrids.train import HybridTrainConfig, train_hybrid
from tutorial_lib.hybrids.vaegan import VAEGAN, VAEGANConfig

__all__ = ["AAE", "VAEGAN", "AAEConfig", "HybridTrainConfig", "VAEGANConfig", "train_hybrid"]
