"""One training loop for the hybrids: minibatches, named steps, a time budget.

Each hybrid model owns its optimizers (:meth:`make_optimizers`) and its update
(:meth:`train_step`, made of the model's named steps), which returns the losses of that
step as plain floats. The loop draws minibatches and adds what every loop of the book has
(:mod:`tutorial_lib.training`): it keeps a history, shows a progress bar, stops at
``steps`` or after ``max_seconds``, and stops with
:class:`~tutorial_lib.training.TrainingDiverged` when a loss or parameter stops being
finite (or a loss explodes), restoring the state after the last good step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tutorial_lib.device import get_device
from tutorial_lib.training import Budget, DivergenceGuard, ProgressBar, record
from tutorial_lib.validation import check_images, check_positive_int


@dataclass(frozen=True)
class HybridTrainConfig:
    """How to train a hybrid (one field per knob)."""

    steps: int = 10_000  # parameter updates (each updates every network once)
    max_seconds: float | None = None  # wall-clock budget; stops at whichever comes first
    batch_size: int = 64
    lr: float = 2e-4  # Adam, every network
    betas: tuple[float, float] = (0.5, 0.999)  # beta1 = 0.5 as in DCGAN
    explode: float = 1e7  # |loss| above this counts as divergence
    seed: int = 0


def train_hybrid(
    model: nn.Module,
    x_train: torch.Tensor,
    config: HybridTrainConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` in place on images ``x_train`` (N, C, H, W) in [0, 1].

    Every step draws a minibatch of grey-level images ``x`` and a dynamic binarization
    ``x_binary ~ Bernoulli(x)`` (for Bernoulli decoders) and calls
    ``model.train_step(x, x_binary, optimizers)``.

    Returns:
        history: ``step``, ``seconds`` and one list per loss the model reports.

    Raises:
        TrainingDiverged: a loss or parameter stopped being finite (or a loss exceeded
            ``config.explode``); the model holds its state after the last good step.
    """
    config = config or HybridTrainConfig()
    check_images(x_train, "x_train")
    check_positive_int(config.steps, "steps")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device(device)
    model.to(device)
    model.train()
    torch.manual_seed(config.seed)
    optimizers = model.make_optimizers(config)
    gen = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"step": [], "seconds": []}
    guard = DivergenceGuard(model, history=history, explode=config.explode)
    budget = Budget(config.steps, config.max_seconds)
    with ProgressBar(f"train {type(model).__name__}", budget.total, progress) as bar:
        for step in range(1, config.steps + 1):
            x = x_train[torch.randint(len(x_train), (config.batch_size,), generator=gen)]
            x = x.to(device)
            losses = model.train_step(x, torch.bernoulli(x), optimizers)
            guard.check(step, losses)
            record(history, step=float(step), seconds=budget.tick(step), **losses)
            bar.advance(losses if step % 50 == 0 else None)
            if budget.spent:
                break
    model.eval()
    return history
