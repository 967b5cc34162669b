"""Chapter 14's exercises: CycleGAN's cycle-consistency loss, the least-squares
discriminator loss it trains with, and the count of digits that come back whole although
their translation changed class."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.exercises.integrity import NUMBER
from tutorial_lib.translation.cyclegan import (
    cycle_consistency_loss,
    hidden_class_change,
    lsgan_discriminator_loss,
)


def _cases_cycle() -> list[Case]:
    gen, out = seeded(141), []
    for b, c in ((3, 5), (6, 4), (4, 7)):
        out.append(Case((torch.rand(b, 1, 8, 8, generator=gen),
                         torch.rand(b, 1, 8, 8, generator=gen),
                         torch.rand(c, 1, 28, 28, generator=gen),
                         torch.rand(c, 1, 28, 28, generator=gen)),
                        f"x_a ({b}, 1, 8, 8), x_b ({c}, 1, 28, 28)", b))
    return out


CYCLE = Exercise(
    id="ch14.cycle_consistency_loss",
    title="CycleGAN's cycle-consistency loss",
    signature="cycle_consistency_loss(x_a, x_a_cycled, x_b, x_b_cycled) -> scalar",
    reference=cycle_consistency_loss,
    cases=_cases_cycle,
    output="scalar",
    grad_args=(1, 3),
    formula=Formula(
        quantities=lambda x_a, x_a_cycled, x_b, x_b_cycled: {
            "diff_a": x_a_cycled - x_a, "diff_b": x_b_cycled - x_b},
        terms=(
            Term("E |G_BA(G_AB(x_a)) - x_a| (the cycle from A)",
                 lambda q: q["diff_a"].abs().mean(),
                 alternatives=(("the L2 distance where CycleGAN uses L1 in the cycle from A",
                                lambda q: (q["diff_a"] ** 2).mean()),
                               ("the cycle from A is summed over the pixels: the loss "
                                "averages them (nn.L1Loss), and lambda = 10 goes with that "
                                "mean", lambda q: q["diff_a"].abs().flatten(1).sum(1).mean()))),
            Term("E |G_AB(G_BA(x_b)) - x_b| (the cycle from B)",
                 lambda q: q["diff_b"].abs().mean(),
                 alternatives=(("the L2 distance where CycleGAN uses L1 in the cycle from B",
                                lambda q: (q["diff_b"] ** 2).mean()),
                               ("the cycle from B is summed over the pixels: the loss "
                                "averages them (nn.L1Loss), and lambda = 10 goes with that "
                                "mean", lambda q: q["diff_b"].abs().flatten(1).sum(1).mean()))),
        ),
    ),
    mistakes=(
        Mistake("one mean over the pixels of both domains: the 28x28 images then outweigh "
                "the 8x8 ones; CycleGAN averages each cycle over its own pixels and adds the "
                "two", lambda a, ac, b, bc: torch.cat([(ac - a).abs().flatten(),
                                                       (bc - b).abs().flatten()]).mean()),
        Mistake("the absolute value is missing: positive and negative differences cancel",
                lambda a, ac, b, bc: (ac - a).mean() + (bc - b).mean()),
    ),
    confirmation="A perfect round trip (x_a_cycled = x_a, x_b_cycled = x_b) gives 0.",
)


def _cases_lsgan() -> list[Case]:
    gen, out = seeded(142), []
    for b, h in ((3, 7), (5, 2), (2, 4)):
        out.append(Case((randn(gen, b, 1, h, h, shift=0.7), randn(gen, b, 1, h, h, shift=0.2)),
                        f"real_scores, fake_scores of shape ({b}, 1, {h}, {h})", b))
    return out


LSGAN_D = Exercise(
    id="ch14.lsgan_discriminator_loss",
    title="the least-squares discriminator loss",
    signature="lsgan_discriminator_loss(real_scores, fake_scores) -> scalar",
    reference=lsgan_discriminator_loss,
    cases=_cases_lsgan,
    output="scalar",
    grad_args=(0, 1),
    formula=Formula(
        quantities=lambda real_scores, fake_scores: {"real": real_scores, "fake": fake_scores},
        terms=(
            Term("1/2 E (D(x) - 1)^2 (real images, target 1)",
                 lambda q: ((q["real"] - 1) ** 2).mean(), coefficient=0.5,
                 unsquared=lambda q: (q["real"] - 1).abs().mean(),
                 alternatives=(("real images pushed to 0: their target is 1",
                                lambda q: (q["real"] ** 2).mean()),)),
            Term("1/2 E D(G(y))^2 (translated images, target 0)",
                 lambda q: (q["fake"] ** 2).mean(), coefficient=0.5,
                 unsquared=lambda q: q["fake"].abs().mean(),
                 alternatives=(("translated images pushed to 1: their target is 0",
                                lambda q: ((q["fake"] - 1) ** 2).mean()),)),
        ),
    ),
    mistakes=(
        Mistake("binary cross-entropy on the scores: CycleGAN replaces it by squared "
                "distances to the targets 1 and 0 (Mao et al., 2017)",
                lambda r, f: 0.5 * (torch.nn.functional.binary_cross_entropy_with_logits(
                    r, torch.ones_like(r)) + torch.nn.functional.binary_cross_entropy_with_logits(
                    f, torch.zeros_like(f)))),
        Mistake("the scores went through a sigmoid first: the least-squares loss compares the "
                "raw scores with 1 and 0",
                lambda r, f: 0.5 * ((r.sigmoid() - 1) ** 2).mean()
                + 0.5 * (f.sigmoid() ** 2).mean()),
        Mistake("this is the generator's loss E (D(G(y)) - 1)^2: the discriminator's has a "
                "term for the real images (target 1) and one for the translated images "
                "(target 0)", lambda r, f: ((f - 1) ** 2).mean()),
    ),
)


def _cases_hidden() -> list[Case]:
    gen, out = seeded(143), []
    for n in (40, 23, 57):
        labels = torch.randint(10, (n,), generator=gen)
        translated = torch.where(torch.rand(n, generator=gen) < 0.5, labels,
                                 torch.randint(10, (n,), generator=gen))
        cycled = torch.where(torch.rand(n, generator=gen) < 0.7, labels,
                             torch.randint(10, (n,), generator=gen))
        out.append(Case((labels, translated, cycled), f"{n} digits", n))
    return out


def _hidden_variant(labels, translated, cycled, *, condition: bool = False,
                    back_wrong: bool = False, ignore_back: bool = False) -> float:
    back = cycled == labels
    if back_wrong:
        back = ~back
    changed = translated != labels
    hit = changed if ignore_back else back & changed
    if condition:
        return float(hit.sum() / back.sum())
    return float(hit.float().mean())


HIDDEN = Exercise(
    id="ch14.hidden_class_change",
    title="cycle consistent, class changed",
    signature="hidden_class_change(labels, translated_pred, cycled_pred) -> float",
    reference=hidden_class_change,
    cases=_cases_hidden,
    output="scalar",
    returns=NUMBER,
    generic=False,
    mistakes=(
        Mistake("you counted every translation read as another class (one minus the class "
                "survival): a hidden change also needs the round trip to come back as the "
                "source label", lambda y, t, c: _hidden_variant(y, t, c, ignore_back=True)),
        Mistake("divided by the digits whose round trip came back: the chapter's fraction is "
                "of all the digits", lambda y, t, c: _hidden_variant(y, t, c, condition=True)),
        Mistake("the round trip's test is reversed: count the digits whose round trip IS read "
                "as the source label", lambda y, t, c: _hidden_variant(y, t, c, back_wrong=True)),
        Mistake("the translation's test is reversed: count the digits whose translation is "
                "read as ANOTHER class",
                lambda y, t, c: float(((c == y) & (t == y)).float().mean())),
    ),
    confirmation="A translator that keeps every class scores 0, whatever its round trips.",
)

ALL: tuple[Exercise, ...] = (CYCLE, LSGAN_D, HIDDEN)  # this chapter's exercises, in order
