"""Chapter 2: KL and JSD estimates against closed forms, and the two KL fits."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as dist

from tutorial_lib.probability.divergences import (
    fit_gaussian_forward_kl,
    fit_gaussian_reverse_kl,
    gaussian_mixture_1d,
    jensen_shannon_grid,
    kl_divergence_grid,
    kl_monte_carlo,
    monte_carlo,
)

GRID = torch.linspace(-20, 20, 40_001, dtype=torch.float64)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 2), (0.5, 0.3, -1, 1.5), (2, 1, 2, 1)])
def test_kl_estimates_match_torch_closed_form(m1, s1, m2, s2) -> None:
    p = dist.Normal(torch.tensor(float(m1), dtype=torch.float64), float(s1))
    q = dist.Normal(torch.tensor(float(m2), dtype=torch.float64), float(s2))
    exact = float(dist.kl_divergence(p, q))
    assert kl_divergence_grid(p.log_prob, q.log_prob, GRID) == pytest.approx(exact, abs=1e-6)
    x = p.sample((200_000,))
    mc = kl_monte_carlo(p.log_prob, q.log_prob, x)
    assert abs(mc.value - exact) < 5 * mc.stderr + 1e-9


def test_kl_is_asymmetric_and_nonnegative() -> None:
    p, q = dist.Normal(0.0, 1.0), dist.Normal(1.0, 2.0)
    a = kl_divergence_grid(p.log_prob, q.log_prob, GRID.float())
    b = kl_divergence_grid(q.log_prob, p.log_prob, GRID.float())
    assert a > 0 and b > 0 and abs(a - b) > 0.5


def test_jsd_is_symmetric_bounded_and_saturates() -> None:
    p = dist.Normal(0.0, 1.0)
    values = []
    for delta in (0.0, 1.0, 3.0, 12.0):
        q = dist.Normal(delta, 1.0)
        pq = jensen_shannon_grid(p.log_prob, q.log_prob, GRID.float())
        qp = jensen_shannon_grid(q.log_prob, p.log_prob, GRID.float())
        assert pq == pytest.approx(qp, abs=1e-6)
        values.append(pq)
    assert values[0] == pytest.approx(0.0, abs=1e-6)
    assert values == sorted(values)
    assert values[-1] == pytest.approx(math.log(2), abs=1e-4)  # disjoint: log 2


def test_jsd_matches_its_definition_through_kl() -> None:
    p, q = dist.Normal(0.0, 1.0), dist.Normal(1.5, 0.7)

    def log_m(x: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(p.log_prob(x), q.log_prob(x)) - math.log(2)

    grid = GRID.float()
    expected = 0.5 * (kl_divergence_grid(p.log_prob, log_m, grid)
                      + kl_divergence_grid(q.log_prob, log_m, grid))
    assert jensen_shannon_grid(p.log_prob, q.log_prob, grid) == pytest.approx(expected, 1e-6)


def test_forward_kl_fit_is_moment_matching() -> None:
    target = gaussian_mixture_1d([-2.0, 2.0], [0.6, 0.6])
    x = target.sample((400_000,))
    mean, std = fit_gaussian_forward_kl(x)
    assert mean == pytest.approx(0.0, abs=0.02)
    assert std == pytest.approx(math.sqrt(0.6**2 + 2.0**2), abs=0.01)
    # and it is the minimizer: nudging the moments raises KL(p || q)
    best = kl_divergence_grid(target.log_prob, dist.Normal(mean, std).log_prob, GRID.float())
    for dm, ds in [(0.2, 0), (0, 0.2), (0, -0.2)]:
        other = dist.Normal(mean + dm, std + ds).log_prob
        assert kl_divergence_grid(target.log_prob, other, GRID.float()) > best


def test_reverse_kl_fit_seeks_a_single_mode() -> None:
    target = gaussian_mixture_1d([-2.0, 2.0], [0.6, 0.6])
    mean, std, history = fit_gaussian_reverse_kl(target.log_prob, init_mean=1.0,
                                                 init_std=0.5, steps=600)
    assert mean == pytest.approx(2.0, abs=0.05) and std == pytest.approx(0.6, abs=0.05)
    # one of two equal modes: KL(q || p) -> log 2
    assert float(torch.tensor(history["kl"][-100:]).mean()) == pytest.approx(math.log(2), 0.02)


def test_monte_carlo_standard_error() -> None:
    g = torch.Generator().manual_seed(0)
    est = monte_carlo(torch.randn(10_000, generator=g) * 2 + 1)
    assert est.stderr == pytest.approx(2 / 100, rel=0.05)
    assert abs(est.value - 1) < 4 * est.stderr
    with pytest.raises(ValueError, match="at least 2"):
        monte_carlo(torch.ones(1))


def test_bad_grid_and_mixture_arguments() -> None:
    p = dist.Normal(0.0, 1.0)
    with pytest.raises(ValueError, match="holds 0.0000 of q's probability mass"):
        jensen_shannon_grid(p.log_prob, dist.Normal(30.0, 1.0).log_prob, GRID.float())
    with pytest.raises(ValueError, match="strictly increasing"):
        kl_divergence_grid(p.log_prob, p.log_prob, torch.tensor([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="sum to 1"):
        gaussian_mixture_1d([0.0, 1.0], [1.0, 1.0], [0.5, 0.6])
