"""Chapter 6's numerical check, in 1-D: the optimal discriminator and the value -log 4 + 2 JSD.

For fixed densities p_data and p_g, V(D) = E_{p_data} log D(x) + E_{p_g} log(1 - D(x)) is
maximized pointwise by D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al., 2014,
Proposition 1), and V(D*) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1). Here both sides
are computed by quadrature on a grid, and D* is also found by maximizing V numerically.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tutorial_lib.probability.divergences import jensen_shannon_grid

LogDensity = Callable[[torch.Tensor], torch.Tensor]


def _weights(grid: torch.Tensor) -> torch.Tensor:
    dx = grid[1:] - grid[:-1]
    w = torch.zeros_like(grid)
    w[:-1] += dx / 2
    w[1:] += dx / 2
    return w


def value_function(d_values: torch.Tensor, log_p_data: LogDensity, log_p_g: LogDensity,
                   grid: torch.Tensor) -> torch.Tensor:
    """V(D) = int p_data log D + p_g log(1 - D) on a grid, for D given on the grid (n,)."""
    p = log_p_data(grid).double().exp()
    q = log_p_g(grid).double().exp()
    d = d_values.double()
    # xlogy: 0 log 0 = 0 where a density underflows to 0 (float32 has no 1 - 1e-12 < 1)
    value = torch.special.xlogy(p, d) + torch.special.xlogy(q, 1 - d)
    return (_weights(grid).double() * value).sum()


def optimal_discriminator(log_p_data: LogDensity, log_p_g: LogDensity, grid: torch.Tensor
                          ) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g) on the grid (n,), computed stably as a sigmoid."""
    return torch.sigmoid(log_p_data(grid) - log_p_g(grid))


def fit_discriminator(log_p_data: LogDensity, log_p_g: LogDensity, grid: torch.Tensor,
                      steps: int = 3000, lr: float = 0.05) -> torch.Tensor:
    """Maximize V over a free value D(x_i) = sigmoid(l_i) at every grid point, by Adam."""
    logits = torch.zeros_like(grid, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        loss = -value_function(torch.sigmoid(logits), log_p_data, log_p_g, grid)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.sigmoid(logits.detach())


def value_at_optimum(log_p_data: LogDensity, log_p_g: LogDensity, grid: torch.Tensor
                     ) -> tuple[float, float]:
    """(V(D*), -log 4 + 2 JSD(p_data || p_g)): the two sides of Goodfellow et al.'s Theorem 1."""
    # through the logit a = log p_data - log p_g: log D* = logsigmoid(a) and
    # log(1 - D*) = logsigmoid(-a) stay finite where D* rounds to 0 or 1
    lp, lq = log_p_data(grid).double(), log_p_g(grid).double()
    a = lp - lq
    terms = lp.exp() * F.logsigmoid(a) + lq.exp() * F.logsigmoid(-a)
    v = float((_weights(grid).double() * terms).sum())
    return v, -math.log(4) + 2 * jensen_shannon_grid(log_p_data, log_p_g, grid)
