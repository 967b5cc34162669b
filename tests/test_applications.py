"""applications/: anomaly detection, the head-to-head, augmentation with generated digits."""

from __future__ import annotations

import math

import pytest
import torch

from tutorial_lib.applications.anomaly import (
    anomaly_scores,
    complexity_corrected_scores,
    compression_bits,
    holdout_class_split,
    roc_auc,
    roc_curve,
)
from tutorial_lib.data.images import ImageDataset, binarize
from tutorial_lib.vae import VAE, VAEConfig
from tutorial_lib.vae.objectives import elbo

DIGIT_SHAPE = (1, 8, 8)  # scikit-learn's digits


def test_the_corrected_score_is_bits_of_the_score_minus_the_compressed_length() -> None:
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    scores = torch.linspace(50.0, 80.0, 6)
    corrected = complexity_corrected_scores(scores, x)
    expected = scores.double() / math.log(2) - compression_bits(x)
    assert corrected.dtype == torch.float64
    assert torch.allclose(corrected, expected)
    # a blank image codes shorter than a noisy one: at an equal score the model is more
    # surprised by it than its simplicity explains, so its corrected score is higher
    blank_and_noisy = torch.cat([torch.zeros(1, 1, 8, 8), x[:1]])
    two = complexity_corrected_scores(torch.tensor([60.0, 60.0]), blank_and_noisy)
    assert two[0] > two[1]


def test_the_corrected_score_needs_one_score_per_image() -> None:
    with pytest.raises(ValueError, match="one score per image, got 3 scores for 2 images"):
        complexity_corrected_scores(torch.ones(3), torch.zeros(2, 1, 8, 8))


def test_anomaly_scores_are_the_negative_elbo_and_tighten_with_k() -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=DIGIT_SHAPE, latent_dim=3, hidden=(16,))).eval()
    x = torch.rand(20, *DIGIT_SHAPE)
    scores = anomaly_scores(model, x, seed=3)
    torch.manual_seed(3)
    with torch.no_grad():
        expected = -elbo(model, binarize(x, "fixed", seed=12345)).elbo
    assert torch.allclose(scores, expected)
    # -IWAE_k <= -ELBO in expectation: average over images
    assert anomaly_scores(model, x, k=50).mean() < anomaly_scores(model, x, k=1).mean()



def test_roc_auc_is_the_probability_an_anomaly_scores_higher() -> None:
    gen = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (60,), generator=gen).double()  # many ties
    truth = torch.rand(60, generator=gen) < 0.3
    pos, neg = scores[truth], scores[~truth]
    pairs = (pos[:, None] > neg[None]).double() + 0.5 * (pos[:, None] == neg[None]).double()
    assert roc_auc(scores, truth) == pytest.approx(float(pairs.mean()))
    assert roc_auc(truth.double(), truth) == 1.0
    fpr, tpr, _ = roc_curve(scores, truth)
    assert fpr[0] == 0 and tpr[-1] == 1 and (fpr[1:] >= fpr[:-1]).all()
    with pytest.raises(ValueError, match="both anomalies"):
        roc_auc(scores, torch.ones(60, dtype=torch.bool))
    with pytest.raises(ValueError, match="one entry per image"):
        roc_auc(scores[:5], truth)



def test_holdout_split_and_compression_bits(digits: ImageDataset) -> None:
    split = holdout_class_split(digits, anomaly_class=9)
    assert not (split.y_train == 9).any()
    assert torch.equal(split.is_anomaly, digits.y_test == 9) and split.is_anomaly.any()
    with pytest.raises(ValueError, match="anomaly_class"):
        holdout_class_split(digits, anomaly_class=10)
    blank = torch.zeros(1, 1, 28, 28)
    noise = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    bits = compression_bits(torch.cat([blank, noise]))
    assert bits[0] < bits[1] <= 8 * (98 + 20)  # 784 pixels = 98 bytes, plus zlib overhead



