"""Chapter 13's exercises: the PatchGAN's loss, the paired transform, and the conditional
discriminator's pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutorial_lib.exercises.catalogue.common import randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.translation.paired import patch_discriminator_loss


def _cases_patch() -> list[Case]:
    gen, out = seeded(131), []
    for b, p in ((3, 7), (5, 4), (2, 3)):
        out.append(Case((randn(gen, b, 1, p, p, scale=2.0, shift=0.5),
                         randn(gen, b, 1, p, p, scale=2.0, shift=-0.5)),
                        f"real_logits, fake_logits of shape ({b}, 1, {p}, {p})", b))
    return out


def _pooled(r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    r, f = r.mean((1, 2, 3)), f.mean((1, 2, 3))
    return F.softplus(-r).mean() + F.softplus(f).mean()


PATCH_LOSS = Exercise(
    id="ch13.patch_discriminator_loss",
    title="the PatchGAN discriminator's loss, one classifier per patch",
    signature="patch_discriminator_loss(real_logits, fake_logits) -> scalar",
    reference=patch_discriminator_loss,
    cases=_cases_patch,
    output="scalar",
    grad_args=(0, 1),
    formula=Formula(
        quantities=lambda real, fake: {"real": real, "fake": fake},
        terms=(
            Term("-E log D(x_A, x_B) over the real patches",
                 lambda q: F.softplus(-q["real"]).mean(),
                 alternatives=(("the real patches are labelled 0: real pairs get the label 1",
                                lambda q: F.softplus(q["real"]).mean()),
                               ("the real term is summed over the patches: each patch is one "
                                "classifier, and the loss averages over patches and batch",
                                lambda q: F.softplus(-q["real"]).flatten(1).sum(1).mean()))),
            Term("-E log(1 - D(x_A, G(x_A))) over the generated patches",
                 lambda q: F.softplus(q["fake"]).mean(),
                 alternatives=(("the generated patches are labelled 1: generated pairs get "
                                "the label 0", lambda q: F.softplus(-q["fake"]).mean()),
                               ("the fake term is summed over the patches: each patch is one "
                                "classifier, and the loss averages over patches and batch",
                                lambda q: F.softplus(q["fake"]).flatten(1).sum(1).mean()))),
        ),
    ),
    mistakes=(
        Mistake("the logits were averaged over the patches before the cross-entropy: that is "
                "one classifier per image; the PatchGAN takes the cross-entropy of each "
                "patch's logit, then averages", _pooled),
        Mistake("summed over the patches: each patch is one classifier, and the loss "
                "averages the cross-entropies over patches and batch",
                lambda r, f: patch_discriminator_loss(r, f) * r[0].numel()),
    ),
    confirmation="With a single patch (P = 1) this is chapter 6's discriminator loss.",
)


def block_average(x: torch.Tensor, factor: int) -> torch.Tensor:
    """The chapter's paired transform: each factor x factor block of x replaced by its mean
    (average pooling, then nearest-neighbour upsampling back to the input's size).
    x: (B, C, H, W) -> (B, C, H, W)."""
    return F.interpolate(F.avg_pool2d(x, factor), scale_factor=factor, mode="nearest")


def _cases_block() -> list[Case]:
    gen = seeded(132)
    return [Case((torch.rand(b, c, h, h, generator=gen), f),
                 f"x of shape ({b}, {c}, {h}, {h}), factor {f}", b)
            for b, c, h, f in ((3, 1, 28, 4), (2, 1, 12, 3), (4, 2, 8, 2))]


def _up(blocks: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(blocks, scale_factor=factor, mode="nearest")


BLOCK = Exercise(
    id="ch13.block_average",
    title="the paired transform: block averages at the full size",
    signature="block_average(x, factor) -> (B, C, H, W)",
    reference=block_average,
    cases=_cases_block,
    output="array",
    generic=False,
    grad_args=(0,),
    mistakes=(
        Mistake("max pooling keeps each block's brightest pixel: the low-resolution image is "
                "the block's mean (F.avg_pool2d)", lambda x, f: _up(F.max_pool2d(x, f), f)),
        Mistake("one pixel per block was kept (x[..., ::factor, ::factor]): the "
                "low-resolution image is the block's mean, which every pixel of the block "
                "enters", lambda x, f: _up(x[..., ::f, ::f], f)),
        Mistake("bilinear upsampling mixes neighbouring blocks: blow each block up with "
                "mode='nearest' so that every pixel of a block holds the block's mean",
                lambda x, f: F.interpolate(F.avg_pool2d(x, f), scale_factor=f, mode="bilinear",
                                           align_corners=False)),
        Mistake("the block's sum, not its mean: divide by the factor^2 pixels of a block "
                "(F.avg_pool2d does)", lambda x, f: block_average(x, f) * f * f),
    ),
    confirmation="Its blocks are constant, and average-pooling it again gives the same "
                 "low-resolution image.",
)


def discriminator_pairs(x_a: torch.Tensor, x_b: torch.Tensor, fake: torch.Tensor
                        ) -> torch.Tensor:
    """The conditional discriminator's batch: the real pairs (x_A, x_B), then the generated
    pairs (x_A, G(x_A)), each pair stacked along channels with the input first.
    x_a, x_b, fake: (B, C, H, W) -> (2B, 2C, H, W)."""
    real = torch.cat([x_a, x_b], dim=1)  # (B, 2C, H, W)
    generated = torch.cat([x_a, fake], dim=1)  # (B, 2C, H, W)
    return torch.cat([real, generated], dim=0)


def _cases_pairs() -> list[Case]:
    gen = seeded(133)
    return [Case(tuple(torch.rand(b, c, h, h, generator=gen) for _ in range(3)),
                 f"x_a, x_b, fake of shape ({b}, {c}, {h}, {h})", b)
            for b, c, h in ((3, 1, 5), (2, 1, 4), (4, 2, 3))]


PAIRS = Exercise(
    id="ch13.discriminator_pairs",
    title="the conditional discriminator's input: (input, output) pairs",
    signature="discriminator_pairs(x_a, x_b, fake) -> (2B, 2C, H, W)",
    reference=discriminator_pairs,
    cases=_cases_pairs,
    output="array",
    generic=False,
    grad_args=(0, 1, 2),
    mistakes=(
        Mistake("the generated image is paired with the target x_B: the discriminator must "
                "see the generated image next to the input it was made from, (x_A, G(x_A))",
                lambda a, b, f: torch.cat([torch.cat([a, b], 1), torch.cat([b, f], 1)], 0)),
        Mistake("the output comes first: stack each pair as (input, output), x_A in the "
                "first channels", lambda a, b, f: torch.cat([torch.cat([b, a], 1),
                                                             torch.cat([f, a], 1)], 0)),
        Mistake("the generated pairs come first: the real pairs (x_A, x_B) are the first B "
                "rows, the generated pairs the last B",
                lambda a, b, f: torch.cat([torch.cat([a, f], 1), torch.cat([a, b], 1)], 0)),
    ),
    confirmation="A discriminator that sees the pairs can tell an output that does not fit "
                 "its input, which one that sees the output alone cannot.",
)

ALL: tuple[Exercise, ...] = (PATCH_LOSS, BLOCK, PAIRS)  # in the notebook's order
