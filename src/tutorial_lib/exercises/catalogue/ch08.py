"""Chapter 8's exercise: WGAN-GP's gradient penalty."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.exercises.catalogue.common import randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise
from tutorial_lib.exercises.integrity import TENSOR, as_array, type_problem
from tutorial_lib.gan.losses import gradient_penalty


class RecordingCritic(nn.Module):
    """A small fixed critic f(x) = v . tanh(W x) that records the inputs it is called on."""

    def __init__(self, n_in: int, seed: int = 8) -> None:
        super().__init__()
        gen = seeded(seed)
        self.weight = nn.Parameter(torch.randn(n_in, 6, generator=gen) * 0.8)
        self.out = nn.Parameter(torch.randn(6, 1, generator=gen))
        self.calls: list[torch.Tensor] = []

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.weight) @ self.out  # (B, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.detach().clone())
        return self.score(x)


def _gp_inputs(b: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    gen = seeded(9)
    real = randn(gen, b, 1, 3, 3)
    fake = real - uniform(gen, b, 1, 3, 3, low=0.3, high=1.3)  # differs in every entry
    return real, fake


def _cases_gp() -> list[Case]:
    real, fake = _gp_inputs(5)
    return [Case((RecordingCritic(9), real, fake), "real, fake of shape (5, 1, 3, 3)", 5)]


def _penalty_variants(grad: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    norm = grad.flatten(1).norm(dim=1)
    return [
        (((norm - 1) ** 2).sum(), "you summed over the batch where the mean belongs "
                                  "(the penalty is an expectation over x_hat)"),
        (((grad.flatten(1).pow(2).sum(1) - 1) ** 2).mean(),
         "you penalized the squared norm: the penalty is (||grad|| - 1)^2 with the norm "
         "itself, sqrt of the sum of squares"),
        ((norm - 1).mean(), "the square is missing: (||grad|| - 1)^2, averaged"),
        ((norm - 1).abs().mean(), "the square is missing: (||grad|| - 1)^2, averaged"),
        ((grad.norm() - 1) ** 2, "one norm over the whole batch: compute the gradient's "
                                 "norm per example, grad.flatten(1).norm(dim=1)"),
        ((F.relu(norm - 1) ** 2).mean(), "a one-sided penalty max(0, ||grad|| - 1)^2; the "
                                         "book's (and WGAN-GP's) penalty is two-sided"),
        ((norm ** 2).mean(), "the -1 is missing: the penalty pulls the norm to 1, not 0"),
    ]


def _check_gradient_penalty(fn: Callable) -> str | None:
    real, fake = _gp_inputs()
    critic = RecordingCritic(9)
    penalty = fn(critic, real, fake)
    if not critic.calls:
        return "the critic was never called"
    x_hat = critic.calls[-1]
    if x_hat.shape != real.shape:
        return (f"the critic was called on shape {tuple(x_hat.shape)}; call it on the "
                f"interpolated batch, of the shape of real {tuple(real.shape)}")
    eps = ((x_hat - fake) / (real - fake)).flatten(1)  # (B, pixels), the weights used
    if float((eps - eps[:, :1]).abs().max()) > 1e-4:
        return ("one interpolation weight per pixel: draw one weight per example, of shape "
                "(B, 1, 1, 1), so that x_hat lies on the segment between two images")
    e = eps[:, 0]
    if float(e.min()) < -1e-4 or float(e.max()) > 1 + 1e-4:
        return (f"interpolation weights outside [0, 1] (from {float(e.min()):.2f} to "
                f"{float(e.max()):.2f}): they look drawn from a normal distribution; draw "
                "them uniformly with torch.rand, so that x_hat lies between the two samples")
    if float(e.std()) < 1e-6:
        if float(e.max() - e.min()) < 1e-6 and (float(e[0]) < 1e-6 or float(e[0]) > 1 - 1e-6):
            return ("the critic was called on the real or generated samples themselves; the "
                    "penalty is taken at random interpolates between them")
        return "every example got the same weight: draw one weight per example"
    problem = type_problem(penalty, TENSOR)
    if problem:
        return f"your function {problem}"
    if not penalty.requires_grad:
        return ("the penalty carries no gradient to the critic: compute the input gradient "
                "with torch.autograd.grad(..., create_graph=True) and return the tensor")
    again = RecordingCritic(9)
    fn(again, real, fake)
    if again.calls and torch.equal(again.calls[-1], x_hat):
        return ("two calls on the same input interpolate at the same points: the function "
                "seeds the random generator (torch.manual_seed) or reuses fixed weights; "
                "draw fresh weights on every call")
    x = x_hat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic.score(x).sum(), x, create_graph=True)
    want = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean().detach()
    got = as_array(penalty).reshape(-1)
    if got.size != 1:
        return f"expected a scalar penalty, got shape {tuple(penalty.shape)}"
    if abs(float(got[0]) - float(want)) > 1e-4 * max(1.0, abs(float(want))):
        for value, message in _penalty_variants(grad.detach()):
            if abs(float(got[0]) - float(value)) <= 1e-4 * max(1.0, abs(float(value))):
                return message
        return (f"wrong value: at your interpolates the penalty is {float(want):.5g}, you "
                f"returned {float(got[0]):.5g}")
    critic.zero_grad()
    penalty.backward()
    if critic.weight.grad is None or float(critic.weight.grad.abs().sum()) == 0:
        return ("no gradient reaches the critic's parameters: pass create_graph=True to "
                "torch.autograd.grad")
    return None


GRADIENT_PENALTY = Exercise(
    id="ch08.gradient_penalty",
    title="WGAN-GP's gradient penalty",
    signature="gradient_penalty(critic, real, fake) -> scalar",
    reference=gradient_penalty,  # tutorial_lib.gan.losses: the same signature
    cases=_cases_gp,
    output="scalar",
    compare_values=False,
    extra_check=_check_gradient_penalty,
    confirmation="Uniform weights, one per example, and the penalty back-propagates to the "
                 "critic.",
)
