"""Generators and discriminators: MLPs for 2-D data, DCGAN-style networks for images.

One class per network: :class:`MLPGenerator` and :class:`MLPDiscriminator` for points
``data_shape=(D,)``, :class:`DCGANGenerator` and :class:`DCGANDiscriminator` for images
``(C, 28, 28)`` or ``(C, 8, 8)``. They share a base class each (:class:`Generator`,
:class:`Discriminator`: the config, the input and label checks, drawing z, the images);
:func:`make_generator` and :func:`make_discriminator` pick the class from
``config.data_shape``.

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
from typing import ClassVar

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


def _check_config(config: GANConfig, network: type[nn.Module], data_ndim: int) -> None:
    """Raise unless ``config`` is a :class:`GANConfig` with a data_shape of ``data_ndim``
    dimensions, the kind of data ``network`` is built for."""
    if not isinstance(config, GANConfig):
        raise TypeError(f"config: expected a GANConfig, got {type(config).__name__}")
    if len(config.data_shape) != data_ndim:
        kind = "points, data_shape (D,)" if data_ndim == 1 else "images, data_shape (C, H, W)"
        raise ValueError(f"{network.__name__} takes {kind}; got {config.data_shape} "
                         "(make_generator and make_discriminator pick the class)")


class Generator(nn.Module):
    """Base of the generators: z (B, latent_dim) [+ labels (B,)] -> samples (B, *data_shape).

    What every generator does the same way: keep its config, check z and append the
    one-hot label, draw z, map its tanh outputs to images. Build a network with
    :func:`make_generator` (or :class:`MLPGenerator`, :class:`DCGANGenerator`).
    """

    data_ndim: ClassVar[int]  # len(config.data_shape) a network takes: 1 or 3

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        if type(self) is Generator:
            raise TypeError("Generator is the base class of the generators: build one with "
                            "make_generator(config), MLPGenerator or DCGANGenerator")
        _check_config(config, type(self), self.data_ndim)
        self.config = config

    def _code(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """The generator's input: z (B, latent_dim) with the one-hot label of y (B,)
        appended when the network is conditional, (B, latent_dim + num_classes)."""
        check_tensor(z, "z", ndim=2, last_dims=(self.config.latent_dim,),
                     dtype=next(self.parameters()).dtype)
        return append_label(z, y, self.config.num_classes)

    def images(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Samples as images in [0, 1] (the tanh output mapped from [-1, 1])."""
        return (self.forward(z, y) + 1) / 2

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes z ~ N(0, I), (n, latent_dim), on the network's device."""
        device = next(self.parameters()).device
        return torch.randn(n, self.config.latent_dim, generator=generator).to(device)


class MLPGenerator(Generator):
    """z (B, latent_dim) [+ labels] -> points (B, D): ``config.layers`` ReLU layers of width
    ``config.hidden``, then a linear output."""

    data_ndim = 1  # len(config.data_shape): points (D,)

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        width_in = config.latent_dim + config.num_classes
        layers = _mlp_hidden(width_in, config, nn.ReLU, spectral=False)
        layers.append(nn.Linear(config.hidden if config.layers else width_in,
                                config.data_shape[0]))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self._code(z, y)  # (B, d_z) -> (B, d_z + K), K = num_classes
        return self.net(h)   # (B, d_z + K) -> (B, hidden) per hidden layer -> (B, D)


