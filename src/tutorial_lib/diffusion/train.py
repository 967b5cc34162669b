"""Training a noise predictor with the simplified loss (Ho et al. 2020, Algorithm 1):
draw a batch, a step t and a noise for each example, regress the noise; keep a moving
average of the weights for sampling (Ho et al. use a decay of 0.9999 over 800k steps; the
book's runs are far shorter and use 0.999).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from tutorial_lib.device import get_device
from tutorial_lib.diffusion.losses import noise_loss
from tutorial_lib.diffusion.schedule import NoiseSchedule
from tutorial_lib.training import (
    Budget,
    DivergenceGuard,
    ProgressBar,
    ema_decay,
    ema_update,
    record,
)
from tutorial_lib.validation import check_number, check_positive_int, check_tensor

__all__ = ["DiffusionRun", "DiffusionTrainConfig", "train_diffusion"]


@dataclass(frozen=True)
class DiffusionTrainConfig:
    steps: int = 5000  # optimizer steps
    batch_size: int = 256  # examples per step
    lr: float = 1e-3  # Adam's learning rate
    ema: float | None = 0.999  # decay of the weights' moving average; None: no average
    grad_clip: float | None = 1.0  # largest gradient norm (Ho et al. 2020 clip at 1)
    max_seconds: float | None = None  # stop earlier on a wall-clock budget
    log_every: int = 50  # steps between history entries


@dataclass
class DiffusionRun:
    """What training returns: the loss history and, with ``ema``, the averaged network
    (the one to sample from)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    ema_model: nn.Module | None = None
    steps: int = 0
    seconds: float = 0.0

    @property
    def sampler(self) -> nn.Module | None:
        """The network to sample from: the moving average when there is one."""
        return self.ema_model


def train_diffusion(model: nn.Module, data: torch.Tensor | Callable[[int], torch.Tensor],
                    schedule: NoiseSchedule,
                    config: DiffusionTrainConfig = DiffusionTrainConfig(), *,
                    device: torch.device | str | None = None,
                    generator: torch.Generator | None = None,
                    progress: bool = True) -> DiffusionRun:
    """Train ``model`` (an eps_theta(z, t)) on ``data`` with the simplified loss.

    Args:
        data: (N, ...) training examples, e.g. (N, 2) points or (N, 1, 28, 28) images
            scaled to [-1, 1], from which minibatches are drawn uniformly with replacement;
            or a function ``n -> (n, ...)`` that draws fresh examples (a toy distribution's
            ``sample``, as the GAN chapters train).
        generator: the randomness of batches, steps and noises (CPU generator).
    Returns:
        A :class:`DiffusionRun`; ``model`` is trained in place.
    Raises:
        TrainingDiverged: a loss or parameter stopped being finite; the networks hold their
            last good state.
    """
    if callable(data):
        draw = data
    else:
        check_tensor(data, "data", finite=True, nonempty=True)

        def draw(n: int) -> torch.Tensor:
            return data[torch.randint(len(data), (n,), generator=generator)]
    check_positive_int(config.steps, "config.steps")
    check_positive_int(config.batch_size, "config.batch_size")
    check_positive_int(config.log_every, "config.log_every")
    check_number(config.lr, "config.lr", low=0, low_open=True)
    if config.ema is not None:
        check_number(config.ema, "config.ema", low=0, high=1, high_open=True)
    device = get_device(device)
    model.to(device).train()
    ema_model = copy.deepcopy(model).eval() if config.ema is not None else None
    run = DiffusionRun(ema_model=ema_model)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    budget = Budget(config.steps, config.max_seconds)
    guard = DivergenceGuard(model, history=run.history, partial=run)
    with ProgressBar("train diffusion", budget.total, enabled=progress) as bar:
        for step in range(1, config.steps + 1):
            x = draw(config.batch_size).to(device)
            loss = noise_loss(model, x, schedule, generator=generator).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            value = loss.item()
            guard.check(step, {"loss": value})
            if ema_model is not None:
                ema_update(ema_model, model, ema_decay(config.ema, step))
            if step % config.log_every == 0 or step == 1:
                record(run.history, step=float(step), loss=value)
            bar.advance({"loss": f"{value:.4f}"})
            run.steps, run.seconds = step, budget.tick(step)
            if budget.spent:
                break
    model.eval()
    return run
