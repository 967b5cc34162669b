"""Chapter 2: both gradient estimators are unbiased and have the derived variances."""

from __future__ import annotations

import math

import pytest
import torch

from tutorial_lib.probability.estimators import (
    reparameterization_gradients,
    score_function_gradients,
    squared_norm,
    squared_norm_pathwise_variance_mean,
    squared_norm_score_variance_mean,
    squared_norm_true_gradient,
)

N = 200_000


def _params(d: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.linspace(0.5, 1.5, d), torch.full((d,), math.log(sigma))


@pytest.mark.parametrize("d,sigma", [(1, 0.3), (1, 1.0), (3, 0.5)])
def test_both_estimators_are_unbiased(d: int, sigma: float) -> None:
    mean, log_std = _params(d, sigma)
    true = squared_norm_true_gradient(mean, log_std)
    g = torch.Generator().manual_seed(0)
    for grads in (score_function_gradients(squared_norm, mean, log_std, N, generator=g),
                  score_function_gradients(squared_norm, mean, log_std, N, generator=g,
                                           baseline="loo"),
                  reparameterization_gradients(squared_norm, mean, log_std, N, generator=g)):
        stderr = grads.std(0) / math.sqrt(N)
        assert torch.all((grads.mean(0) - true).abs() < 5 * stderr + 1e-6)


def test_true_gradient_matches_autograd_of_the_closed_form() -> None:
    mean, log_std = _params(3, 0.7)
    m, s = mean.clone().requires_grad_(), log_std.clone().requires_grad_()
    (m**2 + (2 * s).exp()).sum().backward()  # E||z||^2 = sum mu^2 + sigma^2
    torch.testing.assert_close(squared_norm_true_gradient(mean, log_std),
                               torch.cat([m.grad, s.grad]))


@pytest.mark.parametrize("d,sigma", [(1, 0.2), (1, 1.0), (4, 0.5)])
def test_measured_variances_match_the_derived_formulas(d: int, sigma: float) -> None:
    mean, log_std = _params(d, sigma)
    g = torch.Generator().manual_seed(1)
    sf = score_function_gradients(squared_norm, mean, log_std, N, generator=g)[:, :d]
    rp = reparameterization_gradients(squared_norm, mean, log_std, N, generator=g)[:, :d]
    torch.testing.assert_close(sf.var(0), squared_norm_score_variance_mean(mean, log_std),
                               rtol=0.06, atol=0)
    torch.testing.assert_close(rp.var(0), squared_norm_pathwise_variance_mean(mean, log_std),
                               rtol=0.02, atol=0)


def test_one_dimensional_formula_is_the_textbook_one() -> None:
    mu, sigma = 1.3, 0.4
    exact = (mu**4 + 18 * mu**2 * sigma**2 + 15 * sigma**4) / sigma**2 - 4 * mu**2
    got = squared_norm_score_variance_mean(torch.tensor([mu]), torch.tensor([math.log(sigma)]))
    assert float(got) == pytest.approx(exact, rel=1e-5)


def test_score_function_variance_explodes_as_sigma_shrinks() -> None:
    mean = torch.tensor([1.0])
    small, large = torch.tensor([math.log(0.05)]), torch.tensor([math.log(0.5)])
    assert squared_norm_score_variance_mean(mean, small) > 10 * squared_norm_score_variance_mean(
        mean, large)
    assert squared_norm_pathwise_variance_mean(mean, small) < squared_norm_pathwise_variance_mean(
        mean, large)


def test_baseline_reduces_score_function_variance() -> None:
    mean, log_std = _params(2, 0.3)
    g = torch.Generator().manual_seed(2)
    plain = score_function_gradients(squared_norm, mean, log_std, 50_000, generator=g)
    with_b = score_function_gradients(squared_norm, mean, log_std, 50_000, generator=g,
                                      baseline="loo")
    assert torch.all(with_b.var(0) < plain.var(0))


def test_estimators_check_their_arguments() -> None:
    mean, log_std = _params(2, 0.5)
    with pytest.raises(ValueError, match="differ"):
        score_function_gradients(squared_norm, mean, log_std[:1], 10)
    with pytest.raises(ValueError, match="map \\(n, d\\) to \\(n,\\)"):
        reparameterization_gradients(lambda z: z, mean, log_std, 10)
    with pytest.raises(ValueError, match="baseline"):
        score_function_gradients(squared_norm, mean, log_std, 10, baseline="mean")
