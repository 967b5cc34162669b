"""Chapter 7's exercise: the discriminator step's loss, with the generator held fixed."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from tutorial_lib.exercises.catalogue.common import bce, randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.gan.losses import discriminator_loss


def discriminator_step_loss(discriminator: nn.Module, generator: nn.Module,
                            real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss for one step: generated samples are detached.

    Args:
        discriminator: maps (B, D) samples to (B, 1) logits; generator: (B, d_z) -> (B, D).
        real: (B, D); z: (B, d_z).
    Returns:
        A scalar whose gradient reaches the discriminator's parameters only.
    """
    fake = generator(z).detach()
    return discriminator_loss(discriminator(real), discriminator(fake))


def _init(module: nn.Module, gen: torch.Generator, scale: float = 0.6) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return module


def _cases_d_step() -> list[Case]:
    gen, out = seeded(7), []
    for b, d_z, d in ((5, 3, 4), (8, 2, 6)):
        g = _init(nn.Sequential(nn.Linear(d_z, 8), nn.Tanh(), nn.Linear(8, d)), gen)
        dis = _init(nn.Sequential(nn.Linear(d, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)), gen)
        out.append(Case((dis, g, randn(gen, b, d), randn(gen, b, d_z)),
                        f"real ({b}, {d}), z ({b}, {d_z})", b))
    return out


def _check_detach(fn: Callable) -> str | None:
    case = _cases_d_step()[0]
    dis, g, real, z = copy.deepcopy(case.args)
    loss = fn(dis, g, real, z)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        return ("the loss carries no gradient: return the tensor itself (not .item()), "
                "and do not compute the discriminator's outputs under torch.no_grad()")
    loss.backward()
    if any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in g.parameters()):
        return ("gradients reach the generator: detach the generated samples "
                "(generator(z).detach()) in the discriminator step; otherwise "
                "loss.backward() also fills the generator's gradients, pushing it to make its "
                "samples easier to reject")
    if not any(p.grad is not None and float(p.grad.abs().sum()) > 0
               for p in dis.parameters()):
        return "no gradient reaches the discriminator's parameters"
    return None


def _d_step_swapped(dis, g, real, z):
    return bce(dis(real), 0.0) + bce(dis(g(z)), 1.0)


D_STEP = Exercise(
    id="ch07.discriminator_step_loss",
    title="the discriminator step's loss (with the generator held fixed)",
    signature="discriminator_step_loss(discriminator, generator, real, z) -> scalar",
    reference=discriminator_step_loss,
    cases=_cases_d_step,
    output="scalar",
    extra_check=_check_detach,
    grad_args=(0,),
    mistakes=(
        Mistake("the labels are swapped: real samples get label 1, generated samples 0",
                _d_step_swapped),
        Mistake("the generated samples are missing: score generator(z) as well, with label 0",
                lambda dis, g, real, z: bce(dis(real), 1.0)),
        Mistake("that is the generator's loss (generated samples with the label 1), not the "
                "discriminator's: real samples get the label 1, generated ones the label 0",
                lambda dis, g, real, z: bce(dis(g(z)), 1.0)),
    ),
    confirmation="No gradient reaches the generator.",
)
