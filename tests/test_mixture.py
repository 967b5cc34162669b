"""Chapter 1: the Gaussian mixture and maximum likelihood."""

from __future__ import annotations

import math

import pytest
import torch
from torch import distributions as dist

from tutorial_lib.data import ring8
from tutorial_lib.probability.mixture import GaussianMixture, fit_mle
from tutorial_lib.training import TrainingDiverged


def test_log_prob_matches_a_hand_computed_mixture() -> None:
    torch.manual_seed(0)
    model = GaussianMixture(3, dim=2)
    x = torch.randn(10, 2)
    with torch.no_grad():
        pi = torch.softmax(model.logits, 0)
        L = model.scale_tril()
        comps = [dist.MultivariateNormal(model.means[k], scale_tril=L[k]) for k in range(3)]
        expected = torch.logsumexp(
            torch.stack([pi[k].log() + comps[k].log_prob(x) for k in range(3)]), 0)
        torch.testing.assert_close(model.log_prob(x), expected)


@pytest.mark.slow
def test_single_gaussian_mle_is_the_sample_mean_and_covariance() -> None:
    """For K = 1 the maximizer of the likelihood is known in closed form."""
    g = torch.Generator().manual_seed(0)
    A = torch.tensor([[1.0, 0.0], [0.8, 0.5]])
    x = torch.randn(2000, 2, generator=g) @ A.T + torch.tensor([1.0, -2.0])
    model = GaussianMixture(1, dim=2)
    model.init_from_data(x, method="random")
    fit_mle(model, x, steps=1500, lr=0.05, progress=False)
    mean = x.mean(0)
    cov = (x - mean).T @ (x - mean) / len(x)  # the MLE divides by N
    L = model.scale_tril()[0].detach()
    torch.testing.assert_close(model.means[0].detach(), mean, atol=2e-3, rtol=0)
    torch.testing.assert_close(L @ L.T, cov, atol=5e-3, rtol=0)
    exact = dist.MultivariateNormal(mean, covariance_matrix=cov).log_prob(x).mean()
    with torch.no_grad():
        assert abs(float(model.log_prob(x).mean() - exact)) < 1e-4


@pytest.mark.slow
def test_fitting_the_ring_reaches_the_true_density() -> None:
    target = ring8()
    x_train, x_test = target.sample(3000, seed=0), target.sample(2000, seed=1)
    model = GaussianMixture(8, dim=2)
    model.init_from_data(x_train, seed=0)
    history = fit_mle(model, x_train, steps=300, lr=0.03, progress=False)
    assert history["log_likelihood"][-1] > history["log_likelihood"][0]
    with torch.no_grad():
        kl = float((target.log_prob(x_test) - model.log_prob(x_test)).mean())
    assert 0 <= kl < 0.05  # nats: maximum likelihood drove KL(p_data || p_theta) to ~0
    assert all(isinstance(v, float) for v in history["log_likelihood"])


@pytest.mark.slow
def test_too_few_components_leave_a_large_kl() -> None:
    target = ring8()
    x = target.sample(2000, seed=0)
    model = GaussianMixture(1, dim=2)
    model.init_from_data(x)
    fit_mle(model, x, steps=200, progress=False)
    with torch.no_grad():
        kl = float((target.log_prob(x) - model.log_prob(x)).mean())
    assert kl > 5


def test_samples_follow_the_model() -> None:
    model = GaussianMixture(2, dim=2)
    with torch.no_grad():
        model.means.copy_(torch.tensor([[-3.0, 0.0], [3.0, 0.0]]))
        model.logits.copy_(torch.tensor([0.0, math.log(3.0)]))  # weights 1/4, 3/4
    x = model.sample(40_000, generator=torch.Generator().manual_seed(0))
    assert abs(float((x[:, 0] > 0).float().mean()) - 0.75) < 0.01


def test_bad_inputs_are_reported() -> None:
    model = GaussianMixture(2, dim=2)
    with pytest.raises(ValueError, match="trailing shape \\(2,\\)"):
        model.log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="at least 2 points"):
        model.init_from_data(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="positive integer"):
        GaussianMixture(0)


@pytest.mark.slow
def test_a_nan_gradient_stops_the_fit_with_the_last_good_parameters() -> None:
    x = ring8().sample(64, seed=0)
    torch.manual_seed(0)
    healthy = GaussianMixture(2)
    kept = fit_mle(healthy, x, steps=2, progress=False)
    torch.manual_seed(0)
    model = GaussianMixture(2)
    calls = {"n": 0}

    def poison(grad: torch.Tensor) -> torch.Tensor:  # the loss stays finite
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == 3 else grad

    model.means.register_hook(poison)
    with pytest.raises(TrainingDiverged, match="at step 3 .*collapsed") as info:
        fit_mle(model, x, steps=10, progress=False)
    assert info.value.history == kept  # the history of the two good steps
    for name, value in model.state_dict().items():  # the parameters after step 2
        assert torch.equal(value, healthy.state_dict()[name]), name
    for wrong in ({"steps": 0}, {"batch_size": 0}):
        with pytest.raises(ValueError, match=next(iter(wrong))):
            fit_mle(model, x, progress=False, **wrong)
