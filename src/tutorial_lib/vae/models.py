"""Encoders, decoders and the VAE that joins them.

Encoders map an image x (B, C, H, W) to the parameters (mu, log_var), each (B, d_z), of
q_phi(z | x) = N(mu, diag(exp(log_var))). Decoders map z (B, d_z) to one output per pixel
(B, C, H, W), which the likelihood reads as logits (Bernoulli) or means (Gaussian).
With ``num_classes`` set, both also take a label y (a conditional VAE): its one-hot code
is concatenated to the encoder's features and to z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.conditioning import append_label
from tutorial_lib.vae.likelihoods import make_likelihood
from tutorial_lib.validation import check_images, check_tensor


def _hidden_layers(width: int, hidden: tuple[int, ...], dropout: float
                   ) -> tuple[list[nn.Module], int]:
    """Linear + ReLU (+ dropout) for each hidden width; returns the layers and the last width."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    return layers, width


class MLPEncoder(nn.Module):
    """x (B, C, H, W) -> flatten -> hidden layers -> (mu, log_var), each (B, d_z)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 hidden: tuple[int, ...] = (400,), num_classes: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        layers, width = _hidden_layers(math.prod(image_shape) + num_classes, hidden, dropout)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 2 * latent_dim)  # -> [mu, log_var]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        h = append_label(x.flatten(1), y, self.num_classes)  # (B, C*H*W + K), K = num_classes
        h = self.body(h)  # -> (B, hidden[-1]), through the hidden layers
        mu, log_var = self.head(h).chunk(2, dim=1)  # -> (B, 2*d_z) -> (B, d_z), (B, d_z)
        return mu, log_var


class MLPDecoder(nn.Module):
    """z (B, d_z) -> hidden layers -> one output per pixel, reshaped to (B, C, H, W)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 hidden: tuple[int, ...] = (400,), num_classes: int = 0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        layers, width = _hidden_layers(latent_dim + num_classes, hidden, dropout)
        layers.append(nn.Linear(width, math.prod(image_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = append_label(z, y, self.num_classes)  # (B, d_z) -> (B, d_z + K), K = num_classes
        h = self.net(h)  # -> (B, hidden[i]) per hidden layer -> (B, C*H*W)
        return h.view(len(z), *self.image_shape)  # -> (B, C, H, W)


class ConvEncoder(nn.Module):
    """Strided convolutions, then a linear head to (mu, log_var).

    28x28: 1 -> c1 (4x4, stride 2): 28x28 -> 14x14; c1 -> c2 (4x4, stride 2): 14x14 -> 7x7.
    8x8:   1 -> c1 (3x3, stride 1): 8x8 -> 8x8;    c1 -> c2 (4x4, stride 2): 8x8 -> 4x4.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 channels: tuple[int, int] = (32, 64), hidden: int = 256,
                 num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        c1, c2 = channels
        if (h, w) == (28, 28):
            self.conv = nn.Sequential(
                nn.Conv2d(c, c1, 4, 2, 1), nn.ReLU(),   # 28x28 -> 14x14
                nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),  # 14x14 -> 7x7
            )
            side = 7
        elif (h, w) == (8, 8):
            self.conv = nn.Sequential(
                nn.Conv2d(c, c1, 3, 1, 1), nn.ReLU(),   # 8x8 -> 8x8
                nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),  # 8x8 -> 4x4
            )
            side = 4
        else:
            raise ValueError(f"convolutional encoders exist for 28x28 and 8x8 images, got {h}x{w}")
        self.fc = nn.Sequential(nn.Linear(c2 * side * side + num_classes, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        # 28x28: (B, C, 28, 28) -> (B, c1, 14, 14) -> (B, c2, 7, 7), s = 7;
        # 8x8: (B, C, 8, 8) -> (B, c1, 8, 8) -> (B, c2, 4, 4), s = 4
        h = self.conv(x).flatten(1)  # -> (B, c2*s*s)
        h = append_label(h, y, self.num_classes)  # -> (B, c2*s*s + K), K = num_classes
        h = self.fc(h)  # -> (B, hidden)
        mu, log_var = self.head(h).chunk(2, dim=1)  # -> (B, 2*d_z) -> (B, d_z), (B, d_z)
        return mu, log_var


class ConvDecoder(nn.Module):
    """A linear layer to a small feature map, then transposed convolutions up to the image.

    28x28: d_z -> c2 x 7x7; (4x4, stride 2): 7x7 -> 14x14; (4x4, stride 2): 14x14 -> 28x28.
    8x8:   d_z -> c2 x 4x4; (4x4, stride 2): 4x4 -> 8x8;   (3x3, stride 1): 8x8 -> 8x8.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int,
                 channels: tuple[int, int] = (32, 64), hidden: int = 256,
                 num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        c1, c2 = channels
        if (h, w) == (28, 28):
            self.side = 7
            self.deconv = nn.Sequential(
                nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),  # 7x7 -> 14x14
                nn.ConvTranspose2d(c1, c, 4, 2, 1),              # 14x14 -> 28x28
            )
        elif (h, w) == (8, 8):
            self.side = 4
            self.deconv = nn.Sequential(
                nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(),  # 4x4 -> 8x8
                nn.Conv2d(c1, c, 3, 1, 1),                       # 8x8 -> 8x8
            )
        else:
            raise ValueError(f"convolutional decoders exist for 28x28 and 8x8 images, got {h}x{w}")
        self.c2 = c2
        self.fc = nn.Sequential(
            nn.Linear(latent_dim + num_classes, hidden), nn.ReLU(),
            nn.Linear(hidden, c2 * self.side * self.side), nn.ReLU(),
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = append_label(z, y, self.num_classes)  # (B, d_z) -> (B, d_z + K), K = num_classes
        h = self.fc(h)  # -> (B, hidden) -> (B, c2*s*s), s = 7 (28x28) or 4 (8x8)
        h = h.view(len(z), self.c2, self.side, self.side)  # -> (B, c2, s, s)
        # 28x28: -> (B, c1, 14, 14) -> (B, C, 28, 28); 8x8: -> (B, c1, 8, 8) -> (B, C, 8, 8)
        return self.deconv(h)


@dataclass(frozen=True)
class VAEConfig:
    """Everything needed to rebuild a VAE (saved next to checkpoints)."""

    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    latent_dim: int = 20  # d_z
    arch: str = "mlp"  # "mlp" | "conv"
    hidden: tuple[int, ...] = (400,)  # MLP hidden widths (encoder; decoder mirrors them)
    channels: tuple[int, int] = (32, 64)  # conv channel widths
    likelihood: str = "bernoulli"  # "bernoulli" | "binomial16" | "gaussian" | "gaussian-learned"
    decoder_variance: float = 0.1  # s^2 of a Gaussian decoder (initial s^2 if learned)
    num_classes: int = 0  # > 0: a conditional VAE on labels 0..num_classes-1
    dropout: float = 0.0  # MLP dropout (regularizes small data sets)


class VAE(nn.Module):
    """q_phi(z | x) (encoder), p(z) = N(0, I), p_theta(x | z) (decoder + likelihood)."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        shape, d, k = config.image_shape, config.latent_dim, config.num_classes
        if d < 1:
            raise ValueError(f"latent_dim must be at least 1, got {d}")
        if config.arch == "mlp":
            self.encoder: nn.Module = MLPEncoder(shape, d, config.hidden, k, config.dropout)
            self.decoder: nn.Module = MLPDecoder(shape, d, tuple(reversed(config.hidden)), k,
                                                 config.dropout)
        elif config.arch == "conv":
            self.encoder = ConvEncoder(shape, d, config.channels, config.hidden[0], k)
            self.decoder = ConvDecoder(shape, d, config.channels, config.hidden[0], k)
        else:
            raise ValueError(f"unknown arch {config.arch!r}; expected 'mlp' or 'conv'")
        self.likelihood = make_likelihood(config.likelihood, config.decoder_variance)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """q_phi(z | x): x (B, C, H, W) in [0, 1] -> (mu, log_var), each (B, d_z)."""
        check_images(x, "x", dtype=next(self.parameters()).dtype)
        if tuple(x.shape[1:]) != self.config.image_shape:
            raise ValueError(f"x: this VAE takes images of shape {self.config.image_shape}, "
                             f"got {tuple(x.shape[1:])}")
        return self.encoder(x, y)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, d_z) -> decoder output (B, C, H, W): logits (Bernoulli) or means (Gaussian)."""
        check_tensor(z, "z", ndim=2, last_dims=(self.latent_dim,))
        return self.decoder(z, y)

    def log_px_given_z(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p_theta(x | z) summed over pixels, (B,)."""
        return self.likelihood.log_prob(x, out)

    def mean_image(self, out: torch.Tensor) -> torch.Tensor:
        """E[x | z] for display: sigmoid(logits) or the Gaussian mean, clipped to [0, 1]."""
        return self.likelihood.mean(out).clamp(0, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruction means E[x | z] with z = mu(x) (deterministic)."""
        mu, _ = self.encode(x, y)  # (B, C, H, W) -> (B, d_z)
        out = self.decode(mu, y)  # -> (B, C, H, W): logits or means
        return self.mean_image(out)  # -> (B, C, H, W) in [0, 1]
