"""Chapter 11's exercise: VAE-GAN's reconstruction error in feature space."""

from __future__ import annotations

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.hybrids.vaegan import feature_distance


def _cases_features() -> list[Case]:
    gen = seeded(13)
    return [Case((randn(gen, b, f), randn(gen, b, f)), f"features of shape ({b}, {f})", b)
            for b, f in SHAPES]


FEATURES = Exercise(
    id="ch11.feature_distance",
    title="VAE-GAN's reconstruction error in feature space",
    signature="feature_distance(features_real, features_rec) -> (B,)",
    reference=feature_distance,
    cases=_cases_features,
    mistakes=(
        Mistake("a mean over features where the sum belongs: -log N(f; f', I) sums the "
                "squared differences of independent coordinates",
                lambda a, b: feature_distance(a, b) / a.shape[1]),
        Mistake("the norm is not squared: 1/2 ||f(x) - f(x_rec)||^2",
                lambda a, b: 0.5 * (a - b).norm(dim=1)),
        Mistake("absolute differences: the Gaussian's error is squared, 1/2 sum (f - f')^2",
                lambda a, b: 0.5 * (a - b).abs().sum(1)),
    ),
)
