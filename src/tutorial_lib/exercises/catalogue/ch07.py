"""Chapter 7's exercises: the losses of the discriminator's and the generator's steps,
and the spherical interpolation of latent codes."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.exercises.catalogue.common import bce, randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.gan.latent import slerp
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


def generator_step_loss(discriminator: nn.Module, generator: nn.Module, z: torch.Tensor
                        ) -> torch.Tensor:
    """The generator's loss for one step: the non-saturating loss -E log D(G(z)), a scalar
    whose gradient reaches the generator through the discriminator (nothing detached)."""
    logits = discriminator(generator(z))
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _cases_g_step() -> list[Case]:
    return [Case((dis, g, z), f"z {tuple(z.shape)}", c.batch)
            for c in _cases_d_step() for dis, g, _, z in [c.args]]


G_STEP = Exercise(
    id="ch07.generator_step_loss",
    title="the generator step's loss",
    signature="generator_step_loss(discriminator, generator, z) -> scalar",
    reference=generator_step_loss,
    cases=_cases_g_step,
    output="scalar",
    grad_args=(1,),
    mistakes=(
        Mistake("you used the fake label 0: that is the discriminator's loss on generated "
                "samples; the generator's loss gives its samples the label 1 (\"real\")",
                lambda dis, g, z: bce(dis(g(z)), 0.0)),
        Mistake("this is the saturating (minimax) loss E log(1 - D(G(z))): its gradient "
                "vanishes when D rejects the samples; minimize -E log D(G(z)) instead",
                lambda dis, g, z: -bce(dis(g(z)), 0.0)),
        Mistake("the sign is flipped: the loss to minimize is -E log D(G(z)) = "
                "BCE(D(G(z)), 1)", lambda dis, g, z: -bce(dis(g(z)), 1.0)),
        Mistake("sigmoid applied twice: binary_cross_entropy_with_logits takes the logits",
                lambda dis, g, z: bce(torch.sigmoid(dis(g(z))), 1.0)),
    ),
    confirmation="The generator gets the reference's gradient, through the discriminator.",
)


def _cases_slerp() -> list[Case]:
    gen, out = seeded(71), []
    for d, steps in ((4, 5), (16, 7), (3, 4)):
        z0, z1 = randn(gen, d), randn(gen, d)
        t = torch.linspace(0.0, 1.0, steps)
        out.append(Case((z0, z1, t), f"z0, z1 of shape ({d},), {steps} times t in [0, 1]"))
    return out


def _slerp_weights(z0, z1, t, *, swap=False, degrees=False):
    omega = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    if degrees:
        omega = torch.rad2deg(omega)
    t = t[:, None]
    a, b = torch.sin((1 - t) * omega), torch.sin(t * omega)
    if swap:
        a, b = b, a
    return (a * z0 + b * z1) / torch.sin(omega)


SLERP = Exercise(
    id="ch07.slerp",
    title="spherical interpolation between two latent codes",
    signature="slerp(z0, z1, t) -> (T, d_z)",
    reference=slerp,
    cases=_cases_slerp,
    output="array",
    generic=False,
    grad_args=(0, 1),
    mistakes=(
        Mistake("that is the straight line (1 - t) z0 + t z1, which passes near the origin, "
                "where a Gaussian's samples never are; slerp follows the great circle",
                lambda z0, z1, t: (1 - t[:, None]) * z0 + t[:, None] * z1),
        Mistake("the weights are swapped: at t = 0 slerp returns z0, sin((1 - t) w) / sin w "
                "multiplies z0", lambda z0, z1, t: _slerp_weights(z0, z1, t, swap=True)),
        Mistake("the points are normalized to unit length: slerp keeps the norms of z0 and "
                "z1 (a sample of N(0, I) has norm about sqrt(d))",
                lambda z0, z1, t: torch.nn.functional.normalize(slerp(z0, z1, t), dim=1)),
        Mistake("the angle is in degrees: torch.sin and torch.arccos work in radians",
                lambda z0, z1, t: _slerp_weights(z0, z1, t, degrees=True)),
        Mistake("the angle w is taken between the unnormalized vectors: cos w = "
                "z0 . z1 / (|z0| |z1|)", lambda z0, z1, t: _slerp_unnormalized(z0, z1, t)),
    ),
    confirmation="It starts at z0, ends at z1, and keeps to the great circle.",
)


def _slerp_unnormalized(z0, z1, t):
    omega = torch.arccos(torch.dot(z0, z1).clamp(-1.0, 1.0))
    t = t[:, None]
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
