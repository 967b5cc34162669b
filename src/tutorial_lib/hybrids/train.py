"""One training loop for the hybrids: minibatches, named steps, a time budget.

Each hybrid model owns its optimizers (:meth:`make_optimizers`) and its update
(:meth:`train_step`), which returns the losses of that step as plain floats. The loop
draws minibatches, keeps a history, shows a progress bar, stops at ``steps`` or after
``max_seconds``, and stops with :class:`HybridDiverged` when a loss becomes NaN or
explodes, restoring the state after the last good step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from tutorial_lib.progress import finish_early
from tutorial_lib.snapshot import LastGoodState
from tutorial_lib.validation import check_images, check_positive_int


class HybridDiverged(RuntimeError):
    """A loss became NaN or exploded; the model holds its state after the last good step."""


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


class HybridModel(Protocol):
    """What :func:`train_hybrid` needs from a model."""

    def make_optimizers(self, config: HybridTrainConfig) -> dict[str, torch.optim.Optimizer]:
        ...

    def train_step(self, x: torch.Tensor, x_binary: torch.Tensor,
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        ...


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
    """
    from tutorial_lib.device import get_device

    config = config or HybridTrainConfig()
    check_images(x_train, "x_train")
    check_positive_int(config.steps, "steps")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device() if device is None else torch.device(device)
    model.to(device)
    model.train()
    torch.manual_seed(config.seed)
    optimizers = model.make_optimizers(config)
    gen = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"step": [], "seconds": []}
    good = LastGoodState(model)
    start = time.perf_counter()
    bar = tqdm(range(1, config.steps + 1), desc=f"train {type(model).__name__}",
               disable=not progress,  # under a time budget the step count is unknown
               total=float("inf") if config.max_seconds is not None else None)
    for step in bar:
        idx = torch.randint(len(x_train), (config.batch_size,), generator=gen)
        x = x_train[idx].to(device)
        losses = model.train_step(x, torch.bernoulli(x), optimizers)
        if not all(math.isfinite(v) and abs(v) <= config.explode for v in losses.values()):
            good.restore()
            shown = ", ".join(f"{k} {v:.3g}" for k, v in losses.items())
            raise HybridDiverged(
                f"training diverged at step {step} ({shown}); the model was restored to its "
                f"state at step {step - 1}. Try a lower learning rate."
            )
        good.save()
        seconds = time.perf_counter() - start
        history["step"].append(float(step))
        history["seconds"].append(seconds)
        for key, value in losses.items():
            history.setdefault(key, []).append(value)
        if step % 50 == 0:
            bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()})
        if config.max_seconds is not None and seconds >= config.max_seconds:
            finish_early(bar, step)
            break
    model.eval()
    return history
