"""Bad inputs are refused with errors that name the argument: one test per finding of the
bad-input audit (silent wrong answers and unclear crashes), each failing before the fix."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
import torch

from tutorial_lib import get_device
from tutorial_lib.applications.anomaly import anomaly_scores, roc_auc
from tutorial_lib.cli import main
from tutorial_lib.data import binarize, load_images, make_loader
from tutorial_lib.data.toy import ring8
from tutorial_lib.gan import GANConfig, make_discriminator, make_generator, mode_coverage
from tutorial_lib.gan import losses as L
from tutorial_lib.metrics import (
    ClassifierConfig,
    DigitClassifier,
    accuracy,
    copy_fraction,
    extract_features,
    nearest_neighbours,
    predict,
)
from tutorial_lib.plotting import image_grid
from tutorial_lib.vae import VAE, VAEConfig, elbo, estimate_log_likelihood, evaluate_elbo
from tutorial_lib.validation import (
    check_binary_labels,
    check_images,
    check_labels,
    check_number,
    check_positive_int,
    check_tensor,
)

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def classifier() -> DigitClassifier:
    torch.manual_seed(0)
    return DigitClassifier(ClassifierConfig(image_shape=SHAPE, channels=4, features=8)).eval()


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(image_shape=SHAPE, latent_dim=2, hidden=(8,))).eval()


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------- the checks themselves
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_images_with_nan_or_infinity_are_refused(bad: float) -> None:
    x = _images(3)
    x[1, 0, 2, 2] = bad
    with pytest.raises(ValueError, match="images: expected values in \\[0, 1\\]"):
        check_images(x)
    with pytest.raises(ValueError, match="NaN" if math.isnan(bad) else "range"):
        check_images(x)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_tensors_with_nan_or_infinity_are_refused_when_finite_is_asked(bad: float) -> None:
    x = torch.zeros(4, 2)
    x[2, 1] = bad
    assert check_tensor(x, "x") is x  # the training-time default lets them through
    with pytest.raises(ValueError, match="x: expected finite values, got "
                       + ("NaN" if math.isnan(bad) else "infinite")):
        check_tensor(x, "x", finite=True)


def test_scaled_pixels_get_the_hint_to_divide_by_255() -> None:
    with pytest.raises(ValueError, match="range \\[0, 255\\]; divide uint8-scaled pixels by 255"):
        check_images(255 * torch.ones(2, *SHAPE).index_fill_(0, torch.tensor([0]), 0.0))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_the_dtype_policy_refuses_other_floats_at_a_network_and_says_how_to_convert(
        dtype: torch.dtype, vae: VAE, classifier: DigitClassifier) -> None:
    x = _images(4).to(dtype)
    assert check_images(x) is x  # computing on pixels alone: any float dtype
    assert torch.equal(binarize(x, "threshold"), (x > 0.5).to(dtype))
    for call in (lambda: vae.encode(x), lambda: elbo(vae, x), lambda: predict(classifier, x),
                 lambda: anomaly_scores(vae, x)):
        with pytest.raises(TypeError, match="x: expected float32 values, the dtype of the "
                           "network's parameters.*convert with x.float\\(\\)"):
            call()
    g = make_generator(GANConfig(data_shape=(2,), latent_dim=2))
    d = make_discriminator(GANConfig(data_shape=(2,)))
    with pytest.raises(TypeError, match="z: expected float32.*z.float\\(\\)"):
        g(torch.zeros(3, 2, dtype=dtype))
    with pytest.raises(TypeError, match="x: expected float32.*x.float\\(\\)"):
        d(torch.zeros(3, 2, dtype=dtype))


def test_a_float64_network_takes_float64_images_and_names_the_conversion_otherwise() -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=SHAPE, latent_dim=2, hidden=(8,))).double()
    x = torch.bernoulli(_images(3))
    assert elbo(model, x.double()).elbo.dtype == torch.float64
    with pytest.raises(TypeError, match="expected float64 .*x.to\\(torch.float64\\)"):
        elbo(model, x)


def test_labels_are_one_per_example_of_an_integer_dtype() -> None:
    y = torch.arange(5)
    assert check_labels(y, "y", 5, num_classes=5) is y
    with pytest.raises(ValueError, match="y: expected one label per example, shape \\(5,\\), "
                       "got int64 tensor of shape \\(5, 1\\); flatten it with y.reshape"):
        check_labels(y[:, None], "y", 5)
    with pytest.raises(TypeError, match="y: expected integer labels.*y.long\\(\\)"):
        check_labels(y.float(), "y", 5)
    with pytest.raises(ValueError, match="y: expected labels in 0..3, got range \\[0, 4\\]"):
        check_labels(y, "y", 5, num_classes=4)
    with pytest.raises(TypeError, match="y: expected integer labels as a torch.Tensor"):
        check_labels([0, 1], "y", 2)


def test_indicators_are_bools_or_zeros_and_ones_never_class_labels() -> None:
    assert check_binary_labels(torch.tensor([0, 1, 1]), "t", 3).dtype == torch.bool
    with pytest.raises(ValueError, match="t: expected 0/1 indicators .*got values \\[0, 1, 2\\]"):
        check_binary_labels(torch.tensor([0, 1, 2]), "t", 3)
    with pytest.raises(TypeError, match="t: expected a bool"):
        check_binary_labels(torch.tensor([0.0, 1.0]), "t", 2)


@pytest.mark.parametrize("bad,error", [(0, ValueError), (-1, ValueError), (2.0, TypeError),
                                       (True, TypeError), ("3", TypeError)])
def test_counts_are_positive_integers(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="n: expected a"):
        check_positive_int(bad, "n")
    assert check_positive_int(np.int64(3), "n") == 3


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.5, 1.5, "0.5", None])
def test_numbers_are_finite_and_in_their_interval(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="q: expected a"):
        check_number(bad, "q", low=0, high=1)
    assert check_number(1, "q", low=0, high=1) == 1.0


# ----------------------------------------------------------------- silent wrong answers
def test_accuracy_refuses_a_label_column_instead_of_broadcasting(
        classifier: DigitClassifier) -> None:
    x = _images(20)
    y = predict(classifier, x)
    assert accuracy(classifier, x, y) == 1.0
    with pytest.raises(ValueError, match="y: expected one label per example, shape \\(20,\\)"):
        accuracy(classifier, x, y[:, None])


def test_roc_auc_refuses_digit_labels_as_anomaly_indicators() -> None:
    scores = torch.linspace(0, 1, 10)
    digits = torch.arange(10)
    with pytest.raises(ValueError, match="is_anomaly: expected 0/1 indicators"):
        roc_auc(scores, digits)
    assert roc_auc(scores, digits == 9) == 1.0
    assert roc_auc(scores, (digits >= 5).long()) == 1.0  # 0/1 integers are indicators


def test_copy_fraction_refuses_unscaled_and_nan_samples() -> None:
    train, held_out = _images(30, 1), _images(30, 2)
    assert copy_fraction(train[:10], train, held_out) == 1.0  # copies are caught
    with pytest.raises(ValueError, match="samples: expected values in \\[0, 1\\].*255"):
        copy_fraction(255 * train[:10], train, held_out)
    samples = train[:10].clone()
    samples[3] = math.nan
    with pytest.raises(ValueError, match="samples: expected values in \\[0, 1\\], got NaN"):
        copy_fraction(samples, train, held_out)
    with pytest.raises(ValueError, match="quantile"):
        copy_fraction(train[:10], train, held_out, quantile=math.nan)


def test_mode_coverage_refuses_a_nan_sample() -> None:
    target = ring8()
    samples = target.means_tensor().repeat(10, 1)
    assert mode_coverage(samples, target).high_quality == 100.0
    samples[0, 0] = math.nan
    with pytest.raises(ValueError, match="samples: expected finite values, got NaN"):
        mode_coverage(samples, target)


def test_binarize_refuses_nan_instead_of_turning_it_into_zero() -> None:
    x = _images(2)
    x[0, 0, 0, 0] = math.nan
    for mode in ("threshold", "fixed", "dynamic"):
        with pytest.raises(ValueError, match="x: expected values in \\[0, 1\\], got NaN"):
            binarize(x, mode)


@pytest.mark.parametrize("cap", ["max_train", "max_test"])
@pytest.mark.parametrize("bad,error", [(0, ValueError), (-1, ValueError), (1.5, TypeError)])
def test_load_images_refuses_caps_below_one(cap: str, bad: object,
                                             error: type[Exception]) -> None:
    with pytest.raises(error, match=f"{cap}: expected a"):
        load_images("digits", "smoke", **{cap: bad})
    assert len(getattr(load_images("digits", "smoke", **{cap: 1}), f"x_{cap[4:]}")) == 1


# ----------------------------------------------------------------- empty inputs
def test_empty_batches_are_refused_with_a_clear_message(
        vae: VAE, classifier: DigitClassifier) -> None:
    empty = torch.zeros(0, *SHAPE)
    calls = {
        "elbo": lambda: elbo(vae, empty),
        "evaluate_elbo": lambda: evaluate_elbo(vae, empty),
        "estimate_log_likelihood": lambda: estimate_log_likelihood(vae, empty, k=2,
                                                                   progress=False),
        "predict": lambda: predict(classifier, empty),
        "extract_features": lambda: extract_features(classifier, empty),
        "accuracy": lambda: accuracy(classifier, empty, torch.zeros(0, dtype=torch.long)),
        "anomaly_scores": lambda: anomaly_scores(vae, empty),
        "image_grid": lambda: image_grid(empty),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match="x: expected at least one image, got an empty "
                           "batch"):
            call()
            pytest.fail(name)
    with pytest.raises(ValueError, match="x: expected at least one example"):
        nearest_neighbours(torch.zeros(0, 4), torch.ones(3, 4))
    with pytest.raises(ValueError, match="reference: expected at least one example"):
        nearest_neighbours(torch.ones(3, 4), torch.zeros(0, 4))
    with pytest.raises(ValueError, match="fake_logits: expected at least one example"):
        L.generator_loss_nonsaturating(torch.zeros(0))


# ----------------------------------------------------------------- devices and the CLI
def test_get_device_takes_a_torch_device() -> None:
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    with pytest.raises(TypeError, match="device: expected a name"):
        get_device(0)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
def test_an_explicit_cuda_device_without_cuda_says_what_to_do() -> None:
    for name in ("cuda", "cuda:1", torch.device("cuda")):
        with pytest.raises(RuntimeError, match="CUDA is not available.*pass device='cpu'"):
            get_device(name)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        make_loader(_images(4), device="cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
@pytest.mark.parametrize("target", ["mle", "vae", "gan", "compare"])
def test_bench_with_an_unavailable_device_ends_with_a_message_and_code_2(
        target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", target, "--budget", "smoke", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "CUDA is not available" in err
    assert "Traceback" not in err


def test_every_error_of_a_command_is_a_message_and_code_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tutorial_lib import cli

    errors = (KeyError("missing"), AssertionError("an assert"), ZeroDivisionError("zero"),
              ValueError("bad value"), KeyboardInterrupt())
    for error in errors:
        def fail(args: argparse.Namespace, error: BaseException = error) -> int:
            raise error

        def parser(fail=fail) -> argparse.ArgumentParser:
            p = argparse.ArgumentParser()
            p.set_defaults(run=fail)
            return p

        monkeypatch.setattr(cli, "build_parser", parser)
        code = cli.main([])
        err = capsys.readouterr().err
        if isinstance(error, KeyboardInterrupt):
            assert code == 130 and err == "interrupted\n"
        else:
            assert code == 2 and err.startswith("error: ") and str(error.args[0]) in err
