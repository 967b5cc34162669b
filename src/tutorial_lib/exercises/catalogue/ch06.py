"""Chapter 6's exercises, the GAN's losses: the discriminator's and the non-saturating
generator loss, from logits, and the hinge loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from tutorial_lib.exercises.catalogue.common import (
    UNSTABLE_LOGITS,
    bce,
    extreme_logits,
    randn,
    seeded,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.gan.losses import (
    discriminator_loss,
    discriminator_loss_hinge,
    generator_loss_nonsaturating,
)


def _cases_logits() -> list[Case]:
    gen, out = seeded(6), []
    for b in (5, 8, 13):
        out.append(Case((randn(gen, b, 1, scale=2.0), randn(gen, b, 1, scale=2.0)),
                        f"real_logits, fake_logits of shape ({b}, 1)", b))
    out.append(Case((extreme_logits(gen, 9, 1), extreme_logits(gen, 9, 1)),
                    "logits of size 25 to 120, both signs, shape (9, 1)", 9, extreme=True))
    return out


def _half(logits: str, label: float) -> Callable[[dict], torch.Tensor]:
    return lambda q: bce(q[logits], label)


D_FORMULA = Formula(
    quantities=lambda real_logits, fake_logits: {"real": real_logits, "fake": fake_logits},
    terms=(Term("-E log D(x) = BCE(real_logits, 1) (the real samples)", _half("real", 1.0)),
           Term("-E log(1 - D(G(z))) = BCE(fake_logits, 0) (the generated samples)",
                _half("fake", 0.0))),
)


D_LOSS = Exercise(
    id="ch06.discriminator_loss",
    title="the discriminator's loss from logits",
    signature="discriminator_loss(real_logits, fake_logits) -> scalar",
    reference=discriminator_loss,
    cases=_cases_logits,
    output="scalar",
    formula=D_FORMULA,
    grad_args=(0, 1),
    unstable_hint=UNSTABLE_LOGITS,
    mistakes=(
        Mistake("the labels are swapped: real samples get label 1, generated samples 0",
                lambda r, f: bce(r, 0.0) + bce(f, 1.0)),
        Mistake("the sign is flipped: you returned the value E log D(x) + E log(1 - D(G(z))) "
                "that the discriminator maximizes; return its negative, a loss to minimize",
                lambda r, f: -discriminator_loss(r, f)),
        Mistake("sigmoid applied twice: binary_cross_entropy_with_logits takes logits",
                lambda r, f: bce(torch.sigmoid(r), 1.0) + bce(torch.sigmoid(f), 0.0)),
    ),
)


def _cases_fake_logits() -> list[Case]:
    return [Case((c.args[1],), c.label.replace("real_logits, ", ""), c.batch, c.extreme)
            for c in _cases_logits()]


G_LOSS = Exercise(
    id="ch06.generator_loss_nonsaturating",
    title="the non-saturating generator loss",
    signature="generator_loss_nonsaturating(fake_logits) -> scalar",
    reference=generator_loss_nonsaturating,
    cases=_cases_fake_logits,
    output="scalar",
    grad_args=(0,),
    unstable_hint=UNSTABLE_LOGITS,
    mistakes=(
        Mistake("this is the saturating (minimax) loss E log(1 - D(G(z))): its gradient "
                "vanishes when D rejects the samples; minimize -E log D(G(z)) instead",
                lambda f: -F.softplus(f).mean()),
        Mistake("you used the fake label 0, BCE(D(G(z)), 0) = -E log(1 - D(G(z))): that is "
                "the discriminator's loss on generated samples, which the generator would "
                "then help minimize; the generator's loss uses the label 1 (\"real\"), "
                "BCE(D(G(z)), 1) = -E log D(G(z))", lambda f: bce(f, 0.0)),
        Mistake("the sign is flipped: the generator maximizes E log D(G(z)), so the loss to "
                "minimize is -E log D(G(z)) = E softplus(-logits)",
                lambda f: -generator_loss_nonsaturating(f)),
        Mistake("sigmoid applied twice: the loss takes logits",
                lambda f: bce(torch.sigmoid(f), 1.0)),
    ),
)


HINGE = Exercise(
    id="ch06.discriminator_loss_hinge",
    title="the hinge loss of the discriminator",
    signature="discriminator_loss_hinge(real_scores, fake_scores) -> scalar",
    reference=discriminator_loss_hinge,
    cases=_cases_logits,
    output="scalar",
    formula=Formula(
        quantities=lambda real_scores, fake_scores: {"real": real_scores.flatten(),
                                                     "fake": fake_scores.flatten()},
        terms=(
            Term("E relu(1 - D(x)) (the real samples)", lambda q: F.relu(1 - q["real"]).mean(),
                 alternatives=(("the relu is missing on the real samples: the hinge stops "
                                "pushing once D(x) >= 1", lambda q: (1 - q["real"]).mean()),)),
            Term("E relu(1 + D(G(z))) (the generated samples)",
                 lambda q: F.relu(1 + q["fake"]).mean(),
                 alternatives=(("the relu is missing on the generated samples: the hinge "
                                "stops pushing once D(G(z)) <= -1",
                                lambda q: (1 + q["fake"]).mean()),)),
        ),
    ),
    grad_args=(0, 1),
    mistakes=(
        Mistake("the margins are swapped: real samples are pushed above +1, relu(1 - D(x)), "
                "generated ones below -1, relu(1 + D(G(z)))",
                lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean()),
        Mistake("the relu is missing: without it, this is the Wasserstein critic loss plus a "
                "constant 2, E D(G(z)) - E D(x) + 2",
                lambda r, f: (1 - r).mean() + (1 + f).mean()),
        Mistake("the margin 1 is missing: relu(-D(x)) + relu(D(G(z))) is zero as soon as the "
                "signs are right, with no margin to push for",
                lambda r, f: F.relu(-r).mean() + F.relu(f).mean()),
    ),
    confirmation="No gradient flows from samples beyond the margin.",
)
