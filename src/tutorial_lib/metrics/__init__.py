"""Evaluating generative models (chapter 9).

- :mod:`~tutorial_lib.metrics.frechet`: the Frechet distance between Gaussians; FID.
- :mod:`~tutorial_lib.metrics.kid`: KID, the unbiased squared MMD with a cubic kernel.
- :mod:`~tutorial_lib.metrics.precision_recall`: k-NN precision and recall.
- :mod:`~tutorial_lib.metrics.coverage`: the predicted-class histogram and its distance
  from uniform.
- :mod:`~tutorial_lib.metrics.classifier`: the digit classifier whose features all of
  the above use (the book's offline stand-in for Inception).
- :mod:`~tutorial_lib.metrics.memorization`: nearest training images, to catch copying.
- :mod:`~tutorial_lib.metrics.evaluate`: every score at once.
"""

from tutorial_lib.metrics.classifier import (
    ClassifierConfig,
    ClassifierTrainConfig,
    DigitClassifier,
    accuracy,
    extract_features,
    load_classifier,
    predict,
    save_classifier,
    train_classifier,
)
from tutorial_lib.metrics.coverage import ClassCoverage, class_coverage
from tutorial_lib.metrics.evaluate import DigitScores, digit_scores
from tutorial_lib.metrics.frechet import fid_from_features, frechet_distance, gaussian_statistics
from tutorial_lib.metrics.kid import KIDResult, kid, mmd2_unbiased
from tutorial_lib.metrics.memorization import NearestNeighbours, copy_fraction, nearest_neighbours
from tutorial_lib.metrics.precision_recall import PrecisionRecall, precision_recall

__all__ = [
    "ClassCoverage", "ClassifierConfig", "ClassifierTrainConfig", "DigitClassifier",
    "DigitScores", "KIDResult", "NearestNeighbours", "PrecisionRecall", "accuracy",
    "class_coverage", "copy_fraction", "digit_scores", "extract_features",
    "fid_from_features", "frechet_distance", "gaussian_statistics", "kid",
    "load_classifier", "mmd2_unbiased", "nearest_neighbours", "precision_recall", "predict",
    "save_classifier", "train_classifier",
]
