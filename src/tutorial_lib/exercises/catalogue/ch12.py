"""Chapter 12's exercises: the area under the ROC curve, the Gram matrix of style
transfer, and pix2pix's generator loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutorial_lib.applications.anomaly import roc_auc
from tutorial_lib.exercises.catalogue.common import bce, randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.exercises.integrity import NUMBER
from tutorial_lib.style.losses import gram_matrix  # the reference: chapter 15 uses it


def _cases_auc() -> list[Case]:
    gen, out = seeded(14), []
    for n, frac in ((40, 0.3), (23, 0.5), (60, 0.2)):
        truth = torch.rand(n, generator=gen) < frac
        truth[0], truth[1] = True, False
        scores = torch.round(randn(gen, n) + 0.8 * truth.float(), decimals=0)  # with ties
        out.append(Case((scores, truth), f"{n} scores with ties, {int(truth.sum())} anomalies",
                        n))
    return out


def _auc_variant(scores, truth, *, tie: float, flip: bool = False):
    a, n = scores[truth].double(), scores[~truth].double()
    if flip:
        a, n = n, a
    return float(((a[:, None] > n[None, :]).double()
                  + tie * (a[:, None] == n[None, :]).double()).mean())


AUC = Exercise(
    id="ch12.roc_auc",
    title="the area under the ROC curve",
    signature="roc_auc(scores, is_anomaly) -> float",
    reference=roc_auc,
    cases=_cases_auc,
    output="scalar",
    returns=NUMBER,
    mistakes=(
        Mistake("the orientation is flipped: you measured P(normal scores higher than "
                "anomaly); anomalies should get the higher scores",
                lambda s, t: _auc_variant(s, t, tie=0.5, flip=True)),
        Mistake("ties are not counted: a tie between an anomaly and a normal image counts "
                "one half", lambda s, t: _auc_variant(s, t, tie=0.0)),
        Mistake("ties counted as wins: a tie between an anomaly and a normal image counts "
                "one half, not one", lambda s, t: _auc_variant(s, t, tie=1.0)),
    ),
    confirmation="Compare with sklearn.metrics.roc_auc_score(is_anomaly, scores).",
)


def _cases_gram() -> list[Case]:
    gen = seeded(121)
    return [Case((randn(gen, b, c, h, w),), f"features ({b}, {c}, {h}, {w})", b)
            for b, c, h, w in ((2, 3, 4, 5), (3, 5, 2, 3), (1, 4, 3, 3))]


GRAM = Exercise(
    id="ch12.gram_matrix",
    title="the Gram matrix of style transfer",
    signature="gram_matrix(features) -> (B, C, C)",
    reference=gram_matrix,
    cases=_cases_gram,
    output="array",
    generic=False,
    grad_args=(0,),
    mistakes=(
        Mistake("not normalized: divide F F^T by the number of positions M = H W, so that "
                "it is a matrix of second moments over positions",
                lambda f: gram_matrix(f) * f.shape[2] * f.shape[3]),
        Mistake("divided by C H W: the second moments over positions divide by the number "
                "of positions M = H W only", lambda f: gram_matrix(f) / f.shape[1]),
        Mistake("the pixels were flattened into the batch: F has shape (C, H W) per image, and "
                "the Gram matrix correlates channels, G = F F^T within each image",
                lambda f: _batch_gram(f)),
    ),
    confirmation="Each Gram matrix is symmetric and positive semi-definite.",
)


def _batch_gram(f: torch.Tensor) -> torch.Tensor:
    b, c, h, w = f.shape
    flat = f.transpose(0, 1).reshape(c, b * h * w)
    return (flat @ flat.T / (h * w * b)).expand(b, c, c)


def pix2pix_generator_loss(fake_logits: torch.Tensor, fake: torch.Tensor,
                           target: torch.Tensor, lam: float) -> torch.Tensor:
    """pix2pix's generator loss (Isola et al., 2017): the non-saturating adversarial loss
    plus lam times the L1 distance to the paired target image, averaged over the pixels as
    pix2pix's code does (nn.L1Loss; its lam = 100 goes with that mean).
    fake_logits: (B, 1); fake, target: (B, C, H, W); lam: the L1 term's weight."""
    return (F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
            + lam * (fake - target).abs().mean())


def _cases_pix2pix() -> list[Case]:
    gen, out = seeded(122), []
    for b, lam in ((4, 100.0), (7, 10.0), (5, 3.0)):
        out.append(Case((randn(gen, b, 1, scale=2.0), torch.rand(b, 1, 4, 4, generator=gen),
                         torch.rand(b, 1, 4, 4, generator=gen), lam),
                        f"fake_logits ({b}, 1), images ({b}, 1, 4, 4), lam = {lam:g}", b))
    return out


PIX2PIX = Exercise(
    id="ch12.pix2pix_generator_loss",
    title="pix2pix's generator loss: adversarial plus L1",
    signature="pix2pix_generator_loss(fake_logits, fake, target, lam) -> scalar",
    reference=pix2pix_generator_loss,
    cases=_cases_pix2pix,
    output="scalar",
    grad_args=(0, 1),
    formula=Formula(
        quantities=lambda fake_logits, fake, target, lam: {"logits": fake_logits,
                                                           "diff": fake - target, "lam": lam},
        terms=(
            Term("-E log D(G(x)) (the adversarial term)",
                 lambda q: F.binary_cross_entropy_with_logits(
                     q["logits"], torch.ones_like(q["logits"])),
                 alternatives=(("the adversarial term uses the label 0: the generator wants "
                                "its images taken for real, label 1", lambda q: F.softplus(
                                    q["logits"]).mean()),)),
            Term("lam E |G(x) - y| (the L1 term)", lambda q: q["lam"] * q["diff"].abs().mean(),
                 alternatives=(("the L2 distance where pix2pix uses L1: |G(x) - y| blurs "
                                "less than (G(x) - y)^2",
                                lambda q: q["lam"] * (q["diff"] ** 2).mean()),
                               ("the weight lam is missing on the L1 term",
                                lambda q: q["diff"].abs().mean()),
                               ("the L1 term is summed over the pixels: pix2pix averages "
                                "it (nn.L1Loss), and its lam = 100 goes with that mean",
                                lambda q: q["lam"] * q["diff"].abs().flatten(1).sum(1).mean()))),
        ),
    ),
    mistakes=(
        Mistake("lam weighs the adversarial term instead of the L1 term",
                lambda lg, f, t, lam: lam * bce(lg, 1.0) + (f - t).abs().mean()),
    ),
)
