"""Noise schedules: the numbers alpha_1, ..., alpha_T that fix the forward process.

In the book's notation (chapter 12's definition of a Gaussian diffusion model), the step
``q(z_t | z_{t-1}) = N(sqrt(alpha_t) z_{t-1}, (1 - alpha_t) I)`` keeps ``alpha_t`` of the
signal's variance; ``alpha_bar_t = alpha_1 ... alpha_t`` is what is left after t steps.
Ho et al. (2020) write ``beta_t = 1 - alpha_t`` and use a linear schedule of beta from
1e-4 to 0.02 over T = 1000 steps; Nichol & Dhariwal (2021, eq. 17) define the cosine
schedule through alpha_bar directly, which destroys the image more evenly over t.

Steps are numbered 1..T as in the book; tensors indexed by step have length T + 1 with a
placeholder at index 0 (``alpha_bar[0] = 1``: z_0 = x carries no noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tutorial_lib.validation import check_number, check_positive_int, check_tensor

__all__ = ["NoiseSchedule", "cosine_schedule", "linear_schedule", "respace"]


@dataclass(frozen=True)
class NoiseSchedule:
    """alpha_t for t = 1..T (float64) and what follows from them.

    Attributes:
        alphas: (T + 1,) with ``alphas[0] = 1`` and ``alphas[t]`` in (0, 1) for t >= 1.
        steps: the original step each index stands for, (T + 1,) int64; ``arange(T + 1)``
            unless the schedule was made by :func:`respace` (then a subsequence).
    """

    alphas: torch.Tensor
    steps: torch.Tensor

    def __post_init__(self) -> None:
        a = check_tensor(self.alphas, "alphas", ndim=1)
        if len(a) < 3:
            raise ValueError(f"alphas: expected T >= 2 steps plus the placeholder at index 0, "
                             f"got length {len(a)}")
        if a[0] != 1 or not bool(((a[1:] > 0) & (a[1:] < 1)).all()):
            raise ValueError("alphas: expected alphas[0] = 1 and every alpha_t in (0, 1), got "
                             f"min {float(a[1:].min()):.3g}, max {float(a[1:].max()):.3g}")
        if self.steps.shape != a.shape:
            raise ValueError(f"steps {tuple(self.steps.shape)} must match alphas {tuple(a.shape)}")

    @property
    def T(self) -> int:  # noqa: N802 (the book's symbol)
        """The number of steps."""
        return len(self.alphas) - 1

    @property
    def alpha_bars(self) -> torch.Tensor:
        """alpha_bar_t = prod_{s <= t} alpha_s, (T + 1,), with alpha_bar_0 = 1."""
        return torch.cumprod(self.alphas, 0)

    @property
    def posterior_variances(self) -> torch.Tensor:
        """sigma~_t^2 = (1 - alpha_bar_{t-1})(1 - alpha_t) / (1 - alpha_bar_t) for t >= 2,
        the variance of q(z_{t-1} | z_t, x); (T + 1,) with 0 at t = 0 and t = 1 (z_0 = x is
        then known)."""
        ab = self.alpha_bars
        out = torch.zeros_like(ab)
        out[2:] = (1 - ab[1:-1]) * (1 - self.alphas[2:]) / (1 - ab[2:])
        return out

    def __repr__(self) -> str:
        ab = self.alpha_bars
        return (f"NoiseSchedule(T={self.T}, alpha_1={float(self.alphas[1]):.5f}, "
                f"alpha_bar_T={float(ab[-1]):.2e})")


def _from_alphas(alphas: torch.Tensor) -> NoiseSchedule:
    full = torch.cat([torch.ones(1, dtype=torch.float64), alphas.to(torch.float64)])
    return NoiseSchedule(full, torch.arange(len(full)))


def linear_schedule(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02  # noqa: N803
                    ) -> NoiseSchedule:
    """Ho et al. (2020): beta_t = 1 - alpha_t rising linearly from ``beta_1`` to ``beta_T``.

    With fewer steps than 1000 the betas are scaled by 1000 / T so that alpha_bar_T stays
    near zero (as Nichol & Dhariwal 2021 do for their linear schedule)."""
    T = check_positive_int(T, "T")
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps, got {T}")
    scale = 1000 / T
    b1 = check_number(beta_1 * scale, "beta_1 * 1000 / T", low=0, high=1, low_open=True,
                      high_open=True)
    bT = check_number(beta_T * scale, "beta_T * 1000 / T", low=b1, high=1, high_open=True)
    return _from_alphas(1 - torch.linspace(b1, bT, T, dtype=torch.float64))


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999  # noqa: N803
                    ) -> NoiseSchedule:
    """Nichol & Dhariwal (2021, eq. 17): alpha_bar_t = f(t) / f(0) with
    f(t) = cos^2(pi/2 (t/T + s) / (1 + s)); each 1 - alpha_t is clipped at ``max_beta`` so
    that the last steps are not singular."""
    T = check_positive_int(T, "T")
    if T < 2:
        raise ValueError(f"T: expected at least 2 steps, got {T}")
    check_number(s, "s", low=0, low_open=True)
    check_number(max_beta, "max_beta", low=0, high=1, low_open=True, high_open=True)
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(math.pi / 2 * (t / T + s) / (1 + s)) ** 2
    alpha_bar = f / f[0]
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)
    return _from_alphas(1 - betas)


def respace(schedule: NoiseSchedule, steps: int) -> NoiseSchedule:
    """The same forward marginals on ``steps`` evenly spaced steps of ``schedule``.

    Keeping steps s_1 < ... < s_K (s_K = T) and setting alpha'_k = alpha_bar_{s_k} /
    alpha_bar_{s_{k-1}} gives a chain whose alpha_bar'_k equals alpha_bar_{s_k}: a network
    trained on the full chain predicts the noise of z_{s_k} unchanged, and sampling takes K
    steps instead of T (Nichol & Dhariwal 2021, section 4). The result's ``steps`` maps each
    new step k to s_k, the step number the network was trained with."""
    K = check_positive_int(steps, "steps")  # noqa: N806
    if not 2 <= K <= schedule.T:
        raise ValueError(f"steps: expected 2 <= steps <= T = {schedule.T}, got {K}")
    kept = torch.linspace(1, schedule.T, K, dtype=torch.float64).round().long()
    kept = torch.cat([torch.zeros(1, dtype=torch.long), kept])
    ab = schedule.alpha_bars[kept]
    alphas = ab / torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
    return NoiseSchedule(alphas, schedule.steps[kept])
