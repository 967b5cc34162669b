"""Training keeps only finite states: a NaN gradient behind a finite loss (an overflow in the
backward pass) is caught after the update, the networks go back to the last good state,
exactly, and sizes below one are refused before any training. The GAN's case is in
test_gan.py; here the VAE, the VAE-GAN, the AAE and the digit classifier."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tutorial_lib.data import ImageDataset
from tutorial_lib.gan import (
    GANConfig,
    GANTrainConfig,
    make_discriminator,
    make_generator,
    train_gan,
)
from tutorial_lib.hybrids import (
    AAE,
    VAEGAN,
    AAEConfig,
    HybridTrainConfig,
    VAEGANConfig,
    train_hybrid,
)
from tutorial_lib.metrics import (
    ClassifierConfig,
    ClassifierTrainConfig,
    DigitClassifier,
    train_classifier,
)
from tutorial_lib.training import TrainingDiverged
from tutorial_lib.vae import VAE, VAEConfig, VAETrainConfig, train_vae

SHAPE = (1, 8, 8)


def _poison_gradient(parameter: nn.Parameter, at_call: int) -> None:
    """Make the gradient of ``parameter`` NaN at its ``at_call``-th computation (the loss of
    that step stays finite: only the update is poisoned)."""
    calls = {"n": 0}

    def hook(grad: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == at_call else grad

    parameter.register_hook(hook)


def _states_equal(a: nn.Module, b: nn.Module) -> bool:
    sb = b.state_dict()
    return all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())


def _all_finite(module: nn.Module) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in module.state_dict().values()
               if v.is_floating_point())


@pytest.mark.slow
def test_vae_a_nan_gradient_with_a_finite_loss_restores_the_last_good_epoch(
        digits: ImageDataset) -> None:
    x = digits.x_train[:64]
    config = VAETrainConfig(epochs=3, batch_size=32, patience=None)
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=SHAPE, latent_dim=2, hidden=(16,)))
    healthy = copy.deepcopy(model)
    rng = torch.get_rng_state()
    _poison_gradient(model.encoder.head.weight, at_call=3)  # epoch 2, first batch
    with pytest.raises(TrainingDiverged, match="at epoch 2 .*a parameter became NaN or "
                       "infinite.*after epoch 1") as info:
        train_vae(model, x, config=config, device="cpu", progress=False)
    assert info.value.restored_to == 1 and len(info.value.history["epoch"]) == 1
    assert all(v == v for v in info.value.history["train_loss"])  # the losses were finite
    assert _all_finite(model)
    torch.set_rng_state(rng)
    train_vae(healthy, x, config=VAETrainConfig(epochs=1, batch_size=32, patience=None),
              device="cpu", progress=False)
    assert _states_equal(model, healthy)  # exactly the state after epoch 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["vaegan", "aae"])
def test_hybrids_a_nan_gradient_with_a_finite_loss_restores_the_last_good_step(
        kind: str, digits: ImageDataset) -> None:
    torch.manual_seed(0)
    if kind == "vaegan":
        model: nn.Module = VAEGAN(VAEGANConfig(image_shape=SHAPE, latent_dim=2,
                                               disc_channels=4))
        poisoned = next(model.vae.decoder.parameters())
    else:
        model = AAE(AAEConfig(image_shape=SHAPE, latent_dim=2, hidden=16, disc_hidden=8))
        poisoned = next(model.autoencoder.decoder.parameters())
    healthy = copy.deepcopy(model)
    _poison_gradient(poisoned, at_call=3)  # the decoder's gradient, once per step: step 3
    config = HybridTrainConfig(steps=6, batch_size=8)
    with pytest.raises(TrainingDiverged, match="at step 3 .*a parameter became NaN or "
                       "infinite.*after step 2") as info:
        train_hybrid(model, digits.x_train[:64], config, device="cpu", progress=False)
    assert info.value.restored_to == 2 and info.value.history["step"] == [1.0, 2.0]
    assert _all_finite(model)
    train_hybrid(healthy, digits.x_train[:64], HybridTrainConfig(steps=2, batch_size=8),
                 device="cpu", progress=False)
    model.eval()
    assert _states_equal(model, healthy)  # exactly the state after step 2


@pytest.mark.slow
def test_classifier_a_nan_gradient_restores_finite_weights(digits: ImageDataset) -> None:
    torch.manual_seed(0)
    model = DigitClassifier(ClassifierConfig(image_shape=SHAPE, channels=4, features=8))
    before = copy.deepcopy(model)
    _poison_gradient(model.head[-1].weight, at_call=2)  # epoch 1, second batch
    with pytest.raises(TrainingDiverged, match="a parameter became NaN.*initial state"):
        train_classifier(model, digits.x_train[:64], digits.y_train[:64],
                         ClassifierTrainConfig(epochs=2, batch_size=32), device="cpu",
                         progress=False)
    assert _all_finite(model) and _states_equal(model, before)


@pytest.mark.parametrize("size", [0, -1])
def test_sizes_below_one_are_refused_before_any_training(size: int,
                                                         digits: ImageDataset) -> None:
    x, y = digits.x_train[:32], digits.y_train[:32]
    torch.manual_seed(0)
    vae = VAE(VAEConfig(image_shape=SHAPE, latent_dim=2, hidden=(8,)))
    aae = AAE(AAEConfig(image_shape=SHAPE, latent_dim=2, hidden=16, disc_hidden=8))
    classifier = DigitClassifier(ClassifierConfig(image_shape=SHAPE, channels=4, features=8))
    g = make_generator(GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1))
    d = make_discriminator(GANConfig(data_shape=(2,), hidden=8, layers=1))
    untouched = [copy.deepcopy(m) for m in (vae, aae, classifier, g, d)]
    runs = {
        "epochs": [lambda: train_vae(vae, x, config=VAETrainConfig(epochs=size),
                                     device="cpu", progress=False),
                   lambda: train_classifier(classifier, x, y,
                                            ClassifierTrainConfig(epochs=size),
                                            device="cpu", progress=False)],
        "batch_size": [lambda: train_vae(vae, x, config=VAETrainConfig(batch_size=size),
                                         device="cpu", progress=False),
                       lambda: train_hybrid(aae, x, HybridTrainConfig(batch_size=size),
                                            device="cpu", progress=False),
                       lambda: train_classifier(classifier, x, y,
                                                ClassifierTrainConfig(batch_size=size),
                                                device="cpu", progress=False),
                       lambda: train_gan(g, d, lambda n: torch.zeros(n, 2),
                                         GANTrainConfig(batch_size=size), device="cpu",
                                         progress=False)],
        "steps": [lambda: train_hybrid(aae, x, HybridTrainConfig(steps=size), device="cpu",
                                       progress=False),
                  lambda: train_gan(g, d, lambda n: torch.zeros(n, 2),
                                    GANTrainConfig(steps=size), device="cpu",
                                    progress=False)],
    }
    for name, calls in runs.items():
        for call in calls:
            with pytest.raises(ValueError, match=f"{name}: expected a positive integer, got "
                               f"{size}"):
                call()
    for module, before in zip((vae, aae, classifier, g, d), untouched, strict=True):
        assert _states_equal(module, before)
