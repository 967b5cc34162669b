"""Anomaly detection with a VAE (chapter 12): train on normal digits only, flag images
the model finds unlikely.

The score of an image is its negative ELBO, -L(x) >= -log p(x), in nats (or the
negative IWAE bound with k > 1, a tighter estimate of -log p(x)). A detector that
flags scores above a threshold trades false alarms for misses as the threshold moves;
the ROC curve draws that trade and its area (ROC AUC) is the probability that a random
anomaly scores above a random normal image (1: perfect, 0.5: chance).

Likelihood is known to reward simple images (few inked pixels) whatever their class
(Nalisnick et al., 2019); :func:`compression_bits` measures that simplicity with a
generic compressor, and ``score - compression_bits`` is the complexity-corrected score of
Serra et al. (2020). :func:`latent_density_scores` asks a different question: not how well
the decoder codes the pixels, but whether the encoder puts the image where it puts the
training images (a Gaussian mixture fitted to their codes, as in Zong et al., 2018).

The protocol of the literature (:data:`PUBLISHED_MNIST_AUC`) runs ten tasks: each digit in
turn is the anomaly, the model trains on the other nine.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as _roc_curve
from sklearn.mixture import GaussianMixture

from tutorial_lib.data.images import ImageDataset, binarize
from tutorial_lib.vae.diagnostics import posterior_statistics
from tutorial_lib.vae.models import VAE
from tutorial_lib.vae.objectives import device_batches, elbo, iwae_bound
from tutorial_lib.validation import (
    check_binary_labels,
    check_images,
    check_number,
    check_positive_int,
    check_tensor,
)

# ROC AUC per held-out digit (0-9) of a VAE scored by its negative ELBO on full MNIST, one
# digit the anomaly and the other nine the training data: Tonnaer, Table 3.3 (two latent
# sizes; the means are 0.855 and 0.718).
PUBLISHED_MNIST_AUC: dict[str, tuple[float, ...]] = {
    "VAE, 2-D latent, -ELBO (Tonnaer)": (0.96, 0.73, 0.97, 0.94, 0.73, 0.92, 0.95, 0.77,
                                         0.92, 0.66),
    "VAE, 32-D latent, -ELBO (Tonnaer)": (0.81, 0.09, 0.92, 0.87, 0.78, 0.86, 0.87, 0.51,
                                          0.89, 0.58),
}


@dataclass
class AnomalySplit:
    """Training images of the normal classes only, and test images with their truth."""

    x_train: torch.Tensor  # (N, C, H, W): normal classes only
    y_train: torch.Tensor  # (N,)
    x_test: torch.Tensor  # (M, C, H, W): every class
    y_test: torch.Tensor  # (M,)
    is_anomaly: torch.Tensor  # (M,) bool: y_test is the held-out class
    anomaly_class: int

    def __repr__(self) -> str:
        n_anom = int(self.is_anomaly.sum())
        return (f"AnomalySplit(train on {len(self.x_train)} normal images; test "
                f"{len(self.x_test) - n_anom} normal + {n_anom} anomalies of class "
                f"{self.anomaly_class})")


def holdout_class_split(data: ImageDataset, anomaly_class: int = 9) -> AnomalySplit:
    """Remove ``anomaly_class`` from the training split; mark it in the test split."""
    if not 0 <= anomaly_class < data.num_classes:
        raise ValueError(f"anomaly_class must be in 0..{data.num_classes - 1}, "
                         f"got {anomaly_class}")
    keep = data.y_train != anomaly_class
    is_anomaly = data.y_test == anomaly_class
    if not bool(is_anomaly.any()):
        raise ValueError(f"the test split has no images of class {anomaly_class}")
    return AnomalySplit(data.x_train[keep], data.y_train[keep], data.x_test, data.y_test,
                        is_anomaly, anomaly_class)


@torch.no_grad()
def anomaly_scores(model: VAE, x: torch.Tensor, *, k: int = 1, batch_size: int = 250,
                   binarization_seed: int = 12345, seed: int = 0) -> torch.Tensor:
    """Negative ELBO (k = 1) or negative IWAE bound (k > 1) of each image, in nats.

    Args:
        x: (N, C, H, W) in [0, 1]; binarized with a fixed seed for a Bernoulli decoder.
    Returns:
        (N,) scores on the CPU; higher means less likely under the model.
    """
    check_images(x, "x", nonempty=True, dtype=next(model.parameters()).dtype)
    check_positive_int(k, "k")
    check_positive_int(batch_size, "batch_size")
    if getattr(model.likelihood, "binary", False):
        x = binarize(x, "fixed", seed=binarization_seed)
    was_training = model.training
    model.eval()
    torch.manual_seed(seed)
    out = []
    for xb, _ in device_batches(model, x, None, batch_size):
        bound = elbo(model, xb).elbo if k == 1 else iwae_bound(model, xb, k)
        out.append(-bound.cpu())
    model.train(was_training)
    return torch.cat(out)


def _check_scores(scores: torch.Tensor, is_anomaly: torch.Tensor) -> tuple[np.ndarray, ...]:
    """Scores (N,), finite, and the truth (N,): bool, or integers that are all 0 or 1."""
    check_tensor(scores, "scores", ndim=1, finite=True)
    truth = check_binary_labels(is_anomaly, "is_anomaly", len(scores), per="image").cpu().numpy()
    if truth.all() or not truth.any():
        raise ValueError("is_anomaly must contain both anomalies (True) and normal images "
                         "(False) for a ROC curve")
    return scores.detach().cpu().double().numpy(), truth


def roc_auc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """Area under the ROC curve of the detector "anomaly when score > t" (scikit-learn).

    Equals P(score of a random anomaly > score of a random normal image), ties counted
    one half.
    """

    s, truth = _check_scores(scores, is_anomaly)
    return float(roc_auc_score(truth, s))


def roc_curve(scores: torch.Tensor, is_anomaly: torch.Tensor
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates, thresholds), from scikit-learn."""

    s, truth = _check_scores(scores, is_anomaly)
    return _roc_curve(truth, s)


