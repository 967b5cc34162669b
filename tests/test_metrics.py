"""Chapter 9's metrics against closed forms, unbiasedness and limiting cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import torch

from tutorial_lib.checkpoints import REFERENCE_DIR, CheckpointError, read_manifest
from tutorial_lib.cli import main
from tutorial_lib.metrics import (
    ClassifierConfig,
    ClassifierTrainConfig,
    DigitClassifier,
    accuracy,
    class_coverage,
    digit_scores,
    extract_features,
    fid_from_features,
    frechet_distance,
    kid,
    load_classifier,
    mmd2_unbiased,
    precision_recall,
    save_classifier,
    train_classifier,
)
from tutorial_lib.metrics.kid import polynomial_kernel


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


# --- Frechet distance -------------------------------------------------------------------

def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    a, b = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected,
                                                                               rel=1e-10)


def test_frechet_distance_in_one_dimension_is_the_difference_of_means_and_stds() -> None:
    # W2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-0.5]),
                            np.array([[0.25]])) == pytest.approx(1.5 ** 2 + 1.5 ** 2)


@pytest.mark.parametrize("d", [3, 20, 64])
def test_frechet_distance_agrees_with_a_direct_matrix_square_root(d: int) -> None:
    rng = np.random.default_rng(d)
    mu1, mu2, s1, s2 = rng.normal(size=d), rng.normal(size=d), _spd(rng, d), _spd(rng, d)
    direct = ((mu1 - mu2) ** 2).sum() + np.trace(
        s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-8)


def test_frechet_distance_is_zero_for_identical_statistics_and_symmetric() -> None:
    rng = np.random.default_rng(1)
    mu, s = rng.normal(size=10), _spd(rng, 10)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
    mu2, s2 = rng.normal(size=10), _spd(rng, 10)
    assert frechet_distance(mu, s, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu, s))


def test_frechet_distance_handles_singular_covariances() -> None:
    # rank-2 covariances in 5 dimensions (fewer samples than dimensions; dead features)
    rng = np.random.default_rng(2)
    u = rng.normal(size=(5, 2))
    s = u @ u.T
    assert frechet_distance(np.zeros(5), s, np.zeros(5), s) == pytest.approx(0.0, abs=1e-8)
    # scaling a covariance by c^2 moves the distance to (1 - c)^2 tr(S)
    assert frechet_distance(np.zeros(5), s, np.zeros(5), 4 * s) == pytest.approx(
        np.trace(s), rel=1e-6)


def test_frechet_distance_rejects_bad_statistics() -> None:
    with pytest.raises(ValueError, match="different dimensions"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="negative eigenvalue"):
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2),
                         np.eye(2))


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_a_shift() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2000, 8, generator=gen)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    b = torch.randn(2000, 8, generator=gen)
    same = fid_from_features(a, b)
    assert same < 0.1  # only sampling noise
    shifted = fid_from_features(a, b + torch.tensor([2.0] + [0.0] * 7))
    assert shifted == pytest.approx(4.0, abs=0.3)  # ||mu_1 - mu_2||^2 = 4


def test_fid_rejects_images_and_mismatched_features() -> None:
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        fid_from_features(torch.rand(10, 1, 8, 8), torch.rand(10, 64))
    with pytest.raises(ValueError, match="NaN"):
        fid_from_features(torch.full((4, 2), float("nan")), torch.rand(4, 2))
    with pytest.raises(ValueError, match="features_a has 3 columns but features_b has 4"):
        fid_from_features(torch.rand(10, 3), torch.rand(10, 4))


# --- KID ---------------------------------------------------------------------------------

def test_unbiased_mmd_matches_a_direct_double_sum() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.5
    k = lambda x, y: (x @ y / 3 + 1) ** 3  # noqa: E731
    aa = sum(k(a[i], a[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    bb = sum(k(b[i], b[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    ab = sum(k(a[i], b[j]) for i in range(7) for j in range(5)) / 35
    assert mmd2_unbiased(a, b) == pytest.approx(aa + bb - 2 * ab, rel=1e-10)
    assert polynomial_kernel(a, b).shape == (7, 5)


def test_kid_is_unbiased_for_two_samples_of_one_distribution() -> None:
    # the estimate's mean over repetitions is within 3 standard errors of zero
    rng = np.random.default_rng(1)
    values = [kid(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)), blocks=2).value
              for _ in range(300)]
    mean, se = np.mean(values), np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(mean) < 3 * se
    assert min(values) < 0 < max(values)  # an unbiased estimate of 0 takes both signs


def test_kid_detects_a_difference_with_an_honest_error_bar() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)) + 0.5
    result = kid(a, b, blocks=10)
    assert result.value > 5 * result.stderr > 0
    with pytest.raises(ValueError, match="fewer blocks"):
        kid(a[:5], b[:5], blocks=10)
    with pytest.raises(ValueError, match="same extractor"):
        kid(a, b[:, :3])


# --- precision and recall ----------------------------------------------------------------

def _clusters(n_per: int, centres: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([c + 0.05 * rng.normal(size=(n_per, centres.shape[1]))
                           for c in centres])


def test_precision_and_recall_are_one_for_identical_sets() -> None:
    x = np.random.default_rng(0).normal(size=(300, 5))
    pr = precision_recall(x, x, k=3)
    assert pr.precision == 1.0 and pr.recall == 1.0


def test_dropping_half_the_modes_lowers_recall_but_not_precision() -> None:
    centres = 10 * np.random.default_rng(0).normal(size=(10, 4))
    real = _clusters(100, centres, seed=1)
    full = precision_recall(real, _clusters(100, centres, seed=2))
    half = precision_recall(real, _clusters(200, centres[:5], seed=3))
    assert full.precision > 0.9 and full.recall > 0.9
    assert half.precision > 0.9
    assert half.recall == pytest.approx(0.5, abs=0.05)
    # and the mirror image: extra modes in the fake set lower precision
    extra = precision_recall(_clusters(200, centres[:5], seed=4), _clusters(100, centres, 5))
    assert extra.precision == pytest.approx(0.5, abs=0.05) and extra.recall > 0.9


def test_precision_recall_rejects_too_few_samples() -> None:
    with pytest.raises(ValueError, match="more than 3 samples"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# --- class coverage ----------------------------------------------------------------------

def test_class_coverage_measures_distance_from_uniform() -> None:
    even = class_coverage(torch.arange(100) % 10)
    assert even.tv == pytest.approx(0.0) and even.classes_present == 10
    one = class_coverage(torch.zeros(50, dtype=torch.long))
    assert one.tv == pytest.approx(0.9) and one.classes_present == 1
    two = class_coverage(np.array([0, 1] * 10))
    assert two.tv == pytest.approx(0.8) and two.fractions[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"0\.\.9"):
        class_coverage(torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="integer class labels"):
        class_coverage(torch.rand(5))


# --- the digit classifier ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8)])
def test_classifier_shapes(shape) -> None:
    model = DigitClassifier(ClassifierConfig(image_shape=shape, features=32, channels=4))
    x = torch.rand(5, *shape)
    assert model(x).shape == (5, 10)
    assert extract_features(model, x).shape == (5, 32)
    with pytest.raises(ValueError, match="takes images of shape"):
        model(torch.rand(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(torch.rand(2, *shape) * 255)


@pytest.mark.slow
def test_classifier_learns_and_round_trips_through_a_verified_checkpoint(tmp_path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images[:600] / 16, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target[:600])
    model = DigitClassifier(ClassifierConfig(image_shape=(1, 8, 8)))
    history = train_classifier(model, x[:500], y[:500],
                               ClassifierTrainConfig(epochs=20, shift=0), device="cpu",
                               progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert accuracy(model, x[500:], y[500:]) > 0.8
    save_classifier(model, tmp_path, "clf", command="test", data="digits", steps=20, seed=0)
    again = load_classifier("clf", tmp_path, device="cpu")
    assert torch.equal(again(x[:10]), model(x[:10]))
    path = tmp_path / "clf.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        load_classifier("clf", tmp_path)


def test_the_shipped_classifier_is_verified_and_accurate_on_held_out_digits() -> None:
    from tutorial_lib.data.images import load_images

    entry = read_manifest(REFERENCE_DIR)["lenet-mnist5k"]
    assert entry.command.startswith("python -m tutorial_lib train classifier ")
    model = load_classifier(device="cpu")
    data = load_images("mnist5k", "book")
    measured = accuracy(model, data.x_test, data.y_test)
    assert measured == pytest.approx(entry.metrics["test_accuracy"], abs=1e-3)
    assert measured > 0.95


def test_digit_scores_of_held_out_digits_are_the_reference_line() -> None:
    from tutorial_lib.data.images import load_images

    data = load_images("mnist5k", "book")
    model = load_classifier(device="cpu")
    real = digit_scores(data.x_test, data.x_train, model)
    assert real.classes_present == 10 and real.class_tv < 0.05
    assert real.precision > 0.8 and real.recall > 0.8
    assert abs(real.kid) < 3 * real.kid_stderr
    # a "generator" that draws only 0s and 1s: high precision, poor recall and coverage
    zeros_ones = data.x_test[data.y_test <= 1]
    narrow = digit_scores(zeros_ones, data.x_train, model)
    assert narrow.class_tv > 0.7  # 0.8 if every prediction were right
    assert narrow.recall < 0.5 < narrow.precision
    assert narrow.fid > 5 * real.fid and narrow.kid > 5 * narrow.kid_stderr


@pytest.mark.slow
def test_train_classifier_command_writes_a_verified_checkpoint(tmp_path, capsys) -> None:
    assert main(["train", "classifier", "--data", "digits", "--epochs", "1", "--name", "c",
                 "--out", str(tmp_path), "--device", "cpu"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    raw = json.loads((tmp_path / "manifest.json").read_text())["c"]
    assert raw["data"] == "digits" and 0 <= raw["metrics"]["test_accuracy"] <= 1
    assert load_classifier("c", tmp_path, device="cpu").config.image_shape == (1, 8, 8)


# --- memorization --------------------------------------------------------------------------

def test_nearest_neighbours_and_copy_fraction_catch_a_copier() -> None:
    from tutorial_lib.data.images import load_images
    from tutorial_lib.metrics import copy_fraction, nearest_neighbours

    data = load_images("digits", "book")
    train, test = data.x_train, data.x_test
    nn_ = nearest_neighbours(train[:50], train)
    assert torch.all(nn_.distance == 0) and torch.equal(nn_.index, torch.arange(50))
    brute = torch.cdist(test.flatten(1), train.flatten(1)).min(1)
    found = nearest_neighbours(test, train, batch_size=7)
    assert torch.allclose(found.distance, brute.values) and torch.equal(found.index,
                                                                        brute.indices)
    assert copy_fraction(train[:200], train, test) == 1.0
    # new real images are rarely closer than the held-out 1% quantile
    assert copy_fraction(test, train, test, quantile=0.05) == pytest.approx(0.05, abs=0.01)
    with pytest.raises(ValueError, match="same shape"):
        nearest_neighbours(torch.rand(3, 4), torch.rand(3, 5))


# --- the optional Inception extra ----------------------------------------------------------

def test_inception_scores_explain_the_missing_extra_or_pass_proper_inputs(monkeypatch) -> None:
    import sys
    import types

    from tutorial_lib.metrics.inception import inception_scores

    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # as if not installed
    with pytest.raises(ImportError, match=r"tutorial-lib\[inception\]"):
        inception_scores(torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8))
    seen = {}

    def calculate_metrics(input1, input2, **kw):
        seen.update(kw, fake=input1[0], real=input2[1], n=(len(input1), len(input2)))
        return {"frechet_inception_distance": 1.0}

    monkeypatch.setitem(sys.modules, "torch_fidelity",
                        types.SimpleNamespace(calculate_metrics=calculate_metrics))
    real, fake = torch.rand(6, 1, 8, 8), torch.rand(5, 1, 8, 8)
    out = inception_scores(real, fake, cuda=False)
    assert out == {"frechet_inception_distance": 1.0}
    assert seen["fake"].dtype == torch.uint8 and seen["fake"].shape == (3, 8, 8)
    assert torch.equal(seen["real"][0], (real[1, 0] * 255).round().to(torch.uint8))
    assert seen["n"] == (5, 6) and seen["fid"] and seen["kid_subset_size"] == 5
