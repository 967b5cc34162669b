"""Paired image-to-image translation (chapter 13): pix2pix on the digits.

- :mod:`~tutorial_lib.translation.models`: the U-Net generator and the PatchGAN
  discriminator (Isola et al., 2017).
- :mod:`~tutorial_lib.translation.paired`: the paired data (block-averaged digit ->
  digit), the L1 + conditional-GAN objective, the named steps, the training loop, and the
  measures of blur.
"""

from tutorial_lib.translation.experiment import ARMS, SCORES, l1_versus_gan, translation_scores
from tutorial_lib.translation.models import (
    PatchConfig,
    PatchDiscriminator,
    UNetConfig,
    UNetGenerator,
    receptive_field,
)
from tutorial_lib.translation.paired import (
    Pix2PixConfig,
    Pix2PixRun,
    downsample_pair,
    grey_fraction,
    patch_discriminator_loss,
    pix2pix_generator_loss,
    train_pix2pix,
    translate,
)

__all__ = [
    "ARMS", "SCORES", "PatchConfig", "PatchDiscriminator", "Pix2PixConfig", "Pix2PixRun",
    "UNetConfig", "UNetGenerator", "downsample_pair", "grey_fraction", "l1_versus_gan",
    "patch_discriminator_loss", "pix2pix_generator_loss", "receptive_field", "train_pix2pix",
    "translate", "translation_scores",
]
