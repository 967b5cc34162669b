"""The book's VAE recipes: the reference VAE and the plain baseline, chosen by measurement.

Shared by ``bench vae``, chapter 5's notebook and the head-to-head of chapter 10, as
:mod:`tutorial_lib.gan.recipes` holds the GAN's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """A model and how to train it."""

    name: str
    model: dict[str, Any]  # VAEConfig fields (image_shape is taken from the data)
    train: dict[str, Any]  # VAETrainConfig fields (max_seconds comes from the budget)


# The plain baseline of the literature: 784-400-20, Adam, early stopping.
PLAIN = Recipe("plain MLP VAE", {"arch": "mlp", "hidden": (400,), "latent_dim": 20},
               {"lr": 1e-3, "patience": 30})

# The book's reference VAE: convolutional, a wider latent space, KL warm-up, and (for
# mnist5k) training digits shifted by up to one pixel. Chosen by measurement;
# on mnist5k, 5 minutes, test NLL (k = 1,000): conv alone 95.6, conv + lr decay 96.1,
# conv + 2-pixel shifts 94.5, conv + 1-pixel shifts 92.4, plain MLP 101.4 nats.
REFERENCE = {
    "mnist5k": Recipe("reference conv VAE",
                      {"arch": "conv", "hidden": (256,), "latent_dim": 32},
                      {"lr": 1e-3, "patience": 30, "warmup_epochs": 10, "shift": 1}),
    "mnist": Recipe("reference conv VAE",
                    {"arch": "conv", "hidden": (256,), "latent_dim": 32},
                    {"lr": 1e-3, "patience": 20, "warmup_epochs": 10}),
    # 8x8 digits (binomial likelihood): conv 256/32 reached 82.9, conv 128/16 83.9, with
    # 1-pixel shifts 88.3 (a pixel is an eighth of the image), plain MLP 86.2 nats.
    "digits": Recipe("reference conv VAE",
                     {"arch": "conv", "hidden": (256,), "latent_dim": 32},
                     {"lr": 1e-3, "patience": 40, "warmup_epochs": 10}),
}


def likelihood_for(data_name: str) -> str:
    """The pixel likelihood the benchmark uses for a data set.

    MNIST-style images are dynamically binarized and modelled as Bernoulli. The 8x8 digits
    are counts 0..16 (inked pixels in a 4x4 block of a 32x32 bitmap): they keep their grey
    levels and are modelled exactly as Binomial(16, p).
    """
    return "binomial16" if data_name == "digits" else "bernoulli"
