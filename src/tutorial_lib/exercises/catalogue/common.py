"""What the chapters' exercises share: seeded inputs and the binary cross-entropy.

Every input is drawn from a ``torch.Generator`` seeded per exercise, so a check sees the
same cases on every run and on every machine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.exercises.checker import Case

SHAPES = ((3, 5), (7, 4), (5, 11))  # (B, d): B, d distinct and not 2, so factors tell apart


def seeded(seed: int) -> torch.Generator:
    """A CPU random generator seeded with ``seed``: one per exercise's inputs."""
    return torch.Generator().manual_seed(seed)


def randn(gen: torch.Generator, *shape: int, scale: float = 1.0, shift: float = 0.0
          ) -> torch.Tensor:
    """Seeded normal inputs N(shift, scale^2) of ``shape``, float32."""
    return torch.randn(*shape, generator=gen) * scale + shift


def uniform(gen: torch.Generator, *shape: int, low: float, high: float) -> torch.Tensor:
    """Seeded inputs uniform on [low, high) of ``shape``, float32."""
    return torch.rand(*shape, generator=gen) * (high - low) + low


def log_weight_cases(big: bool) -> list[Case]:
    """log p(x, z_k) and log q(z_k | x) of shape (K, B), for chapter 3's ELBO and chapter
    5's IWAE bound; ``big``: log-joints near -800, where exp underflows to 0."""
    gen, out = seeded(3), []
    for k, b in ((4, 3), (9, 5), (6, 7)):
        log_q = randn(gen, k, b, scale=2.0, shift=-3.0)
        log_joint = randn(gen, k, b, scale=3.0, shift=-100.0 if not big else -800.0)
        out.append(Case((log_joint, log_q), f"log_joint, log_q of shape (K={k}, B={b})", b))
    return out


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of ``logits`` (any shape) against a constant label, averaged:
    the discriminator's loss on one half of its batch (chapters 6 and 7)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


EXTREME = (-120.0, -40.0, -25.0, 25.0, 40.0, 120.0)  # logits where sigmoid rounds to 0 or 1

UNSTABLE_LOGITS = (
    "At logits this large, sigmoid(a) rounds to exactly 0 or 1 in float32 (from |a| of "
    "about 17 on; log(sigmoid(a) + 1e-8) caps the log at -18.4 and binary_cross_entropy "
    "caps it at -100), so log(sigmoid(a)) and log(1 - sigmoid(a)) lose the value a "
    "discriminator that wins produces. Stay in logits: log sigmoid(a) = F.logsigmoid(a) = "
    "-F.softplus(-a), or F.binary_cross_entropy_with_logits")


def extreme_logits(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """Logits of ``shape`` drawn from :data:`EXTREME`, each sign and size present."""
    values = torch.tensor(EXTREME)
    index = torch.randint(len(values), shape, generator=gen)
    flat = index.reshape(-1)
    flat[: len(values)] = torch.arange(len(values))[: flat.numel()]
    return values[index]


def linear_net(gen: torch.Generator, n_in: int, n_out: int, hidden: int = 8,
               scale: float = 0.6) -> nn.Module:
    """A small seeded network n_in -> tanh(hidden) -> n_out, for the whole-step exercises
    (tanh, so that second derivatives, which penalties need, are not zero)."""
    net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return net


def no_gradient_reaches(position: int, what: str, advice: str,
                        cases: Callable[[], Sequence[Case]]) -> Callable[[Callable], str | None]:
    """An extra check: after ``fn(*args).backward()`` on the first case, no gradient may
    reach the parameters of the module at ``position`` (the network held fixed)."""
    def check(fn: Callable) -> str | None:
        args = copy.deepcopy(cases()[0].args)
        loss = fn(*args)
        if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
            return None  # the type and gradient checks have spoken
        loss.backward()
        if any(p.grad is not None and float(p.grad.abs().sum()) > 0
               for p in args[position].parameters()):
            return f"gradients reach {what}: {advice}"
        return None
    return check
