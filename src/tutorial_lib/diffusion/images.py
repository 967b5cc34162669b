"""A diffusion model of digits (28x28, or any square size divisible by 4): the U-Net noise
predictor with its schedule, a sampler that returns images in [0, 1], and the ELBO on
binarized digits in nats (chapter 5's unit).

Images live in [-1, 1] inside the model (x -> 2x - 1), as in Ho et al. (2020). For binary
digits the decoder at t = 1 is the Gaussian discretized into two bins split at 0
(:data:`~tutorial_lib.diffusion.losses.DECODERS`), so that the bound is a bound on the
probability of the same 784 binary pixels that the VAE's NLL is measured on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.diffusion.losses import SIGMAS, elbo_terms
from tutorial_lib.diffusion.models import UNetConfig, UNetDenoiser
from tutorial_lib.diffusion.sampling import ancestral_sample
from tutorial_lib.diffusion.schedule import NoiseSchedule, cosine_schedule, linear_schedule, respace
from tutorial_lib.validation import check_images, check_positive_int

__all__ = ["ImageDiffusion", "ImageDiffusionConfig", "from_model_space", "to_model_space"]

SCHEDULES = ("cosine", "linear")


@dataclass(frozen=True)
class ImageDiffusionConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, S, S), S a multiple of 4
    base: int = 32  # the U-Net's feature maps at full resolution
    embed_dim: int = 64  # features of the step embedding
    groups: int = 8  # GroupNorm groups
    T: int = 1000  # steps of the forward process
    schedule: str = "cosine"  # "cosine" | "linear"
    sample_steps: int = 100  # steps of the respaced chain used to sample (<= T)
    sigma: str = "posterior"  # the sampler's step variances


def to_model_space(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> [-1, 1]."""
    return 2 * x - 1


def from_model_space(z: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (and beyond, from a sampler) -> images in [0, 1], clamped."""
    return ((z + 1) / 2).clamp(0, 1)


class ImageDiffusion(nn.Module):
    """eps_theta for (B, C, 28, 28) images, with the schedule it is trained on."""

    def __init__(self, config: ImageDiffusionConfig = ImageDiffusionConfig()) -> None:
        super().__init__()
        if config.schedule not in SCHEDULES:
            raise ValueError(f"config.schedule: expected one of {SCHEDULES}, got "
                             f"{config.schedule!r}")
        if config.sigma not in SIGMAS:
            raise ValueError(f"config.sigma: expected one of {SIGMAS}, got {config.sigma!r}")
        check_positive_int(config.T, "config.T")
        if not 2 <= config.sample_steps <= config.T:
            raise ValueError(f"config.sample_steps: expected 2..T = {config.T}, got "
                             f"{config.sample_steps}")
        c, h, w = config.image_shape
        if h != w:
            raise ValueError(f"config.image_shape: expected square images (C, S, S), got "
                             f"{config.image_shape}")
        self.config = config
        self.denoiser = UNetDenoiser(UNetConfig(c, h, config.base, config.embed_dim,
                                                config.groups))

    @property
    def schedule(self) -> NoiseSchedule:
        make = cosine_schedule if self.config.schedule == "cosine" else linear_schedule
        return make(self.config.T)

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The predicted noise: (B, C, S, S), (B,) -> (B, C, S, S)."""
        return self.denoiser(z, t)

    @torch.no_grad()
    def sample_images(self, n: int, generator: torch.Generator | None = None,
                      steps: int | None = None, batch_size: int = 500) -> torch.Tensor:
        """``n`` images in [0, 1], (n, C, S, S) on the CPU, by ancestral sampling on a chain
        of ``steps`` (default ``config.sample_steps``) respaced steps, the implied image
        clipped to [-1, 1] at every step."""
        check_positive_int(n, "n")
        steps = self.config.sample_steps if steps is None else steps
        chain = self.schedule if steps == self.config.T else respace(self.schedule, steps)
        device = next(self.parameters()).device
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, n, batch_size):
            m = min(batch_size, n - start)
            z, _ = ancestral_sample(self, (m, *self.config.image_shape), chain,
                                    sigma=self.config.sigma, generator=generator,
                                    device=device, clip=(-1.0, 1.0))
            out.append(from_model_space(z))
        self.train(was_training)
        return torch.cat(out)

    @torch.no_grad()
    def nll_bound(self, x: torch.Tensor, draws: int = 10,
                  generator: torch.Generator | None = None, batch_size: int = 500
                  ) -> tuple[float, float]:
        """-ELBO in nats per image for binary images ``x`` (N, C, S, S) with values 0 and 1,
        with the two-level decoder and the step variances sigma_t^2 = 1 - alpha_t (the
        prior term exact, the sum over steps estimated by ``draws`` uniform steps per image).

        Returns:
            (mean over images, its standard error over images and draws): an upper bound on
            the model's NLL, in expectation.
        """
        check_images(x, "x", binary=True)
        check_positive_int(draws, "draws")
        device = next(self.parameters()).device
        per_image = []
        for start in range(0, len(x), batch_size):
            xb = to_model_space(x[start:start + batch_size].to(device))
            total = torch.zeros(len(xb), device=device)
            for _ in range(draws):
                terms = elbo_terms(self, xb, self.schedule, sigma="beta", decoder="binary",
                                   generator=generator)
                total += terms["prior"] + terms["denoising"] + terms["reconstruction"]
            per_image.append((total / draws).cpu())
        values = torch.cat(per_image).double()
        return float(values.mean()), float(values.std() / math.sqrt(len(values)))
