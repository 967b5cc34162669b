"""A Wasserstein critic trained alone against a fixed "generator" (Gulrajani et al., 2017,
Figure 1).

:func:`train_critic_against` trains only the critic, with weight clipping (Arjovsky et al.,
2017) or with the gradient penalty, on real samples against samples of a fixed
distribution (in the paper: the real data plus Gaussian noise), so that what the critic
learns depends on its Lipschitz constraint alone. :func:`critic_surface` evaluates it on a
grid for a contour plot (``gan.game.plot_game_state`` draws it), and
:func:`fraction_at_clip` measures how many of the clipped critic's weights sit at the
limit +-c.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tutorial_lib.gan import losses as L
from tutorial_lib.gan.models import GANConfig, MLPDiscriminator
from tutorial_lib.validation import check_number, check_positive_int

CONSTRAINTS = ("clip", "gp")


@dataclass
class CriticRun:
    """A critic trained to (near) optimality, and its estimate of W1 over training."""

    critic: MLPDiscriminator
    constraint: str  # "clip" or "gp"
    w1: list[float]  # E f(x) - E f(x_fake) on each step's batches (the dual estimate)


def train_critic_against(sample_real: Callable[[int], torch.Tensor],
                         sample_fake: Callable[[int], torch.Tensor], constraint: str,
                         steps: int = 2000, batch_size: int = 256, lr: float = 1e-4,
                         betas: tuple[float, float] = (0.5, 0.9), clip: float = 0.01,
                         gp_weight: float = 10.0, hidden: int = 128, layers: int = 3,
                         seed: int = 0) -> CriticRun:
    """Maximize E f(x) - E f(x_fake) over an MLP critic f: points (B, 2) -> (B, 1), with
    ``constraint`` "clip" (every weight clamped to [-clip, clip] after each step) or "gp"
    (+ gp_weight * E (||grad f(x_hat)|| - 1)^2). Adam(lr, betas) as in the paper's toy
    code; the same network, optimizer and steps for both, so only the constraint differs.
    """
    if constraint not in CONSTRAINTS:
        raise ValueError(f"constraint: expected one of {CONSTRAINTS}, got {constraint!r}")
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    check_number(lr, "lr", low=0, low_open=True)
    check_number(clip, "clip", low=0, low_open=True)
    torch.manual_seed(seed)
    critic = MLPDiscriminator(GANConfig(data_shape=(2,), hidden=hidden, layers=layers))
    if constraint == "clip":
        L.clip_weights(critic, clip)  # start inside the constraint set
    opt = torch.optim.Adam(critic.parameters(), lr=lr, betas=betas)
    w1 = []
    for _ in range(steps):
        real, fake = sample_real(batch_size), sample_fake(batch_size)
        loss = L.critic_loss_wasserstein(critic(real), critic(fake))  # -(E f(x) - E f(fake))
        w1.append(-loss.item())
        if constraint == "gp":
            loss = loss + gp_weight * L.gradient_penalty(critic, real, fake)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if constraint == "clip":
            L.clip_weights(critic, clip)
    critic.eval()
    return CriticRun(critic, constraint, w1)


@torch.no_grad()
def critic_surface(critic: torch.nn.Module, bounds: tuple[float, float, float, float],
                   resolution: int = 100) -> np.ndarray:
    """f on a (resolution x resolution) grid over bounds = (x_min, x_max, y_min, y_max);
    row i is y = ys[i], column j is x = xs[j] (the layout of ``plt.contour(xs, ys, f)``)."""
    check_positive_int(resolution, "resolution")
    if not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
        raise ValueError(f"bounds must be (xmin, xmax, ymin, ymax) with min < max, got {bounds}")
    xs = torch.linspace(bounds[0], bounds[1], resolution)
    ys = torch.linspace(bounds[2], bounds[3], resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (R*R, 2)
    return critic(grid).reshape(resolution, resolution).numpy()


@torch.no_grad()
def fraction_at_clip(critic: torch.nn.Module, clip: float, tol: float = 0.01) -> float:
    """The fraction of the critic's weights (all parameters) within tol * clip of +-clip."""
    check_number(clip, "clip", low=0, low_open=True)
    w = torch.cat([p.reshape(-1) for p in critic.parameters()]).abs()
    return float(((w - clip).abs() <= tol * clip).float().mean())