class DCGANGenerator(Generator):
    """z (B, latent_dim) [+ labels] -> images (B, C, H, W) in [-1, 1], H = W = 28 or 8:
    a linear projection to (2 * hidden) channels at side s = H / 4 or H / 2, then one
    transposed convolution that doubles the side and one layer to C channels."""

    data_ndim = 3  # len(config.data_shape): images (C, H, W)

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        c, h, w = config.data_shape
        ch = config.hidden
        bn = (lambda n: nn.BatchNorm2d(n)) if config.batch_norm else (lambda n: nn.Identity())
        if (h, w) == (28, 28):
            self.side, self.channels = 7, 2 * ch
            self.net = nn.Sequential(
                nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), bn(ch), nn.ReLU(),  # 7 -> 14
                nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh(),              # 14 -> 28
            )
        elif (h, w) == (8, 8):
            self.side, self.channels = 4, 2 * ch
            self.net = nn.Sequential(
                nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), bn(ch), nn.ReLU(),  # 4 -> 8
                nn.Conv2d(ch, c, 3, 1, 1), nn.Tanh(),                        # 8 -> 8
            )
        else:
            raise ValueError(f"conv generators exist for 28x28 and 8x8, got {h}x{w}")
        width = self.channels * self.side * self.side
        self.project = nn.Sequential(
            nn.Linear(config.latent_dim + config.num_classes, width),
            nn.BatchNorm1d(width) if config.batch_norm else nn.Identity(),
            nn.ReLU(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # ch = config.hidden; s = 7 for 28x28 images, 4 for 8x8
        h = self._code(z, y)  # (B, d_z) -> (B, d_z + K), K = num_classes
        h = self.project(h)  # (B, d_z + K) -> (B, 2*ch * s * s)
        h = h.view(len(z), self.channels, self.side, self.side)  # -> (B, 2*ch, s, s)
        upsample, norm, relu, to_image, tanh = self.net
        h = relu(norm(upsample(h)))  # (B, 2*ch, s, s) -> (B, ch, 2s, 2s): 7 -> 14 or 4 -> 8
        # 28x28: (B, ch, 14, 14) -> (B, C, 28, 28); 8x8: (B, ch, 8, 8) -> (B, C, 8, 8)
        return tanh(to_image(h))


class Discriminator(nn.Module):
    """Base of the discriminators: samples (B, *data_shape) [+ labels (B,)] -> one logit or
    critic score per sample, (B,).

    What every discriminator does the same way: keep its config, check the samples and the
    labels, and score its features h (B, width) with a linear head plus, when conditional,
    the projection <embed(y), h>. Build a network with :func:`make_discriminator` (or
    :class:`MLPDiscriminator`, :class:`DCGANDiscriminator`).
    """

    data_ndim: ClassVar[int]  # len(config.data_shape) a network takes: 1 or 3

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        if type(self) is Discriminator:
            raise TypeError("Discriminator is the base class of the discriminators: build "
                            "one with make_discriminator(config), MLPDiscriminator or "
                            "DCGANDiscriminator")
        _check_config(config, type(self), self.data_ndim)
        self.config = config

    def _add_head(self, width: int) -> None:
        """The linear head (width -> 1) and, when conditional, the label embedding
        (num_classes -> width); built after the features, in this order."""
        sn, k = self.config.spectral_norm, self.config.num_classes
        self.head = _maybe_sn(nn.Linear(width, 1), sn)
        self.embed = _maybe_sn(nn.Embedding(k, width), sn) if k else None

    def _check_inputs(self, x: torch.Tensor, y: torch.Tensor | None) -> None:
        """Raise unless x is (B, *data_shape) and y is given exactly when conditional."""
        check_tensor(x, "x", ndim=len(self.config.data_shape) + 1,
                     last_dims=self.config.data_shape, dtype=next(self.parameters()).dtype)
        if self.embed is not None and y is None:
            raise ValueError(f"this conditional discriminator needs labels y in "
                             f"0..{self.config.num_classes - 1}")
        if self.embed is None and y is not None:
            raise ValueError("this discriminator is not conditional but labels were given")

    def _score(self, h: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Features h (B, width) [+ labels y (B,)] -> scores (B,)."""
        out = self.head(h).squeeze(1)  # (B, width) -> (B, 1) -> (B,)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)  # projection: (B, width) . (B, width) -> (B,)
        return out


class MLPDiscriminator(Discriminator):
    """points (B, D) [+ labels] -> (B,): ``config.layers`` LeakyReLU(0.2) layers of width
    ``config.hidden``, then the linear head."""

    data_ndim = 1  # len(config.data_shape): points (D,)

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        width = config.hidden if config.layers else config.data_shape[0]
        self.features = nn.Sequential(*_mlp_hidden(
            config.data_shape[0], config, lambda: nn.LeakyReLU(0.2),
            spectral=config.spectral_norm))
        self._add_head(width)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        self._check_inputs(x, y)
        h = self.features(x)   # (B, D) -> (B, hidden) per hidden layer (no layers: (B, D))
        return self._score(h, y)  # (B, width) -> (B,)


class DCGANDiscriminator(Discriminator):
    """images (B, C, H, W) [+ labels] -> (B,), H = W = 28 or 8: two strided convolutions
    with LeakyReLU(0.2), to (2 * hidden) channels at side 7 or 4, then the linear head."""

    data_ndim = 3  # len(config.data_shape): images (C, H, W)

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        c, h, w = config.data_shape
        ch, sn = config.hidden, config.spectral_norm
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
        self._add_head(width)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # ch = config.hidden; the features are self.features(x), as VAE-GAN reads them
        self._check_inputs(x, y)
        conv1, act1, conv2, act2, flatten = self.features
        h = act1(conv1(x))  # 28x28: (B, C, 28, 28) -> (B, ch, 14, 14); 8x8: -> (B, ch, 8, 8)
        h = act2(conv2(h))  # 28x28: -> (B, 2*ch, 7, 7); 8x8: -> (B, 2*ch, 4, 4)
        h = flatten(h)      # -> (B, 2*ch * 7 * 7) or (B, 2*ch * 4 * 4)
        return self._score(h, y)  # (B, width) -> (B,)


def _network_class(config: GANConfig, *classes: type) -> type:
    """The one of ``classes`` built for the data_shape of ``config``."""
    if not isinstance(config, GANConfig):
        raise TypeError(f"config: expected a GANConfig, got {type(config).__name__}")
    for cls in classes:
        if cls.data_ndim == len(config.data_shape):
            return cls
    raise ValueError(f"config.data_shape: expected (D,) for points or (C, H, W) for images, "
                     f"got {config.data_shape}")


def make_generator(config: GANConfig) -> Generator:
    """The generator for ``config.data_shape``: :class:`MLPGenerator` for points (D,),
    :class:`DCGANGenerator` for images (C, 28, 28) or (C, 8, 8)."""
    return _network_class(config, MLPGenerator, DCGANGenerator)(config)


def make_discriminator(config: GANConfig) -> Discriminator:
    """The discriminator for ``config.data_shape``: :class:`MLPDiscriminator` for points
    (D,), :class:`DCGANDiscriminator` for images (C, 28, 28) or (C, 8, 8)."""
    return _network_class(config, MLPDiscriminator, DCGANDiscriminator)(config)


def to_model_space(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> [-1, 1], the range of the generator's tanh."""
    return 2 * x - 1


def n_parameters(module: nn.Module) -> int:
    return sum(math.prod(p.shape) for p in module.parameters())
