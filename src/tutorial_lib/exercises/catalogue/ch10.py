"""Chapter 10's exercise: class coverage, the total variation from uniform."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.integrity import NUMBER
from tutorial_lib.metrics.coverage import class_coverage


def class_total_variation(labels: torch.Tensor, num_classes: int) -> float:
    """1/2 sum_k |p_k - 1/K| for the histogram p of labels (N,): the package's
    :func:`~tutorial_lib.metrics.coverage.class_coverage`, as one number."""
    return class_coverage(labels, num_classes).tv


def _cases_tv() -> list[Case]:
    gen, out = seeded(12), []
    for n, k, top in ((50, 10, 8), (37, 4, 3), (64, 6, 5)):
        weights = torch.rand(top, generator=gen) + 0.2
        labels = torch.multinomial(weights, n, replacement=True, generator=gen)
        out.append(Case((labels, k), f"{n} labels, {k} classes (the last ones absent)", n))
    return out


def _tv_variant(labels, k, *, half=0.5, counts=False, present=False, minlength=True,
                sup=False):
    c = torch.bincount(labels, minlength=k if minlength else 0).double()
    p = c if counts else c / len(labels)
    ref = (len(labels) if counts else 1.0) / (int((c > 0).sum()) if present else k)
    dev = (p - ref).abs()
    if present:
        dev = dev[c > 0]
    return float(dev.max()) if sup else float(half * dev.sum())


CLASS_TV = Exercise(
    id="ch10.class_total_variation",
    title="class coverage: total variation from uniform",
    signature="class_total_variation(labels, num_classes) -> float",
    reference=class_total_variation,
    cases=_cases_tv,
    output="scalar",
    returns=NUMBER,
    mistakes=(
        Mistake("that is the L1 distance sum_k |p_k - 1/K|; the total variation is half of "
                "it", lambda lb, k: _tv_variant(lb, k, half=1.0)),
        Mistake("you used counts where fractions belong: divide the histogram by N",
                lambda lb, k: _tv_variant(lb, k, counts=True)),
        Mistake("the classes that never appear are left out: bincount needs "
                "minlength=num_classes, so that a missing class counts as p_k = 0",
                lambda lb, k: _tv_variant(lb, k, minlength=False)),
        Mistake("the uniform distribution is over ALL num_classes classes, not only over "
                "those that appear", lambda lb, k: _tv_variant(lb, k, present=True)),
        Mistake("max_k |p_k - 1/K| is not the total variation; TV = 1/2 sum_k |p_k - 1/K|",
                lambda lb, k: _tv_variant(lb, k, sup=True)),
    ),
)
