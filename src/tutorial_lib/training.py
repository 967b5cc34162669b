"""What every training loop of the book shares, so that each loop shows only its algorithm.

- :class:`Budget`: stop at whichever of ``steps`` and ``max_seconds`` comes first, and the
  amount of training done (what a learning-rate decay follows).
- :class:`DivergenceGuard`: after each step, the losses and the parameters must be finite;
  otherwise the networks go back to their last good state (:class:`LastGoodState`) and
  training stops with :class:`TrainingDiverged`, which keeps the history so far.
- :func:`record`: the history, one list of plain floats per quantity.
- :class:`ProgressBar`: a ``tqdm.auto`` bar (a widget in notebooks, text elsewhere),
  advanced by hand through tqdm's public API.

Example (one loop, all four)::

    budget, history = Budget(steps, max_seconds), {}
    guard = DivergenceGuard(model, history=history)
    with ProgressBar("train", budget.total, enabled=progress) as bar:
        for step in range(1, steps + 1):
            losses = my_step(...)  # plain floats
            guard.check(step, losses)
            record(history, step=float(step), **losses)
            bar.advance(losses)
            budget.tick(step)
            if budget.spent:
                break
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TextIO

import torch
from torch import nn
from tqdm.auto import tqdm

from tutorial_lib.validation import check_positive_int


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite (or a loss exploded).

    The networks hold their last good state. Attributes: ``step`` (where it diverged),
    ``restored_to`` (the step whose state the networks hold again, 0 for the initial one),
    ``history`` (the history up to ``restored_to``) and ``partial`` (what the loop had
    built so far, e.g. a GAN's run with its averaged generator; None for loops without).
    """

    def __init__(self, message: str, *, step: int, restored_to: int,
                 history: dict[str, list[float]], partial: Any = None) -> None:
        super().__init__(message)
        self.step, self.restored_to = step, restored_to
        self.history, self.partial = history, partial


class Budget:
    """A training budget: ``steps`` (or epochs), and optionally ``max_seconds`` of wall time.

    Training stops at whichever comes first. The clock starts at construction; call
    :meth:`tick` at the end of every step, then read :attr:`done` and :attr:`spent`.
    """

    def __init__(self, steps: int, max_seconds: float | None = None) -> None:
        check_positive_int(steps, "steps")
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError(f"max_seconds: expected a positive number of seconds or None, "
                             f"got {max_seconds!r}")
        self.steps, self.max_seconds = steps, max_seconds
        self.start = time.perf_counter()
        self.step, self.seconds = 0, 0.0

    @property
    def total(self) -> int | None:
        """The number of steps to show on a progress bar: unknown under a time budget."""
        return None if self.max_seconds is not None else self.steps

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.perf_counter() - self.start

    def tick(self, step: int) -> float:
        """Note that ``step`` steps are done; returns the seconds elapsed at this point."""
        self.step, self.seconds = step, self.elapsed()
        return self.seconds

    @property
    def done(self) -> float:
        """Steps done, or their equivalent in time when that is further: with ``max_seconds``
        m and ``t`` seconds elapsed, max(step, min(1, t / m) * steps). ``done / steps`` is the
        fraction of the budget spent."""
        if self.max_seconds is None:
            return self.step
        return max(self.step, min(1.0, self.seconds / self.max_seconds) * self.steps)

    @property
    def spent(self) -> bool:
        """Whether the budget is used up (steps done, or time out)."""
        return self.done >= self.steps


class LastGoodState:
    """Copies of the state dicts of ``modules``, taken at construction and by :meth:`save`.

    Saving copies the parameters and buffers into tensors allocated once, at the start, so
    that it costs one memory copy per tensor (a ``copy.deepcopy`` of the state dicts also
    allocated every tensor anew and took about a tenth of a toy GAN's step).
    """

    def __init__(self, *modules: nn.Module) -> None:
        if not modules or not all(isinstance(m, nn.Module) for m in modules):
            raise TypeError("LastGoodState expects one or more torch.nn.Module objects, got "
                            f"{[type(m).__name__ for m in modules]}")
        self.modules = modules
        with torch.no_grad():
            self.states = [{k: v.detach().clone() for k, v in m.state_dict().items()}
                           for m in modules]

    def save(self) -> None:
        """Copy every module's current parameters and buffers into the saved tensors."""
        with torch.no_grad():
            for module, state in zip(self.modules, self.states, strict=True):
                for key, value in module.state_dict().items():
                    saved = state.get(key)
                    if saved is None or saved.shape != value.shape or \
                            saved.dtype != value.dtype or saved.device != value.device:
                        state[key] = value.detach().clone()  # a tensor that changed form
                    else:
                        saved.copy_(value)

    def restore(self) -> None:
        """Load the saved state back into every module."""
        for module, state in zip(self.modules, self.states, strict=True):
            module.load_state_dict(state)


