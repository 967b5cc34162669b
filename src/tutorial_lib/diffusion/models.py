"""Noise-prediction networks eps_theta(z_t, t): an MLP for 2-D points and a small U-Net for
28x28 digits. Both take the step number t (B,) int64 and embed it with sinusoids
(Vaswani et al. 2017, as Ho et al. 2020 do), so that one network serves every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.validation import check_positive_int, check_tensor

__all__ = ["DenoiserConfig", "MLPDenoiser", "UNetConfig", "UNetDenoiser", "step_embedding"]


def step_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of the step numbers: (B,) int64 -> (B, dim), dim even;
    [cos(t w_k), sin(t w_k)] with w_k = max_period^(-k / (dim/2)), k = 0..dim/2 - 1."""
    if dim % 2:
        raise ValueError(f"dim: expected an even number of features, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


@dataclass(frozen=True)
class DenoiserConfig:
    data_dim: int = 2  # coordinates of a data point
    hidden: int = 128  # units per hidden layer
    layers: int = 3  # hidden layers
    embed_dim: int = 32  # features of the step embedding


class MLPDenoiser(nn.Module):
    """eps_theta for points: (B, data_dim), (B,) -> (B, data_dim). The step embedding is
    added to every hidden layer, so that each layer can act differently at each step."""

    def __init__(self, config: DenoiserConfig = DenoiserConfig()) -> None:
        super().__init__()
        for name in ("data_dim", "hidden", "layers", "embed_dim"):
            check_positive_int(getattr(config, name), f"config.{name}")
        self.config = config
        self.inp = nn.Linear(config.data_dim, config.hidden)
        self.embed = nn.Sequential(nn.Linear(config.embed_dim, config.hidden), nn.SiLU())
        self.hidden = nn.ModuleList(nn.Linear(config.hidden, config.hidden)
                                    for _ in range(config.layers))
        self.out = nn.Linear(config.hidden, config.data_dim)

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", ndim=2, last_dims=(self.config.data_dim,))
        e = self.embed(step_embedding(t, self.config.embed_dim))
        h = self.inp(z)
        for layer in self.hidden:
            h = layer(nn.functional.silu(h + e))
        return self.out(nn.functional.silu(h))


@dataclass(frozen=True)
class UNetConfig:
    channels: int = 1  # image channels
    size: int = 28  # image height = width, a multiple of 4 (two halvings)
    base: int = 32  # feature maps at 28x28; 2x base at 14x14 and 7x7
    embed_dim: int = 64  # features of the step embedding
    groups: int = 8  # GroupNorm groups (divides base)


class _ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, the step embedding added, twice, plus a skip connection."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.embed = nn.Linear(embed_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        out = self.conv1(nn.functional.silu(self.norm1(h)))
        out = out + self.embed(e)[:, :, None, None]
        out = self.conv2(nn.functional.silu(self.norm2(out)))
        return out + self.skip(h)


class UNetDenoiser(nn.Module):
    """eps_theta for digits: (B, C, S, S), (B,) -> (B, C, S, S), S = ``config.size`` (28 for
    MNIST). Two resolutions down and up (28 -> 14 -> 7 -> 14 -> 28), a residual block at
    each, skip connections across."""

    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        for name in ("channels", "size", "base", "embed_dim", "groups"):
            check_positive_int(getattr(config, name), f"config.{name}")
        if config.size % 4:
            raise ValueError(f"config.size: expected a multiple of 4 (the U-Net halves it "
                             f"twice), got {config.size}")
        if config.base % config.groups:
            raise ValueError(f"config.groups ({config.groups}) must divide config.base "
                             f"({config.base})")
        self.config = config
        c, c2, e, g = config.base, 2 * config.base, config.embed_dim, config.groups
        self.embed = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.inp = nn.Conv2d(config.channels, c, 3, padding=1)
        self.down1 = _ResBlock(c, c, e, g)  # 28x28
        self.pool1 = nn.Conv2d(c, c, 3, stride=2, padding=1)  # 28x28 -> 14x14
        self.down2 = _ResBlock(c, c2, e, g)  # 14x14
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # 14x14 -> 7x7
        self.mid = _ResBlock(c2, c2, e, g)  # 7x7
        self.up2 = nn.ConvTranspose2d(c2, c2, 4, stride=2, padding=1)  # 7x7 -> 14x14
        self.dec2 = _ResBlock(2 * c2, c, e, g)  # 14x14, with the skip from down2
        self.up1 = nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)  # 14x14 -> 28x28
        self.dec1 = _ResBlock(2 * c, c, e, g)  # 28x28, with the skip from down1
        self.out = nn.Sequential(nn.GroupNorm(g, c), nn.SiLU(),
                                 nn.Conv2d(c, config.channels, 3, padding=1))

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        size = self.config.size
        check_tensor(z, "z", ndim=4, last_dims=(self.config.channels, size, size))
        e = self.embed(step_embedding(t, self.config.embed_dim))
        h1 = self.down1(self.inp(z), e)
        h2 = self.down2(self.pool1(h1), e)
        h = self.mid(self.pool2(h2), e)
        h = self.dec2(torch.cat([self.up2(h), h2], 1), e)
        h = self.dec1(torch.cat([self.up1(h), h1], 1), e)
        return self.out(h)
