"""The book's diffusion recipes.

On the 2-D mixtures (ring of 8, grid of 25): a cosine schedule with T = 200 steps, an MLP
of three hidden layers of 256 units, Adam at 1e-3 with batches of 256, a moving average of
the weights (decay 0.999) and, for sampling, the posterior variances sigma~_t^2. What the
moving average and the choice of variances change is measured by ``bench diffusion
--ablation`` and stored with its command (``results/bench_diffusion.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tutorial_lib.budget import Budget, get_budget
from tutorial_lib.diffusion.images import ImageDiffusionConfig
from tutorial_lib.diffusion.models import DenoiserConfig
from tutorial_lib.diffusion.schedule import NoiseSchedule, cosine_schedule
from tutorial_lib.diffusion.train import DiffusionTrainConfig

__all__ = ["ImageRecipe", "ToyRecipe", "image_recipe", "toy_recipe"]


@dataclass(frozen=True)
class ToyRecipe:
    schedule: NoiseSchedule  # the forward process
    model: DenoiserConfig  # the noise predictor
    train: DiffusionTrainConfig  # the optimizer and its budget
    sigma: str  # the sampler's step variances ("beta" | "posterior")

    @property
    def summary(self) -> str:
        return (f"cosine T={self.schedule.T}, MLP {self.model.layers}x{self.model.hidden}, "
                f"{self.train.steps} steps of {self.train.batch_size}, lr {self.train.lr:g}, "
                f"EMA {self.train.ema}, sigma {self.sigma}")


def toy_recipe(budget: Budget | str | None = None) -> ToyRecipe:
    """The recipe for the ring and the grid at ``budget`` (smoke: a few seconds; book: about
    a minute on one CPU thread; full: five times the book's steps)."""
    b = get_budget(budget)
    return ToyRecipe(
        schedule=cosine_schedule(b.pick(smoke=50, book=200, full=200)),
        model=DenoiserConfig(data_dim=2, hidden=b.pick(smoke=64, book=256, full=256), layers=3),
        train=DiffusionTrainConfig(steps=b.steps(6000, minimum=100), batch_size=256, lr=1e-3,
                                   ema=0.999),
        sigma="posterior",
    )


@dataclass(frozen=True)
class ImageRecipe:
    model: ImageDiffusionConfig  # the U-Net, the schedule and the sampler
    train: DiffusionTrainConfig  # the optimizer (its steps are set by the caller's clock)
    nll_draws: int  # uniform steps per test image for the ELBO estimate


def image_recipe(budget: Budget | str | None = None) -> ImageRecipe:
    """The recipe for 28x28 digits: a cosine schedule of T = 1000 steps (as Nichol &
    Dhariwal 2021), the U-Net with 32 feature maps, Adam at 5e-4 with batches of 64,
    gradients clipped at norm 1, a moving average of the weights (0.999), and sampling on a
    respaced chain of 100 steps with the posterior variances. The smoke budget shrinks the
    network and the chains so that a notebook runs in seconds."""
    b = get_budget(budget)
    smoke = b.name == "smoke"
    return ImageRecipe(
        model=ImageDiffusionConfig(base=8 if smoke else 32, groups=4 if smoke else 8,
                                   embed_dim=16 if smoke else 64, T=50 if smoke else 1000,
                                   sample_steps=10 if smoke else 100, sigma="posterior"),
        train=DiffusionTrainConfig(steps=b.steps(6000, minimum=20), batch_size=64, lr=5e-4,
                                   ema=0.999, grad_clip=1.0),
        nll_draws=b.pick(smoke=2, book=20, full=50),
    )