def all_finite(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether every entry of every tensor is finite (no NaN, no inf).

    Each tensor's largest |entry| is finite exactly when all its entries are (``max``
    propagates NaN); testing those maxima together costs two small operations per tensor
    and one synchronization (on a toy GAN's 16 parameter tensors, 67 microseconds on one
    CPU thread instead of 250 for ``torch.isfinite(p).all()`` tensor by tensor).
    """
    with torch.no_grad():
        largest = [t.abs().max() for t in tensors if t.numel()]
    return not largest or bool(torch.isfinite(torch.stack(largest)).all())


class DivergenceGuard:
    """The check after every step: finite losses and finite parameters, or stop.

    A step can diverge with a finite loss: an overflow in the backward pass puts NaN or
    inf into the updated parameters, and only the next step's loss would show it. So
    :meth:`check` tests the parameters of ``modules`` too, before it saves them as the
    last good state.

    Args:
        modules: the networks being trained (their state is saved and restored).
        history: the loop's history, handed to :class:`TrainingDiverged`.
        partial: what else the exception should carry (e.g. a GAN's run so far).
        explode: a loss with absolute value above this also counts as divergence.
        unit: what one check counts, "step" or "epoch", for the message.
        hint: the advice that ends the message.
    """

    def __init__(self, *modules: nn.Module, history: dict[str, list[float]],
                 partial: Any = None, explode: float = math.inf, unit: str = "step",
                 hint: str = "Try a lower learning rate.") -> None:
        self.good = LastGoodState(*modules)
        self.parameters = [p for m in modules for p in m.parameters()]  # updated in place
        self.history, self.partial = history, partial
        self.explode, self.unit, self.hint = explode, unit, hint
        self.good_at = 0  # the step whose state ``good`` holds (0: the initial state)

    def check(self, at: int, losses: Mapping[str, float], *, save: bool = True) -> None:
        """Raise :class:`TrainingDiverged` after restoring the last good state if a loss is
        not finite (or above ``explode``) or a parameter is not finite; otherwise, with
        ``save``, keep the current state as the last good one, reached at ``at``."""
        losses_ok = all(math.isfinite(v) and abs(v) <= self.explode for v in losses.values())
        if losses_ok and all_finite(self.parameters):
            if save:
                self.good.save()
                self.good_at = at
            return
        self.good.restore()
        shown = ", ".join(f"{name} {value:.3g}" for name, value in losses.items())
        if losses_ok:
            shown += "; a parameter became NaN or infinite"
        state = ("their initial state" if self.good_at == 0
                 else f"their state after {self.unit} {self.good_at}")
        raise TrainingDiverged(
            f"training diverged at {self.unit} {at} ({shown}); the networks were restored to "
            f"{state}. {self.hint}",
            step=at, restored_to=self.good_at, history=self.history, partial=self.partial)


def record(history: dict[str, list[float]], **values: float) -> None:
    """Append each value to its list in ``history`` (creating the list on first use).

    Values must be plain numbers: a tensor would keep its autograd graph (and its memory)
    alive for the whole run.
    """
    for name, value in values.items():
        if isinstance(value, torch.Tensor):
            raise TypeError(f"history[{name!r}]: expected a plain number (use .item()), got "
                            f"a tensor of shape {tuple(value.shape)}")
        history.setdefault(name, []).append(value)


class ProgressBar:
    """A ``tqdm.auto`` bar advanced by hand, one step (or epoch) per :meth:`advance`.

    Use it as a context manager. Leaving the block normally closes the bar as finished,
    also when training stopped before ``total`` (early stopping): the count reached becomes
    the total, so the text bar ends at 100% ("12/12") with its elapsed time, and the
    notebook bar closes green. Leaving it by an exception (a divergence) closes it where it
    stands, which a notebook shows in red. Only tqdm's public API is used.

    Args:
        desc: the bar's label.
        total: the planned number of steps, or None when unknown (a time budget).
        enabled: False shows nothing.
        leave: keep the bar on screen once closed.
        file: where a text bar is written (None: standard error).
    """

    def __init__(self, desc: str, total: int | None, enabled: bool = True,
                 leave: bool = True, file: TextIO | None = None) -> None:
        self.bar = tqdm(total=total, desc=desc, disable=not enabled, leave=leave, file=file)

    def __enter__(self) -> ProgressBar:
        return self

    def advance(self, postfix: Mapping[str, float | str] | None = None) -> None:
        """Count one step; show ``postfix`` (e.g. the losses) beside the bar if given."""
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        bar = self.bar
        if exc_type is None and not bar.disable and bar.total is not None \
                and bar.n < bar.total:
            bar.total = bar.n  # stopped early on purpose: what was done is the whole
            bar.refresh()
        bar.close()


def ema_decay(ema: float, step: int) -> float:
    """The decay of a moving average of weights after training step ``step`` (1, 2, ...):
    ``ema`` once the warm-up is over, so that the first steps do not keep the random
    initial weights (as in the GAN chapters and diffusion models)."""
    return min(ema, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float) -> None:
    """theta_avg <- decay * theta_avg + (1 - decay) * theta for every parameter of
    ``average`` and ``model`` (networks of the same shape); buffers (batch norm's
    running statistics) are copied."""
    for p_avg, p in zip(average.parameters(), model.parameters(), strict=True):
        p_avg.lerp_(p, 1 - decay)
    for b_avg, b in zip(average.buffers(), model.buffers(), strict=True):
        b_avg.copy_(b)
