"""Chapter 8's exercises: WGAN-GP's gradient penalty, the loss of a whole WGAN-GP critic
step, and the R1 penalty."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.exercises.catalogue.common import (
    linear_net,
    no_gradient_reaches,
    randn,
    seeded,
    uniform,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.exercises.integrity import TENSOR, as_array, type_problem
from tutorial_lib.gan.losses import gradient_penalty, r1_penalty


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


def critic_step_loss(critic: nn.Module, generator: nn.Module, real: torch.Tensor,
                     z: torch.Tensor, eps: torch.Tensor, lam: float = 10.0) -> torch.Tensor:
    """The loss of one WGAN-GP critic step (Gulrajani et al., 2017, Algorithm 1):
    E f(G(z)) - E f(x) + lam E (||grad f(x_hat)|| - 1)^2, x_hat = eps x + (1 - eps) G(z).

    Args:
        critic: (B, D) -> (B, 1) scores; generator: (B, d_z) -> (B, D), held fixed.
        real: (B, D); z: (B, d_z); eps: (B, 1), the interpolation weights (given, so that
            the step is deterministic); lam: the penalty's weight.
    Returns:
        A scalar whose gradient reaches the critic's parameters (through the penalty too).
    """
    fake = generator(z).detach()
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + lam * penalty


def _cases_critic_step() -> list[Case]:
    gen, out = seeded(81), []
    for b, d_z, d in ((6, 3, 4), (9, 2, 5)):
        critic, g = linear_net(gen, d, 1, scale=1.0), linear_net(gen, d_z, d)
        eps = torch.rand(b, 1, generator=gen)
        out.append(Case((critic, g, randn(gen, b, d), randn(gen, b, d_z), eps),
                        f"real ({b}, {d}), z ({b}, {d_z}), eps ({b}, 1)", b))
    return out


def _critic_quantities(critic, generator, real, z, eps, lam=10.0) -> dict:
    fake = generator(z).detach()
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return {"real": critic(real), "fake": critic(fake), "norm": grad.norm(dim=1), "lam": lam}


def _flipped_wasserstein(q: dict) -> torch.Tensor:
    return q["real"].mean() - q["fake"].mean() + q["lam"] * ((q["norm"] - 1) ** 2).mean()


CRITIC_STEP = Exercise(
    id="ch08.critic_step_loss",
    title="the loss of one WGAN-GP critic step",
    signature="critic_step_loss(critic, generator, real, z, eps) -> scalar",
    reference=critic_step_loss,
    cases=_cases_critic_step,
    output="scalar",
    formula=Formula(
        quantities=_critic_quantities,
        terms=(
            Term("E f(G(z)) (the generated samples)", lambda q: q["fake"].mean()),
            Term("-E f(x) (the real samples)", lambda q: q["real"].mean(), -1.0),
            Term("lam E (||grad f(x_hat)|| - 1)^2 (the gradient penalty)",
                 lambda q: q["lam"] * ((q["norm"] - 1) ** 2).mean(), alternatives=(
                     ("the penalty is on the squared norm: (||grad|| - 1)^2 uses the norm "
                      "itself", lambda q: q["lam"] * ((q["norm"] ** 2 - 1) ** 2).mean()),
                     ("a one-sided penalty max(0, ||grad|| - 1)^2; WGAN-GP's is two-sided",
                      lambda q: q["lam"] * (F.relu(q["norm"] - 1) ** 2).mean()),
                     ("the -1 is missing in the penalty: it pulls the norm to 1, not to 0",
                      lambda q: q["lam"] * (q["norm"] ** 2).mean()))),
        ),
    ),
    grad_args=(0,),
    extra_check=no_gradient_reaches(
        1, "the generator", "detach the generated samples (generator(z).detach()) in the "
        "critic's step", _cases_critic_step),
    mistakes=(
        Mistake("the Wasserstein terms have the wrong signs: the critic MAXIMIZES "
                "E f(x) - E f(G(z)), so its loss is E f(G(z)) - E f(x) (+ the penalty)",
                lambda *args: _flipped_wasserstein(_critic_quantities(*args))),
    ),
    confirmation="The penalty's gradient reaches the critic (create_graph=True) and no "
                 "gradient reaches the generator.",
)


def r1_penalty_exercise(discriminator: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al., 2018): E ||grad_x D(x)||^2 on real data, (B, D) -> scalar,
    back-propagatable into D (multiply by gamma / 2 in the loss)."""
    return r1_penalty(discriminator, real)


def _cases_r1() -> list[Case]:
    gen = seeded(82)
    return [Case((linear_net(gen, d, 1, scale=1.0), randn(gen, b, d)), f"real ({b}, {d})", b)
            for b, d in ((5, 4), (8, 6), (3, 3))]


R1 = Exercise(
    id="ch08.r1_penalty",
    title="the R1 penalty on real data",
    signature="r1_penalty(discriminator, real) -> scalar",
    reference=r1_penalty_exercise,
    cases=_cases_r1,
    output="scalar",
    grad_args=(0,),
    mistakes=(
        Mistake("the norm is not squared: R1 is E ||grad_x D(x)||^2",
                lambda d, x: _r1_grad(d, x).norm(dim=1).mean()),
        Mistake("the penalty pulls the norm to 1, as WGAN-GP's does: R1 pulls the gradient "
                "to 0 on real data, E ||grad||^2",
                lambda d, x: ((_r1_grad(d, x).norm(dim=1) - 1) ** 2).mean()),
        Mistake("one norm over the whole batch: square the gradient's norm per example, then "
                "average", lambda d, x: _r1_grad(d, x).norm() ** 2 / len(x) ** 2),
    ),
    confirmation="Its gradient reaches the discriminator (create_graph=True).",
)


def _r1_grad(discriminator: nn.Module, real: torch.Tensor) -> torch.Tensor:
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return grad
