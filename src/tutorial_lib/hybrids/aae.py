"""The adversarial autoencoder (Makhzani et al., 2016): an autoencoder whose codes are
pushed towards a prior by a discriminator in latent space.

A deterministic encoder z = Enc(x) and a Bernoulli decoder (the conv networks of
:class:`tutorial_lib.vae.VAE`, with the encoder's mean as the code), and an MLP
discriminator on z (:class:`tutorial_lib.gan.Discriminator` with ``data_shape=(d_z,)``).
Each step has the paper's two phases:

1. reconstruction: encoder and decoder descend -log p(x | Enc(x));
2. regularization: the discriminator learns to tell z_p ~ p(z) = N(0, I) from codes
   Enc(x), then the encoder (the generator of this GAN) descends the non-saturating loss
   on its codes.

When the discriminator cannot tell them apart, the aggregate posterior
q(z) = E_x[delta(z - Enc(x))] matches p(z), so decoding z ~ p(z) gives data-like images.
The VAE reaches for the same goal through the KL term of every single posterior; the AAE
matches the aggregate only, and has no likelihood bound to report.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.gan import losses as L
from tutorial_lib.gan.models import GANConfig, MLPDiscriminator
from tutorial_lib.hybrids.train import HybridTrainConfig
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.sampling import sample_images


@dataclass(frozen=True)
class AAEConfig:
    """Architecture of an adversarial autoencoder."""

    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W): 28x28 or 8x8
    latent_dim: int = 8  # d_z
    hidden: int = 256  # the autoencoder's fully connected width
    channels: tuple[int, int] = (32, 64)  # the autoencoder's conv channels
    disc_hidden: int = 256  # the latent discriminator's MLP width
    disc_layers: int = 2  # its hidden layers


class AAE(nn.Module):
    """Autoencoder (``self.autoencoder``) plus a latent discriminator (``self.disc``)."""

    def __init__(self, config: AAEConfig = AAEConfig()) -> None:
        super().__init__()
        self.config = config
        self.autoencoder = VAE(VAEConfig(
            image_shape=config.image_shape, latent_dim=config.latent_dim, arch="conv",
            hidden=(config.hidden,), channels=config.channels, likelihood="bernoulli"))
        self.disc = MLPDiscriminator(GANConfig(data_shape=(config.latent_dim,),
                                               hidden=config.disc_hidden,
                                               layers=config.disc_layers))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code z = Enc(x): (B, C, H, W) in [0, 1] -> (B, d_z)."""
        return self.autoencoder.encode(x)[0]

    def make_optimizers(self, config: HybridTrainConfig) -> dict[str, torch.optim.Optimizer]:
        def adam(params) -> torch.optim.Optimizer:
            return torch.optim.Adam(params, lr=config.lr, betas=config.betas)

        return {"autoencoder": adam(self.autoencoder.parameters()),
                "disc": adam(self.disc.parameters()),
                "encoder": adam(self.autoencoder.encoder.parameters())}

    def reconstruction_step(self, x: torch.Tensor, x_binary: torch.Tensor,
                            opt: torch.optim.Optimizer) -> float:
        """Phase 1: encoder and decoder descend -log p(x_binary | Enc(x)); x (B, C, H, W)
        grey levels in [0, 1], x_binary its binarization. Returns the loss."""
        ae = self.autoencoder
        reconstruction = -ae.log_px_given_z(x_binary, ae.decode(self.encode(x))).mean()
        opt.zero_grad(set_to_none=True)
        reconstruction.backward()
        opt.step()
        return reconstruction.item()

    def discriminator_step(self, x: torch.Tensor, opt: torch.optim.Optimizer) -> float:
        """Phase 2a: the latent discriminator tells z_p ~ N(0, I) (real) from the codes
        Enc(x) (fake, held fixed). Returns its loss."""
        with torch.no_grad():
            codes = self.encode(x)
        prior = torch.randn_like(codes)
        loss = L.discriminator_loss(self.disc(prior), self.disc(codes))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def encoder_step(self, x: torch.Tensor, opt: torch.optim.Optimizer) -> float:
        """Phase 2b: the encoder, the generator of this GAN, descends the non-saturating
        loss -E log D(Enc(x)). Returns the loss."""
        loss = L.generator_loss_nonsaturating(self.disc(self.encode(x)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self.disc.zero_grad(set_to_none=True)  # the step's gradient reached D too
        return loss.item()

    def train_step(self, x: torch.Tensor, x_binary: torch.Tensor,
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        """The two phases on one batch; x grey levels in [0, 1], x_binary its
        binarization, both (B, C, H, W)."""
        return {"reconstruction": self.reconstruction_step(x, x_binary,
                                                           optimizers["autoencoder"]),
                "loss_d": self.discriminator_step(x, optimizers["disc"]),
                "loss_g": self.encoder_step(x, optimizers["encoder"])}

    def sample_images(self, n: int, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1], on the CPU: decoder means at z ~ N(0, I)."""
        return sample_images(self.autoencoder, n, generator=generator)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder means at the codes, (B, C, H, W) in [0, 1]."""
        return self.autoencoder(x)
