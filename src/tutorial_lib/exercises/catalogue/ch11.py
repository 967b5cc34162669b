"""Chapter 11's exercise: VAE-GAN's reconstruction error in feature space."""

from __future__ import annotations

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, mean_for_sum
from tutorial_lib.hybrids.vaegan import feature_distance


def _cases_features() -> list[Case]:
    gen = seeded(13)
    return [Case((randn(gen, b, f), randn(gen, b, f)), f"features of shape ({b}, {f})", b)
            for b, f in SHAPES]


FORMULA = Formula(
    quantities=lambda features_real, features_rec: {"diff": features_real - features_rec},
    terms=(Term("1/2 (f(x) - f(x_rec))^2", lambda q: q["diff"] ** 2, 0.5,
                unsquared=lambda q: q["diff"]),),
    reduce=lambda t: t.sum(1),
    wrong_reductions=(mean_for_sum("features", "-log N(f; f', I) sums the squared "
                                   "differences of independent coordinates", axis=1),),
    reduced_over="the F features",
)


FEATURES = Exercise(
    id="ch11.feature_distance",
    title="VAE-GAN's reconstruction error in feature space",
    signature="feature_distance(features_real, features_rec) -> (B,)",
    reference=feature_distance,
    cases=_cases_features,
    formula=FORMULA,
    grad_args=(0, 1),
    axes=("the B examples", "the F features"),
    mistakes=(
        Mistake("the norm is not squared: 1/2 ||f(x) - f(x_rec)||^2",
                lambda a, b: 0.5 * (a - b).norm(dim=1)),
        Mistake("absolute differences: the Gaussian's error is squared, 1/2 sum (f - f')^2",
                lambda a, b: 0.5 * (a - b).abs().sum(1)),
    ),
)
