"""Chapter 10's exercises: class coverage (the total variation from uniform), and the two
halves of k-NN precision and recall: the radii, and the fraction inside the manifold."""

from __future__ import annotations

import numpy as np
import torch

from tutorial_lib.exercises.catalogue.common import seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.integrity import NUMBER
from tutorial_lib.metrics.coverage import class_coverage
from tutorial_lib.metrics.precision_recall import knn_radii, manifold_fraction


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


def _cases_radii() -> list[Case]:
    rng, out = np.random.default_rng(101), []
    for n, d, k in ((12, 3, 3), (9, 5, 2), (15, 2, 4)):
        out.append(Case((rng.standard_normal((n, d)), k), f"{n} points in {d} dimensions, "
                                                          f"k = {k}", n))
    return out


def _kth(features: np.ndarray, k: int, *, column=None, squared=False) -> np.ndarray:
    d = np.sqrt(((features[:, None, :] - features[None, :, :]) ** 2).sum(-1))
    d = d ** 2 if squared else d
    return np.sort(d, axis=1)[:, k if column is None else column]


RADII = Exercise(
    id="ch10.knn_radii",
    title="the k-nearest-neighbour radii of a feature set",
    signature="knn_radii(features, k) -> (N,)",
    reference=knn_radii,
    cases=_cases_radii,
    returns=NUMBER,
    generic=False,
    mistakes=(
        Mistake("off by one: the sorted distances of a point start with its distance 0 to "
                "itself, so the k-th nearest other point is column k, not k - 1",
                lambda f, k: _kth(f, k, column=k - 1)),
        Mistake("off by one: column k + 1 of the sorted distances is the (k + 1)-th nearest "
                "other point; column 0 is the point itself", lambda f, k: _kth(f, k,
                                                                               column=k + 1)),
        Mistake("squared distances: the radius is a distance, the square root of the sum of "
                "squares", lambda f, k: _kth(f, k, squared=True)),
    ),
)


def _cases_fraction() -> list[Case]:
    rng, out = np.random.default_rng(102), []
    for n, m, d in ((10, 14, 2), (16, 9, 3), (12, 12, 4)):
        manifold = rng.standard_normal((n, d))
        radii = knn_radii(manifold, 3)
        out.append(Case((manifold, radii, rng.standard_normal((m, d)) * 1.3 + 0.4),
                        f"manifold of {n}, {m} queries in {d} dimensions", m))
    return out


def _fraction(manifold, radii, queries, *, reduce_any=True, axis=1, radius_of=None,
              squared=False):
    d = np.sqrt(((queries[:, None] - manifold[None]) ** 2).sum(-1))
    d = d ** 2 if squared else d
    inside = d <= (radii[None, :] if radius_of is None else radius_of)
    hit = inside.any(axis=axis) if reduce_any else inside.all(axis=axis)
    return float(hit.mean())


FRACTION = Exercise(
    id="ch10.manifold_fraction",
    title="the fraction of queries inside the k-NN manifold (precision, recall)",
    signature="manifold_fraction(manifold, radii, queries) -> float",
    reference=manifold_fraction,
    cases=_cases_fraction,
    output="scalar",
    returns=NUMBER,
    mistakes=(
        Mistake("all where any belongs: a query is inside the manifold when it lies in the "
                "ball of SOME manifold point", lambda m, r, q: _fraction(m, r, q,
                                                                         reduce_any=False)),
        Mistake("the fraction of manifold points near some query: precision counts queries "
                "(generated samples) inside the real manifold; reduce over the manifold "
                "(axis 1), then average over the queries",
                lambda m, r, q: _fraction(m, r, q, axis=0)),
        Mistake("squared distances compared with radii that are distances",
                lambda m, r, q: _fraction(m, r, q, squared=True)),
        Mistake("one radius for all balls (the mean radius): each manifold point i has its "
                "own radius radii[i]", lambda m, r, q: _fraction(m, r, q, radius_of=r.mean())),
    ),
)
