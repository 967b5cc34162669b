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
from tutorial_lib.diffusion.models import DenoiserConfig
from tutorial_lib.diffusion.schedule import NoiseSchedule, cosine_schedule
from tutorial_lib.diffusion.train import DiffusionTrainConfig

__all__ = ["ToyRecipe", "toy_recipe"]


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
