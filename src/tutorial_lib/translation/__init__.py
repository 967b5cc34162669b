"""Image-to-image translation: paired (chapter 13, pix2pix) and unpaired (chapter 14,
CycleGAN) on the digits.

- :mod:`~tutorial_lib.translation.models`: the U-Net generator and the PatchGAN
  discriminator (Isola et al., 2017).
- :mod:`~tutorial_lib.translation.paired`: the paired data (block-averaged digit ->
  digit), the L1 + conditional-GAN objective, the named steps, the training loop, and the
  measures of blur.
- :mod:`~tutorial_lib.translation.experiment`: L1 alone against L1 + GAN, over seeds.
- :mod:`~tutorial_lib.translation.cyclegan`: CycleGAN between the 8x8 and the 28x28
  digits (its own resolution-changing generators and PatchGAN discriminators: import
  ``PatchDiscriminator`` and ``translate`` from that module for those), the least-squares
  and cycle losses, and the measures of class survival.
"""

from tutorial_lib.translation.cyclegan import (
    CycleGAN,
    CycleGANConfig,
    CycleGANTrainConfig,
    class_survival,
    cycle_consistency_loss,
    evaluate_cyclegan,
    hidden_class_change,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    train_cyclegan,
)
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
    "CycleGAN", "CycleGANConfig", "CycleGANTrainConfig", "class_survival",
    "cycle_consistency_loss", "evaluate_cyclegan", "hidden_class_change",
    "lsgan_discriminator_loss", "lsgan_generator_loss", "train_cyclegan",
    "ARMS", "SCORES", "PatchConfig", "PatchDiscriminator", "Pix2PixConfig", "Pix2PixRun",
    "UNetConfig", "UNetGenerator", "downsample_pair", "grey_fraction", "l1_versus_gan",
    "patch_discriminator_loss", "pix2pix_generator_loss", "receptive_field", "train_pix2pix",
    "translate", "translation_scores",
]
