"""The book's GAN recipes: architecture and training settings, chosen by measurement.

One place for the numbers that chapters 6-8, ``bench gan`` and ``train gan`` share, so
the notebooks, the benchmark and the reference checkpoints train the same way.

Toy recipes (2-D mixtures) are named by *variant*: a loss, plus the regularizer or
architecture change it is used with in the literature. Image recipes are DCGAN
(Radford et al., 2016) with the non-saturating loss.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tutorial_lib.budget import Budget, get_budget
from tutorial_lib.gan.models import GANConfig
from tutorial_lib.gan.train import GANTrainConfig


@dataclass(frozen=True)
class ToyVariant:
    """A loss variant with the settings it is trained with on the 2-D mixtures."""

    name: str
    summary: str  # one line for tables and the book
    loss: str  # GANTrainConfig.variant
    spectral_norm: bool = False
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    book_steps: int = 5000  # generator steps at the book budget


TOY_VARIANTS: dict[str, ToyVariant] = {
    v.name: v for v in (
        ToyVariant("minimax", "original saturating generator loss", "minimax"),
        ToyVariant("nonsaturating", "non-saturating generator loss", "nonsaturating"),
        ToyVariant("wgan-clip", "Wasserstein, weight clipping, 5 critic steps", "wgan-clip",
                   lr_g=5e-5, lr_d=5e-5, book_steps=2000),
        ToyVariant("wgan-gp", "Wasserstein, gradient penalty, 5 critic steps", "wgan-gp",
                   lr_g=1e-4, lr_d=1e-4, book_steps=2000),
        ToyVariant("hinge-sn", "hinge loss, spectral norm on D", "hinge", spectral_norm=True),
        ToyVariant("r1", "non-saturating loss, R1 penalty on D", "r1"),
    )
}
RECOMMENDED_TOY = "r1"


def toy_recipe(variant: str, budget: Budget | str | None = None, seed: int = 0,
               ) -> tuple[GANConfig, GANTrainConfig]:
    """Architecture and training settings for ``variant`` on a 2-D mixture."""
    if variant not in TOY_VARIANTS:
        raise ValueError(f"unknown toy variant {variant!r}; expected one of "
                         f"{', '.join(TOY_VARIANTS)}")
    v, b = TOY_VARIANTS[variant], get_budget(budget)
    model = GANConfig(data_shape=(2,), latent_dim=2, hidden=128, layers=3,
                      spectral_norm=v.spectral_norm)
    train = GANTrainConfig(variant=v.loss, steps=b.steps(v.book_steps, minimum=20),
                           batch_size=256, lr_g=v.lr_g, lr_d=v.lr_d, r1_gamma=0.1,
                           decay_from=0.5, seed=seed)
    return model, train


def image_recipe(image_shape: tuple[int, int, int], budget: Budget | str | None = None,
                 seed: int = 0, num_classes: int = 0, book_steps: int = 3000,
                 ) -> tuple[GANConfig, GANTrainConfig]:
    """DCGAN for 28x28 or 8x8 images: non-saturating loss, Adam(2e-4, beta1 = 0.5),
    an exponential moving average of the generator."""
    b = get_budget(budget)
    model = GANConfig(data_shape=tuple(image_shape), latent_dim=64, hidden=64,
                      num_classes=num_classes)
    train = GANTrainConfig(variant="nonsaturating", steps=b.steps(book_steps, minimum=20),
                           batch_size=64, lr_g=2e-4, lr_d=2e-4, ema=0.999, seed=seed)
    return model, train


def with_steps(train: GANTrainConfig, steps: int) -> GANTrainConfig:
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    return replace(train, steps=steps)
