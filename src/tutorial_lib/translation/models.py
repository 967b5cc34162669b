"""pix2pix's two networks for 28 x 28 images (Isola et al., 2017, section 3.2).

- :class:`UNetGenerator`: an encoder-decoder whose decoder also receives, at each
  resolution, the encoder's feature maps of that resolution (the skip connections of
  Ronneberger et al., 2015), so that detail present in the input need not pass through
  the 7 x 7 bottleneck. Dropout in the decoder, pix2pix's only noise z (section 3.1), is
  off by default.
- :class:`PatchDiscriminator`: a fully convolutional conditional discriminator. It sees
  the input image and an output image stacked as two channels, and returns one logit per
  overlapping patch, a (B, 1, 7, 7) map whose every entry sees an 18 x 18 window of the
  28 x 28 pair (:func:`receptive_field`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.validation import check_tensor


def _check_pair_images(x: torch.Tensor, name: str, channels: int) -> torch.Tensor:
    check_tensor(x, name, ndim=4)
    if tuple(x.shape[1:]) != (channels, 28, 28):
        raise ValueError(f"{name}: expected images of shape (B, {channels}, 28, 28), got "
                         f"shape {tuple(x.shape)}")
    return x


@dataclass(frozen=True)
class UNetConfig:
    """The U-Net's widths (one field per knob)."""

    channels: int = 16  # feature maps at 14 x 14; 2x at 7 x 7, 4x in the bottleneck
    dropout: float = 0.0  # in the decoder: the noise z of pix2pix at 0.5; 0, deterministic


class UNetGenerator(nn.Module):
    """G(x_A): (B, 1, 28, 28) in [0, 1] -> (B, 1, 28, 28) in (0, 1).

    Encoder 28 -> 14 -> 7, a bottleneck at 7 x 7, decoder 7 -> 14 -> 28; the decoder's
    input at each resolution is its upsampled maps concatenated (along channels) with the
    encoder's maps of that resolution, the input image itself at 28 x 28.
    """

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or UNetConfig()
        c = config.channels
        self.down1 = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2))  # 28 -> 14
        self.down2 = nn.Sequential(nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c),
                                   nn.LeakyReLU(0.2))  # 14 -> 7
        self.bottleneck = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 3, 1, 1), nn.BatchNorm2d(4 * c),
                                        nn.ReLU())  # 7 -> 7
        self.up1 = nn.Sequential(  # (4c + 2c) at 7 x 7 -> c at 14 x 14
            nn.ConvTranspose2d(6 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Dropout(config.dropout))
        self.up2 = nn.Sequential(  # (c + c) at 14 x 14 -> c at 28 x 28
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Dropout(config.dropout))
        self.out = nn.Conv2d(c + 1, 1, 3, 1, 1)  # (c + 1) at 28 x 28 -> 1 channel, logits

    def forward(self, x_a: torch.Tensor) -> torch.Tensor:
        _check_pair_images(x_a, "x_a", 1)
        e1 = self.down1(2 * x_a - 1)  # (B, 1, 28, 28) -> (B, c, 14, 14)
        e2 = self.down2(e1)  # -> (B, 2c, 7, 7)
        b = self.bottleneck(e2)  # -> (B, 4c, 7, 7)
        d1 = self.up1(torch.cat([b, e2], dim=1))  # skip: (B, 6c, 7, 7) -> (B, c, 14, 14)
        d2 = self.up2(torch.cat([d1, e1], dim=1))  # skip: (B, 2c, 14, 14) -> (B, c, 28, 28)
        logits = self.out(torch.cat([d2, x_a], dim=1))  # skip: (B, c + 1, 28, 28) -> (B, 1, ...)
        return torch.sigmoid(logits)


@dataclass(frozen=True)
class PatchConfig:
    """The PatchGAN's widths."""

    channels: int = 16  # feature maps at 14 x 14; 2x at 7 x 7


class PatchDiscriminator(nn.Module):
    """D(x_A, x_B): two images (B, 1, 28, 28) in [0, 1] -> patch logits (B, 1, 7, 7).

    The pair is stacked as two channels, input first (pix2pix's conditional
    discriminator); each output logit judges one 18 x 18 patch of the pair.
    """

    layers: tuple[tuple[int, int], ...] = ((4, 2), (4, 2), (3, 1))  # (kernel, stride)

    def __init__(self, config: PatchConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or PatchConfig()
        c = config.channels
        self.net = nn.Sequential(
            nn.Conv2d(2, c, 4, 2, 1), nn.LeakyReLU(0.2),  # 28 -> 14
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # -> 7
            nn.Conv2d(2 * c, 1, 3, 1, 1),  # 7 -> 7, one logit per patch
        )

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        _check_pair_images(x_a, "x_a", 1)
        _check_pair_images(x_b, "x_b", 1)
        if len(x_a) != len(x_b):
            raise ValueError(f"x_a and x_b: expected pairs, the same batch size, got "
                             f"{len(x_a)} and {len(x_b)}")
        pair = torch.cat([x_a, x_b], dim=1)  # (B, 2, 28, 28), the condition first
        return self.net(2 * pair - 1)  # -> (B, 1, 7, 7)


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """The side of the input window one output unit sees, for convolutions given as
    (kernel, stride) from the input on: r = 1 + sum_l (k_l - 1) prod_{m < l} s_m."""
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r
