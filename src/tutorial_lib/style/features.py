"""Feature extractors for style transfer: networks that need no download.

Each extractor is an ``nn.Module`` that maps images (B, C, H, W) in [0, 1] to a dict
``{layer name: feature map (B, C_l, H_l, W_l)}``; the transfer loop picks the layers its
losses use by name. Their parameters are frozen: style transfer optimizes the image.

- :class:`ClassifierFeatures`: the two convolution layers (after their ReLU) of the book's
  digit classifier (:mod:`tutorial_lib.metrics.classifier`): stroke statistics of digits.
- :class:`RandomMultiScaleNet`: one layer of random convolution filters at several sizes,
  after Ustyuzhaninov et al. (2017), who found such untrained networks enough for
  texture synthesis, and He, Wang and Hopcroft (2016), who used random weights for
  style transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.metrics.classifier import DigitClassifier
from tutorial_lib.validation import check_images, check_positive_int


def _freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


class ClassifierFeatures(nn.Module):
    """The digit classifier's convolution layers as feature maps:
    ``"conv1"`` (B, 32, 28, 28) and ``"conv2"`` (B, 64, 14, 14), each after its ReLU and
    before its pooling, and the feature layer ``"fc"`` (B, 128, 1, 1) that FID uses, for
    digits x (B, 1, 28, 28) in [0, 1]. The classifier is not
    copied; its parameters are frozen (requires_grad False) and it is put in eval mode."""

    def __init__(self, classifier: DigitClassifier) -> None:
        super().__init__()
        if not isinstance(classifier, DigitClassifier):
            raise TypeError(f"classifier: expected a DigitClassifier (tutorial_lib.metrics), "
                            f"got {type(classifier).__name__}")
        self.classifier = _freeze(classifier)
        conv = classifier.conv
        self.block1 = conv[0:2]  # conv 3x3 + ReLU: (B, 1, H, W) -> (B, ch, H, W)
        self.block2 = conv[2:5]  # pool, conv 3x3 + ReLU: -> (B, 2 ch, H/2, W/2)
        self.block3 = conv[5:]  # pool, flatten, linear + ReLU: -> (B, features)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = 2 * self.classifier._check(x) - 1  # [0, 1] -> [-1, 1], as the classifier does
        conv1 = self.block1(x)
        conv2 = self.block2(conv1)
        fc = self.block3(conv2)[:, :, None, None]  # (B, features) -> (B, features, 1, 1)
        return {"conv1": conv1, "conv2": conv2, "fc": fc}


@dataclass(frozen=True)
class MultiScaleConfig:
    in_channels: int = 3  # colour images
    kernel_sizes: tuple[int, ...] = (3, 5, 7, 11, 15)  # one branch per filter size (odd)
    channels: int = 64  # random filters per branch
    seed: int = 0  # the filters are drawn from this seed, so every run has the same net


class RandomMultiScaleNet(nn.Module):
    """One convolution layer of random filters at several sizes, each followed by a ReLU.

    Branch ``"k{s}"`` convolves the centred image 2 x - 1 with ``channels`` filters of
    size s x s (zero padding, stride 1): (B, in_channels, H, W) -> (B, channels, H, W).
    The weights are Gaussian with standard deviation sqrt(2 / fan_in) (He et al.'s 2015
    scaling), drawn from ``seed``; the biases are zero. Nothing is trained.
    """

    def __init__(self, config: MultiScaleConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or MultiScaleConfig()
        check_positive_int(config.in_channels, "in_channels")
        check_positive_int(config.channels, "channels")
        if not config.kernel_sizes or any(s < 1 or s % 2 == 0 for s in config.kernel_sizes):
            raise ValueError(f"kernel_sizes: expected odd filter sizes, got "
                             f"{config.kernel_sizes}")
        gen = torch.Generator().manual_seed(config.seed)
        self.branches = nn.ModuleDict()
        for s in config.kernel_sizes:
            conv = nn.Conv2d(config.in_channels, config.channels, s, padding=s // 2)
            fan_in = config.in_channels * s * s
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen)
                                  * np.sqrt(2 / fan_in))
                conv.bias.zero_()
            self.branches[f"k{s}"] = conv
        _freeze(self)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_images(x, "x")
        if x.shape[1] != self.config.in_channels:
            raise ValueError(f"x: expected {self.config.in_channels} channels, got "
                             f"{tuple(x.shape)}")
        x = 2 * x - 1
        return {name: F.relu(conv(x)) for name, conv in self.branches.items()}


SAMPLE_PHOTOS = ("china.jpg", "flower.jpg")


def load_sample_photo(name: str, size: int, box: tuple[int, int, int] | None = None
                      ) -> torch.Tensor:
    """One of the two colour photographs that scikit-learn ships (``load_sample_images``:
    "china.jpg", "flower.jpg", each 427 x 640), cropped to a square and resized.
    box: (top, left, side) of the square crop in pixels (None: the central 427 x 427).
    Returns (1, 3, size, size) in [0, 1]."""
    from sklearn.datasets import load_sample_images

    check_positive_int(size, "size")
    if name not in SAMPLE_PHOTOS:
        raise ValueError(f"name: expected one of {SAMPLE_PHOTOS}, got {name!r}")
    photos = load_sample_images()
    index = [p.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] for p in photos.filenames].index(name)
    image = photos.images[index]  # (427, 640, 3) uint8
    h, w, _ = image.shape
    top, left, side = box if box is not None else (0, (w - h) // 2, h)
    if top < 0 or left < 0 or side < 1 or top + side > h or left + side > w:
        raise ValueError(f"box: the square (top, left, side) = {box} does not fit in the "
                         f"{h} x {w} photograph")
    crop = torch.from_numpy(np.ascontiguousarray(image[top:top + side, left:left + side]))
    x = crop.permute(2, 0, 1)[None].float() / 255  # (1, 3, side, side)
    return F.interpolate(x, size=(size, size), mode="area").clamp(0, 1)
