"""Chapter 15's exercises: the style loss of one layer, the content loss, and the
total-variation regularizer of style transfer."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.style.losses import content_loss, gram_matrix, style_loss_layer, total_variation


def _gram_unnormalized(f: torch.Tensor) -> torch.Tensor:
    return gram_matrix(f) * f.shape[2] * f.shape[3]


def _cases_style() -> list[Case]:
    gen, out = seeded(151), []
    for b, c, h, w in ((2, 3, 4, 5), (3, 5, 2, 3), (1, 4, 3, 3)):
        features = randn(gen, b, c, h, w).relu()  # feature maps after a ReLU
        target = gram_matrix(randn(gen, 1, c, h + 1, w).relu())[0]  # the style image's
        out.append(Case((features, target), f"features ({b}, {c}, {h}, {w}), target ({c}, {c})",
                        b))
    return out


STYLE = Exercise(
    id="ch15.style_loss_layer",
    title="the style loss of one layer",
    signature="style_loss_layer(features, target_gram) -> scalar",
    reference=style_loss_layer,
    cases=_cases_style,
    output="scalar",
    grad_args=(0,),
    mistakes=(
        Mistake("the factor 1 / (4 C^2) is missing: the layer's loss is "
                "|G(x) - G_s|_F^2 / (4 C^2)",
                lambda f, t: style_loss_layer(f, t) * 4 * f.shape[1] ** 2),
        Mistake("the Gram matrix is not normalized: divide Phi Phi^T by the number of "
                "positions M = H W, as the target was",
                lambda f, t: ((_gram_unnormalized(f) - t) ** 2).sum((1, 2)).mean()
                / (4 * f.shape[1] ** 2)),
        Mistake("a mean over the C^2 entries of G(x) - G_s: the squared Frobenius norm sums "
                "them", lambda f, t: style_loss_layer(f, t) / f.shape[1] ** 2),
        Mistake("the Frobenius norm is not squared: the loss is |G(x) - G_s|_F^2",
                lambda f, t: ((gram_matrix(f) - t) ** 2).sum((1, 2)).sqrt().mean()
                / (4 * f.shape[1] ** 2)),
    ),
    confirmation="It is zero when the features' Gram matrix equals the target, wherever "
                 "the features are.",
)


def _cases_content() -> list[Case]:
    gen, out = seeded(152), []
    for b, c, h, w in ((2, 3, 4, 5), (3, 5, 2, 3), (4, 2, 3, 3)):
        features, target = randn(gen, b, c, h, w), randn(gen, c, h, w)
        out.append(Case((features, target), f"features ({b}, {c}, {h}, {w}), target "
                        f"({c}, {h}, {w})", b))
    return out


CONTENT = Exercise(
    id="ch15.content_loss",
    title="the content loss",
    signature="content_loss(features, target) -> scalar",
    reference=content_loss,
    cases=_cases_content,
    output="scalar",
    grad_args=(0,),
    mistakes=(
        Mistake("a mean over the C H W entries (torch's mse_loss): the content loss sums the "
                "squared differences, |Phi(x) - Phi(x_c)|_F^2 / 2",
                lambda f, t: 0.5 * ((f - t) ** 2).mean()),
        Mistake("absolute differences: the content loss squares them",
                lambda f, t: 0.5 * (f - t).abs().sum((1, 2, 3)).mean()),
        Mistake("mean of the squared differences without the 1/2 (mse_loss)",
                lambda f, t: ((f - t) ** 2).mean()),
    ),
)


def _cases_tv() -> list[Case]:
    gen = seeded(153)
    return [Case((randn(gen, b, c, h, w).sigmoid(),), f"images ({b}, {c}, {h}, {w})", b)
            for b, c, h, w in ((2, 3, 4, 5), (3, 1, 6, 3), (1, 2, 5, 5))]


def _tv_wrap(x: torch.Tensor) -> torch.Tensor:
    dv = x - x.roll(1, dims=2)
    dh = x - x.roll(1, dims=3)
    return ((dv**2).sum((1, 2, 3)) + (dh**2).sum((1, 2, 3))).mean()


TV = Exercise(
    id="ch15.total_variation",
    title="the total-variation regularizer",
    signature="total_variation(x) -> scalar",
    reference=total_variation,
    cases=_cases_tv,
    output="scalar",
    grad_args=(0,),
    mistakes=(
        Mistake("only the vertical differences: add the horizontal ones, between "
                "neighbours along the width",
                lambda x: ((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum((1, 2, 3)).mean()),
        Mistake("only the horizontal differences: add the vertical ones, between "
                "neighbours along the height",
                lambda x: ((x[..., 1:] - x[..., :-1]) ** 2).sum((1, 2, 3)).mean()),
        Mistake("absolute differences: this regularizer squares them (beta = 2)",
                lambda x: ((x[:, :, 1:] - x[:, :, :-1]).abs().sum((1, 2, 3))
                           + (x[..., 1:] - x[..., :-1]).abs().sum((1, 2, 3))).mean()),
        Mistake("the differences wrap around the border (torch.roll): the last row and "
                "column have no neighbour beyond the image", _tv_wrap),
    ),
    confirmation="A constant image has total variation 0.",
)

ALL: tuple[Exercise, ...] = (STYLE, CONTENT, TV)  # in the notebook's order