@pytest.mark.slow
@pytest.mark.parametrize("name", ["vae", "gan", "vae-gan", "aae"])
def test_every_model_trains_for_a_time_budget_and_samples(name: str,
                                                          digits: ImageDataset) -> None:
    from tutorial_lib.applications.head_to_head import train_for

    trained = train_for(name, digits, seconds=0.5, seed=0, device="cpu")
    assert trained.diverged is None and trained.steps >= 1
    x = trained.sample(6, torch.Generator().manual_seed(0))
    assert x.shape == (6, *digits.image_shape) and 0 <= x.min() and x.max() <= 1
    assert (trained.vae is not None) == (name in ("vae", "vae-gan"))



def test_few_labels_draws_a_balanced_seeded_subset(digits: ImageDataset) -> None:
    from tutorial_lib.applications.augmentation import few_labels

    x, y = few_labels(digits, 3, seed=0)
    assert x.shape == (30, *digits.image_shape)
    assert torch.bincount(y, minlength=10).tolist() == [3] * 10
    assert torch.equal(few_labels(digits, 3, seed=0)[0], x)
    assert not torch.equal(few_labels(digits, 3, seed=1)[0], x)
    with pytest.raises(ValueError, match="too many"):
        few_labels(digits, 10_000, seed=0)



@pytest.mark.slow
def test_augmentation_experiment_reports_every_arm(digits: ImageDataset) -> None:
    from tutorial_lib.applications.augmentation import (
        ARMS,
        AugmentationSettings,
        augmentation_experiment,
    )

    settings = AugmentationSettings(per_class=3, generated_per_class=2, generator_epochs=2,
                                    classifier_steps=3, seeds=2)
    result = augmentation_experiment(digits, settings, device="cpu", progress=False)
    assert set(result["accuracy"]) == set(ARMS)
    assert all(len(v) == 2 and all(0 <= a <= 1 for a in v)
               for v in result["accuracy"].values())
    assert result["samples"].shape == (20, *digits.image_shape)
    assert result["mean"]["real"] == pytest.approx(sum(result["accuracy"]["real"]) / 2)
    # the spread over seeds is the sample standard deviation (divisor n - 1)
    a, b = result["accuracy"]["real"]
    assert result["std_ddof"] == 1
    assert result["std"]["real"] == pytest.approx(abs(a - b) / 2 ** 0.5)


def test_augmentation_spread_is_the_sample_sd_and_none_for_one_seed(monkeypatch,
                                                                    digits: ImageDataset) -> None:
    import tutorial_lib.applications.augmentation as aug

    # every stage stubbed: only the bookkeeping over seeds is under test
    monkeypatch.setattr(aug, "train_conditional_generator", lambda *a, **k: None)
    monkeypatch.setattr(aug, "generate", lambda model, per_class, seed, k: (
        digits.x_train[:k * per_class], digits.y_train[:k * per_class]))
    accuracies = iter([0.5, 0.6, 0.7, 0.8, 0.7, 0.6, 0.9, 1.0])  # seed 0's arms, then seed 1's
    monkeypatch.setattr(aug, "train_and_test", lambda *a, **k: next(accuracies))
    settings = aug.AugmentationSettings(per_class=2, generated_per_class=1, seeds=2)
    result = aug.augmentation_experiment(digits, settings, device="cpu", progress=False)
    assert result["accuracy"]["real"] == [0.5, 0.7]
    assert result["mean"]["real"] == pytest.approx(0.6)
    assert result["std"]["real"] == pytest.approx(0.1 * 2 ** 0.5)  # ddof = 1, not 0.1
    monkeypatch.setattr(aug, "train_and_test", lambda *a, **k: 0.5)
    one = aug.augmentation_experiment(digits, aug.AugmentationSettings(
        per_class=2, generated_per_class=1, seeds=1), device="cpu", progress=False)
    assert one["std"] == {arm: None for arm in aug.ARMS}



