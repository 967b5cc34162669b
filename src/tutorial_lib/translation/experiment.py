"""The chapter's measurement: the L1 baseline against pix2pix (L1 + conditional GAN),
trained for the same steps from the same seeds, scored on the test pairs.

The scores ask whether an output looks like a digit, and the right one:

- ``grey``: the fraction of grey pixels (:func:`~tutorial_lib.translation.paired.
  grey_fraction`), high for a blurred image;
- ``agreement``: how often the book's digit classifier reads the output as the digit
  the target is;
- ``precision``: the fraction of outputs inside the k-nearest-neighbour manifold of the
  real test digits' classifier features (Kynkaanniemi et al., 2019), and ``recall``;
- ``l1``: the mean absolute error to the target, what the L1 baseline minimizes.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from tutorial_lib.metrics.classifier import DigitClassifier, extract_features, predict
from tutorial_lib.metrics.precision_recall import precision_recall
from tutorial_lib.translation.paired import (
    Pix2PixConfig,
    downsample_pair,
    grey_fraction,
    train_pix2pix,
    translate,
)
from tutorial_lib.validation import check_images, check_labels, check_positive_int

ARMS = ("L1 only", "L1 + cGAN")
SCORES = ("grey", "agreement", "precision", "recall", "l1")


def translation_scores(outputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                       classifier: DigitClassifier, k: int = 3) -> dict[str, float]:
    """Score ``outputs`` (N, 1, 28, 28) against their ``targets`` (same shape) whose classes
    are ``labels`` (N,): see the module's docstring for the scores."""
    check_images(outputs, "outputs", nonempty=True)
    check_images(targets, "targets", nonempty=True)
    if outputs.shape != targets.shape:
        raise ValueError(f"outputs and targets: expected the same shape, got "
                         f"{tuple(outputs.shape)} and {tuple(targets.shape)}")
    check_labels(labels, "labels", len(outputs))
    pr = precision_recall(extract_features(classifier, targets),
                          extract_features(classifier, outputs), k=k)
    return {"grey": grey_fraction(outputs),
            "agreement": float((predict(classifier, outputs) == labels.cpu()).float().mean()),
            "precision": pr.precision, "recall": pr.recall,
            "l1": float((outputs - targets).abs().mean())}


def l1_versus_gan(x_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                  classifier: DigitClassifier, config: Pix2PixConfig, seeds: int,
                  device: torch.device | str | None = None, progress: bool = True
                  ) -> dict:
    """Train both arms (``config`` with ``adversarial`` False and True) from seeds
    ``config.seed``, ``config.seed + 1``, ... and score each on the test pairs.

    Returns ``{"scores": {arm: {score: [one value per seed]}}, "outputs": {arm: the first
    seed's test outputs}, "runs": {arm: the first seed's Pix2PixRun}, "x_a": the test
    inputs}``.
    """
    check_images(x_test, "x_test", nonempty=True)
    check_positive_int(seeds, "seeds")
    x_a, x_b = downsample_pair(x_test, config.factor)
    scores = {arm: {s: [] for s in SCORES} for arm in ARMS}
    outputs, runs = {}, {}
    for i in range(seeds):
        for arm, adversarial in zip(ARMS, (False, True), strict=True):
            run = train_pix2pix(x_train, replace(config, adversarial=adversarial,
                                                 seed=config.seed + i),
                                device=device, progress=progress)
            out = translate(run.generator, x_a)
            for name, value in translation_scores(out, x_b, y_test, classifier).items():
                scores[arm][name].append(value)
            if i == 0:
                outputs[arm], runs[arm] = out, run
    return {"scores": scores, "outputs": outputs, "runs": runs, "x_a": x_a}
