"""Style transfer with Gram matrices (chapter 15; Gatys et al., 2016).

- :mod:`~tutorial_lib.style.losses`: the Gram matrix, the style, content and
  total-variation losses, and the Gram loss as a squared MMD.
- :mod:`~tutorial_lib.style.features`: feature extractors: the book's digit classifier's
  convolution layers, and a random multi-scale convolutional network for textures.
- :mod:`~tutorial_lib.style.vgg`: VGG-19's convolutional part in plain torch, with its
  ImageNet weights downloaded (full budget only) and checked.
- :mod:`~tutorial_lib.style.transfer`: the optimization over the image's pixels.
"""

from tutorial_lib.style.features import (
    ClassifierFeatures,
    MultiScaleConfig,
    RandomMultiScaleNet,
    load_sample_photo,
)
from tutorial_lib.style.losses import (
    content_loss,
    gram_matrix,
    gram_mmd2,
    style_loss,
    style_loss_layer,
    total_variation,
)
from tutorial_lib.style.transfer import StyleTransferResult, TransferConfig, style_transfer

__all__ = [
    "ClassifierFeatures", "MultiScaleConfig", "RandomMultiScaleNet", "StyleTransferResult",
    "TransferConfig", "content_loss", "gram_matrix", "gram_mmd2", "load_sample_photo",
    "style_loss", "style_loss_layer", "style_transfer", "total_variation",
]