def test_the_stored_head_to_head_result_is_complete() -> None:
    from tutorial_lib.applications.head_to_head import ALL_MODELS, MODELS
    from tutorial_lib.results import load_result

    result = load_result("bench_compare")
    assert result["command"].startswith("python -m tutorial_lib bench compare")
    assert set(MODELS) <= set(result["models"]) <= set(ALL_MODELS)
    assert set(MODELS) <= set(result["reference"]) <= set(ALL_MODELS)
    for name in set(result["models"]) - set(MODELS):  # rows merged in later: their commands
        assert f"--models {name} " in result["models"][name]["command"]
    for name in set(result["reference"]) - set(MODELS):
        assert "--from-checkpoints" in result["reference"][name]["command"]
    for row in result["models"].values():
        for key in ("fid", "fid_real", "kid", "precision", "recall", "class_tv", "seconds"):
            assert isinstance(row[key], float)
        assert len(row["fid_per_seed"]) == result["seeds"]
    assert 0 <= result["anomaly_auc"] <= 1
    with pytest.raises(FileNotFoundError, match="stored: bench_compare"):
        load_result("no-such-result")


def test_latent_density_with_one_component_is_the_gaussian_fitted_to_the_codes() -> None:
    """One mixture component is the maximum-likelihood Gaussian of the training codes: its
    mean and (divisor n) covariance, plus scikit-learn's 1e-6 on the diagonal."""
    from tutorial_lib.applications.anomaly import latent_density_scores
    from tutorial_lib.vae.diagnostics import posterior_statistics

    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=DIGIT_SHAPE, latent_dim=3, hidden=(16,))).eval()
    gen = torch.Generator().manual_seed(1)
    x_fit, x = torch.rand(200, *DIGIT_SHAPE, generator=gen), torch.rand(9, *DIGIT_SHAPE,
                                                                          generator=gen)
    scores = latent_density_scores(model, x_fit, x, components=1)
    mu_fit, _ = posterior_statistics(model, binarize(x_fit, "fixed", seed=12345))
    mu, _ = posterior_statistics(model, binarize(x, "fixed", seed=12345))
    mu_fit, mu = mu_fit.double(), mu.double()
    mean = mu_fit.mean(0)
    cov = torch.cov(mu_fit.T, correction=0) + 1e-6 * torch.eye(3, dtype=torch.float64)
    expected = -torch.distributions.MultivariateNormal(mean, cov).log_prob(mu)
    assert scores.shape == (9,) and scores.dtype == torch.float64
    assert torch.allclose(scores, expected, atol=1e-6)


def test_latent_density_scores_a_code_far_from_the_training_codes_higher() -> None:
    from tutorial_lib.applications.anomaly import latent_density_scores

    class Shift(torch.nn.Module):  # a stand-in encoder: the code is the image's mean ink
        def forward(self, x, y=None):
            m = x.flatten(1).mean(1, keepdim=True).repeat(1, 2)
            return m, torch.zeros_like(m)

    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=DIGIT_SHAPE, latent_dim=2, hidden=(16,),
                          likelihood="gaussian")).eval()
    model.encoder = Shift()
    gen = torch.Generator().manual_seed(2)
    faint = 0.2 * torch.rand(100, *DIGIT_SHAPE, generator=gen)  # codes near 0.1
    probe = torch.stack([faint[0], torch.ones(*DIGIT_SHAPE)])  # one typical, one all ink
    scores = latent_density_scores(model, faint, probe, components=2)
    assert scores[1] > scores[0] + 10


def test_latent_density_needs_more_images_than_components() -> None:
    from tutorial_lib.applications.anomaly import latent_density_scores

    model = VAE(VAEConfig(image_shape=DIGIT_SHAPE, latent_dim=2, hidden=(8,)))
    with pytest.raises(ValueError, match="10 components needs more than 10 images"):
        latent_density_scores(model, torch.rand(10, *DIGIT_SHAPE), torch.rand(3, *DIGIT_SHAPE))
    with pytest.raises(ValueError, match="components"):
        latent_density_scores(model, torch.rand(30, *DIGIT_SHAPE), torch.rand(3, *DIGIT_SHAPE),
                              components=0)