def compression_bits(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Length in bits of each image, binarized at ``threshold``, packed 8 pixels a byte
    and compressed with zlib (level 9): a generic, model-free measure of complexity.

    Returns:
        (N,) float64, bits per image.
    """
    check_images(x, "x")
    check_number(threshold, "threshold", low=0, high=1)
    bits = (x > threshold).flatten(1).cpu().numpy().astype(np.uint8)
    return torch.tensor([8.0 * len(zlib.compress(np.packbits(row).tobytes(), 9))
                         for row in bits], dtype=torch.float64)


NATS_PER_BIT = math.log(2)


def complexity_corrected_scores(scores: torch.Tensor, x: torch.Tensor,
                                threshold: float = 0.5) -> torch.Tensor:
    """The anomaly score in bits minus the image's compressed length in bits (Serrà et al.,
    2020): ``scores / ln 2 - compression_bits(x)``, so that a simple image no longer
    looks typical merely because it is easy to code.

    Args:
        scores: (N,) anomaly scores in nats (e.g. from :func:`anomaly_scores`).
        x: (N, C, H, W) the images they score, in [0, 1].

    Returns:
        (N,) float64, bits.
    """
    check_tensor(scores, "scores", ndim=1, finite=True)
    check_images(x, "x")
    if len(scores) != len(x):
        raise ValueError(f"expected one score per image, got {len(scores)} scores for "
                         f"{len(x)} images")
    return scores.double().cpu() / NATS_PER_BIT - compression_bits(x, threshold)


@torch.no_grad()
def latent_density_scores(model: VAE, x_fit: torch.Tensor, x: torch.Tensor, *,
                          components: int = 10, binarization_seed: int = 12345,
                          seed: int = 0) -> torch.Tensor:
    """Negative log density of each image's code under a mixture fitted to the training codes.

    The encoder maps every image to the mean mu(x) of q(z | x). A Gaussian mixture with
    ``components`` full-covariance components (scikit-learn, EM) is fitted to the means of
    ``x_fit``, the normal training images: an estimate of the density of the codes the
    model saw, its aggregate posterior. An image whose code falls where no training code
    does scores high, however few pixels it has to explain.

    Args:
        x_fit: (M, C, H, W) in [0, 1], normal images (M > ``components``).
        x: (N, C, H, W) in [0, 1], the images to score.

    Returns:
        (N,) float64 on the CPU, in nats of the d_z-dimensional code; higher is more
        anomalous.
    """
    dtype = next(model.parameters()).dtype
    check_images(x_fit, "x_fit", nonempty=True, dtype=dtype)
    check_images(x, "x", nonempty=True, dtype=dtype)
    check_positive_int(components, "components")
    if len(x_fit) <= components:
        raise ValueError(f"x_fit: a mixture of {components} components needs more than "
                         f"{components} images to fit, got {len(x_fit)}")
    if getattr(model.likelihood, "binary", False):
        x_fit = binarize(x_fit, "fixed", seed=binarization_seed)
        x = binarize(x, "fixed", seed=binarization_seed)
    was_training = model.training
    mu_fit, _ = posterior_statistics(model, x_fit)
    mu, _ = posterior_statistics(model, x)
    model.train(was_training)
    mixture = GaussianMixture(components, covariance_type="full", random_state=seed)
    mixture.fit(mu_fit.double().numpy())
    return torch.from_numpy(-mixture.score_samples(mu.double().numpy()))
