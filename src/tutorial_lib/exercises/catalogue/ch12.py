"""Chapter 12's exercise: the area under the ROC curve, by hand."""

from __future__ import annotations

import torch

from tutorial_lib.applications.anomaly import roc_auc
from tutorial_lib.exercises.catalogue.common import randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.integrity import NUMBER


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
