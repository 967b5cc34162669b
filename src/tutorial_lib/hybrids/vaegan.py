"""VAE-GAN (Larsen et al., 2016): a VAE whose reconstructions are judged in a
discriminator's feature space, and whose decoder is also a GAN generator.

Three networks, built from the book's parts: the VAE's convolutional encoder q(z | x)
and Bernoulli decoder (:class:`tutorial_lib.vae.VAE`) and the DCGAN discriminator
(:class:`tutorial_lib.gan.Discriminator`). With x~ = Dec(z), z ~ q(z | x), and
x_p = Dec(z_p), z_p ~ N(0, I) (all decoded as grey-level means sigmoid(logits)):

- L_prior = KL(q(z | x) || N(0, I))
- L_pixel = -E_q log p(x | z), the Bernoulli reconstruction term of the ELBO
- L_feature = 1/2 ||Dis_l(x) - Dis_l(x~)||^2, the "learned similarity": a Gaussian
  log-likelihood in the features of the discriminator's last convolutional layer
- L_GAN = log D(x) + log(1 - D(x~)) + log(1 - D(x_p))

Larsen et al.'s updates (their Algorithm 1), each network with its own gradient:
the encoder descends L_prior + L_feature (+ L_pixel), the decoder descends
gamma (L_feature + L_pixel) plus the non-saturating generator loss on x~ and x_p, and
the discriminator ascends L_GAN. The encoder never sees the adversarial loss. Larsen et
al. drop the pixel term; the book keeps it (``pixel_weight``), so the model still has
an ELBO and a likelihood to report, and measures what the other terms change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.gan import losses as L
from tutorial_lib.gan.models import DCGANDiscriminator, GANConfig, to_model_space
from tutorial_lib.hybrids.train import HybridTrainConfig
from tutorial_lib.vae.gaussian import kl_to_standard_normal, reparameterize
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.sampling import sample_images


@dataclass(frozen=True)
class VAEGANConfig:
    """Architecture and loss weights of a VAE-GAN."""

    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W): 28x28 or 8x8
    latent_dim: int = 32  # d_z
    hidden: int = 256  # the VAE's fully connected width
    channels: tuple[int, int] = (32, 64)  # the VAE's conv channels
    disc_channels: int = 64  # the DCGAN discriminator's base channel count
    pixel_weight: float = 1.0  # weight of L_pixel (0: Larsen et al.'s pure feature loss)
    feature_weight: float = 1.0  # weight of L_feature, the learned similarity
    gamma: float = 1.0  # decoder: weight of the reconstruction terms against L_GAN
    adversarial_weight: float = 30.0  # decoder: weight of the generator loss
    r1_gamma: float = 0.0  # R1 penalty on the discriminator (0: off)


# How the weights were chosen: single-seed trials on mnist5k, 150 s on one CPU thread
# each, digit-feature FID of 1,000 samples (chapter 9; the reference VAE under the same
# conditions: 184.8). With R1 (gamma 1) on the discriminator: adversarial weight 1:
# FID 481.0 (recall 0.13); 10: 353.7; 30: 254.1; 100: 195.7. Without R1 (steps are
# cheaper, about 1,200 instead of 950): weight 30: 159.3 (precision 0.57, recall 0.61);
# 100: 430.4 (recall 0.10); 30 with the feature term switched off: 596.5, recall 0.002
# and only 8 classes (the decoder collapsed). The learned similarity is what keeps the
# adversarial decoder covering the data.


def feature_distance(features_real: torch.Tensor, features_rec: torch.Tensor
                     ) -> torch.Tensor:
    """-log N(f(x); f(x_rec), I) up to a constant: 1/2 ||f(x) - f(x_rec)||^2 per row.

    Args:
        features_real, features_rec: (B, F), the discriminator's features of the images
            and of their reconstructions.
    Returns:
        (B,).
    """
    return 0.5 * (features_real - features_rec).pow(2).sum(1)


class VAEGAN(nn.Module):
    """Encoder and decoder (``self.vae``) plus a discriminator (``self.disc``)."""

    def __init__(self, config: VAEGANConfig = VAEGANConfig()) -> None:
        super().__init__()
        self.config = config
        self.vae = VAE(VAEConfig(image_shape=config.image_shape, latent_dim=config.latent_dim,
                                 arch="conv", hidden=(config.hidden,),
                                 channels=config.channels, likelihood="bernoulli"))
        self.disc = DCGANDiscriminator(GANConfig(data_shape=config.image_shape,
                                                 hidden=config.disc_channels))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Dis_l(x): the discriminator's last convolutional features; (B, C, H, W) in
        [0, 1] -> (B, F)."""
        return self.disc.features(to_model_space(x))

    def feature_distance(self, x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
        """L_feature per image: 1/2 ||Dis_l(x) - Dis_l(x_rec)||^2, (B,)."""
        return feature_distance(self.features(x), self.features(x_rec))

    def make_optimizers(self, config: HybridTrainConfig) -> dict[str, torch.optim.Optimizer]:
        def adam(module: nn.Module) -> torch.optim.Optimizer:
            return torch.optim.Adam(module.parameters(), lr=config.lr, betas=config.betas)

        return {"encoder": adam(self.vae.encoder), "decoder": adam(self.vae.decoder),
                "disc": adam(self.disc)}

    def discriminator_step(self, x: torch.Tensor, z: torch.Tensor, z_p: torch.Tensor,
                           opt: torch.optim.Optimizer) -> float:
        """D ascends L_GAN: real x (B, C, H, W) in [0, 1] against the reconstructions
        Dec(z) and the prior samples Dec(z_p) (held fixed), plus gamma/2 R1 if asked.
        Returns the loss it descends."""
        with torch.no_grad():
            fakes = torch.sigmoid(self.vae.decoder(torch.cat([z, z_p])))
        real = to_model_space(x)
        loss = L.discriminator_loss(self.disc(real), self.disc(to_model_space(fakes)))
        if self.config.r1_gamma > 0:
            loss = loss + self.config.r1_gamma / 2 * L.r1_penalty(self.disc, real)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def encoder_decoder_step(self, x: torch.Tensor, x_binary: torch.Tensor,
                             mu: torch.Tensor, log_var: torch.Tensor, z: torch.Tensor,
                             z_p: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer]
                             ) -> dict[str, float]:
        """One forward pass, a gradient for each network: the encoder descends
        L_prior + L_rec, the decoder gamma L_rec + w L_GAN's generator loss, with
        L_rec = pixel_weight L_pixel + feature_weight L_feature. q(z | x) = N(mu, exp
        log_var), z a draw from it, z_p from the prior, all (B, d_z). Returns the terms."""
        c, encoder, decoder = self.config, self.vae.encoder, self.vae.decoder
        logits = decoder(z)
        x_rec = torch.sigmoid(logits)
        prior = kl_to_standard_normal(mu, log_var).mean()
        pixel = -self.vae.log_px_given_z(x_binary, logits).mean()
        feature = self.feature_distance(x, x_rec).mean()
        reconstruction = c.pixel_weight * pixel + c.feature_weight * feature
        x_p = torch.sigmoid(decoder(z_p))
        adversarial = L.generator_loss_nonsaturating(
            self.disc(to_model_space(torch.cat([x_rec, x_p]))))
        loss_enc = prior + reconstruction
        loss_dec = c.gamma * reconstruction + c.adversarial_weight * adversarial
        enc_params, dec_params = list(encoder.parameters()), list(decoder.parameters())
        enc_grads = torch.autograd.grad(loss_enc, enc_params, retain_graph=True)
        dec_grads = torch.autograd.grad(loss_dec, dec_params)
        for params, grads, name in ((enc_params, enc_grads, "encoder"),
                                    (dec_params, dec_grads, "decoder")):
            for p, g in zip(params, grads, strict=True):
                p.grad = g
            optimizers[name].step()
        return {"kl": prior.item(), "pixel": pixel.item(), "feature": feature.item(),
                "adversarial": adversarial.item()}

    def train_step(self, x: torch.Tensor, x_binary: torch.Tensor,
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        """One update of each network on a batch; x (B, C, H, W) grey levels in [0, 1],
        x_binary (B, C, H, W) a binarization of x for the Bernoulli term."""
        mu, log_var = self.vae.encode(x)
        z = reparameterize(mu, log_var)
        z_p = torch.randn_like(z)
        loss_d = self.discriminator_step(x, z, z_p, optimizers["disc"])
        terms = self.encoder_decoder_step(x, x_binary, mu, log_var, z, z_p, optimizers)
        self.disc.zero_grad(set_to_none=True)  # the decoder's gradient reached D too
        return {"loss_d": loss_d, **terms}

    def sample_images(self, n: int, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
        """n images (n, C, H, W) in [0, 1], on the CPU: decoder means at z ~ N(0, I)."""
        return sample_images(self.vae, n, generator=generator)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder means at the posterior means, (B, C, H, W) in [0, 1]."""
        return self.vae(x)
