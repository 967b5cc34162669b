"""Generators and discriminators: MLPs for 2-D data, DCGAN-style networks for images.

DCGAN guidelines (Radford et al., 2016): strided (transposed) convolutions instead of
pooling, batch norm in the generator, LeakyReLU(0.2) in the discriminator, tanh on the
generator's output (images are scaled to [-1, 1] inside; :meth:`Generator.images` maps
back to [0, 1]). ``spectral_norm=True`` wraps every discriminator layer in
``torch.nn.utils.parametrizations.spectral_norm`` (Miyato et al., 2018). With
``num_classes`` both networks are conditional: the generator concatenates a one-hot label
to z, the discriminator adds a projection of a label embedding onto its features
(Miyato & Koyama, 2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from tutorial_lib.conditioning import append_label
from tutorial_lib.validation import check_tensor


def _maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return _sn(layer) if use else layer


def _mlp_hidden(width: int, config: GANConfig, activation: Callable[[], nn.Module],
                spectral: bool) -> list[nn.Module]:
    """``config.layers`` blocks of Linear(-> config.hidden) + activation, optionally
    spectral-normalized: the hidden layers of both MLP networks."""
    layers: list[nn.Module] = []
    for _ in range(config.layers):
        layers += [_maybe_sn(nn.Linear(width, config.hidden), spectral), activation()]
        width = config.hidden
    return layers


@dataclass(frozen=True)
class GANConfig:
    """Architecture of a GAN (both networks)."""

    data_shape: tuple[int, ...] = (2,)  # (2,) for 2-D points, (1, 28, 28) or (1, 8, 8)
    latent_dim: int = 2  # dimension of z
    hidden: int = 128  # MLP width, or base channel count for the conv networks
    layers: int = 3  # MLP hidden layers
    spectral_norm: bool = False  # spectral normalization on the discriminator
    batch_norm: bool = True  # batch norm in the conv generator (DCGAN)
    num_classes: int = 0  # > 0: class-conditional networks


class Generator(nn.Module):
    """z (B, latent_dim) [+ labels] -> samples (B, *data_shape)."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        k, d = config.num_classes, config.latent_dim
        if len(config.data_shape) == 1:
            layers = _mlp_hidden(d + k, config, nn.ReLU, spectral=False)
            layers.append(nn.Linear(config.hidden if config.layers else d + k,
                                    config.data_shape[0]))
            self.net = nn.Sequential(*layers)
            self.kind = "mlp"
        else:
            c, h, w = config.data_shape
            ch = config.hidden
            bn = (lambda n: nn.BatchNorm2d(n)) if config.batch_norm else (lambda n: nn.Identity())
            if (h, w) == (28, 28):
                self.side, self.ch = 7, 2 * ch
                self.net = nn.Sequential(
                    nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), bn(ch), nn.ReLU(),  # 7 -> 14
                    nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh(),              # 14 -> 28
                )
            elif (h, w) == (8, 8):
                self.side, self.ch = 4, 2 * ch
                self.net = nn.Sequential(
                    nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), bn(ch), nn.ReLU(),  # 4 -> 8
                    nn.Conv2d(ch, c, 3, 1, 1), nn.Tanh(),                        # 8 -> 8
                )
            else:
                raise ValueError(f"conv generators exist for 28x28 and 8x8, got {h}x{w}")
            self.project = nn.Sequential(
                nn.Linear(d + k, self.ch * self.side * self.side),
                nn.BatchNorm1d(self.ch * self.side * self.side) if config.batch_norm
                else nn.Identity(),
                nn.ReLU(),
            )
            self.kind = "conv"

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_tensor(z, "z", ndim=2, last_dims=(self.config.latent_dim,))
        h = append_label(z, y, self.config.num_classes)
        if self.kind == "mlp":
            return self.net(h)
        h = self.project(h).view(len(z), self.ch, self.side, self.side)
        return self.net(h)

    def images(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples as images in [0, 1] (the tanh output mapped from [-1, 1])."""
        return (self.forward(z, y) + 1) / 2

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        return torch.randn(n, self.config.latent_dim, generator=generator).to(device)


class Discriminator(nn.Module):
    """samples (B, *data_shape) [+ labels] -> one logit / critic score per sample, (B,)."""

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.config = config
        sn, k = config.spectral_norm, config.num_classes
        if len(config.data_shape) == 1:
            width = config.hidden if config.layers else config.data_shape[0]
            self.features = nn.Sequential(*_mlp_hidden(
                config.data_shape[0], config, lambda: nn.LeakyReLU(0.2), spectral=sn))
        else:
            c, h, w = config.data_shape
            ch = config.hidden
            if (h, w) == (28, 28):
                self.features = nn.Sequential(
                    _maybe_sn(nn.Conv2d(c, ch, 4, 2, 1), sn), nn.LeakyReLU(0.2),       # 28->14
                    _maybe_sn(nn.Conv2d(ch, 2 * ch, 4, 2, 1), sn), nn.LeakyReLU(0.2),  # 14->7
                    nn.Flatten(),
                )
                width = 2 * ch * 7 * 7
            elif (h, w) == (8, 8):
                self.features = nn.Sequential(
                    _maybe_sn(nn.Conv2d(c, ch, 3, 1, 1), sn), nn.LeakyReLU(0.2),       # 8->8
                    _maybe_sn(nn.Conv2d(ch, 2 * ch, 4, 2, 1), sn), nn.LeakyReLU(0.2),  # 8->4
                    nn.Flatten(),
                )
                width = 2 * ch * 4 * 4
            else:
                raise ValueError(f"conv discriminators exist for 28x28 and 8x8, got {h}x{w}")
        self.head = _maybe_sn(nn.Linear(width, 1), sn)
        self.embed = _maybe_sn(nn.Embedding(k, width), sn) if k else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        check_tensor(x, "x", ndim=len(self.config.data_shape) + 1,
                     last_dims=self.config.data_shape)
        h = self.features(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError(f"this conditional discriminator needs labels y in "
                                 f"0..{self.config.num_classes - 1}")
            out = out + (self.embed(y) * h).sum(1)  # projection discriminator
        elif y is not None:
            raise ValueError("this discriminator is not conditional but labels were given")
        return out


def to_model_space(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> [-1, 1], the range of the generator's tanh."""
    return 2 * x - 1


def n_parameters(module: nn.Module) -> int:
    return sum(math.prod(p.shape) for p in module.parameters())
