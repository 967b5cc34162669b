"""All of chapter 9's sample metrics at once, on the digit classifier's features."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from tutorial_lib.metrics.classifier import DigitClassifier, extract_features
from tutorial_lib.metrics.coverage import class_coverage
from tutorial_lib.metrics.frechet import fid_from_features
from tutorial_lib.metrics.kid import kid
from tutorial_lib.metrics.precision_recall import precision_recall
from tutorial_lib.validation import check_images


@dataclass(frozen=True)
class DigitScores:
    """Scores of N images against reference (training) images, on digit features."""

    fid: float  # digit-feature FID (lower is better; 0 for identical statistics)
    kid: float  # digit-feature KID, unbiased (lower is better; ~0 for the same distribution)
    kid_stderr: float
    precision: float  # fraction of images on the reference manifold
    recall: float  # fraction of reference images on the images' manifold
    class_tv: float  # total variation of the predicted-class histogram from uniform
    classes_present: int
    n: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __repr__(self) -> str:
        return (f"FID {self.fid:.2f} | KID {self.kid:.4f} +- {self.kid_stderr:.4f} | "
                f"precision {self.precision:.3f} | recall {self.recall:.3f} | "
                f"{self.classes_present} classes, TV {self.class_tv:.3f} | n = {self.n}")


def digit_scores(images: torch.Tensor, reference: torch.Tensor, classifier: DigitClassifier,
                 *, k: int = 3, kid_blocks: int = 10, seed: int = 0) -> DigitScores:
    """Score ``images`` (N, C, H, W) in [0, 1] against ``reference`` images (M, C, H, W).

    FID and KID use all reference images. Precision and recall compare equal numbers of
    images (a seeded subset of the larger set), since the k-NN radii shrink as a set
    grows. The class histogram uses the classifier's predictions on ``images``.
    """
    check_images(images, "images", nonempty=True)
    check_images(reference, "reference", nonempty=True)
    feats = extract_features(classifier, images)
    ref = extract_features(classifier, reference)
    n = min(len(feats), len(ref))
    gen = torch.Generator().manual_seed(seed)
    sub_f = feats[torch.randperm(len(feats), generator=gen)[:n]]
    sub_r = ref[torch.randperm(len(ref), generator=gen)[:n]]
    pr = precision_recall(sub_r, sub_f, k=k)
    kd = kid(feats, ref, blocks=kid_blocks, seed=seed)
    with torch.no_grad():
        predicted = classifier.head(feats.to(next(classifier.parameters()).device)).argmax(1)
    cover = class_coverage(predicted, classifier.config.num_classes)
    return DigitScores(fid=fid_from_features(feats, ref), kid=kd.value, kid_stderr=kd.stderr,
                       precision=pr.precision, recall=pr.recall, class_tv=cover.tv,
                       classes_present=cover.classes_present, n=len(images))
