"""GPU tests (``pytest -m gpu``): every model forward and backward on the accelerator, a
short training run of each family, and the losses equal on CPU and accelerator.

They run on CUDA when present, else on Apple MPS, else they are skipped. To check the
tests themselves on a machine without an accelerator, set ``TUTORIAL_TEST_ACCELERATOR=cpu``
(``pytest -m gpu`` then runs them on the CPU; conftest's CUDA skip is lifted for them).
"""

from __future__ import annotations

import os

import pytest
import torch

from tutorial_lib.gan import losses as L
from tutorial_lib.gan.models import GANConfig, make_discriminator, make_generator
from tutorial_lib.gan.train import GANTrainConfig, train_gan
from tutorial_lib.hybrids.aae import AAE, AAEConfig
from tutorial_lib.hybrids.train import HybridTrainConfig, train_hybrid
from tutorial_lib.hybrids.vaegan import VAEGAN, VAEGANConfig
from tutorial_lib.metrics.classifier import (
    ClassifierConfig,
    ClassifierTrainConfig,
    DigitClassifier,
    train_classifier,
)
from tutorial_lib.vae import VAE, VAEConfig, VAETrainConfig, elbo, train_vae
from tutorial_lib.vae.gaussian import kl_to_standard_normal, log_normal_diag

pytestmark = pytest.mark.gpu


def _accelerator() -> torch.device | None:
    chosen = os.environ.get("TUTORIAL_TEST_ACCELERATOR")
    if chosen:
        return torch.device(chosen)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return None


@pytest.fixture
def device() -> torch.device:
    found = _accelerator()
    if found is None:
        pytest.skip("needs a CUDA or MPS device")
    return found


VAES = [
    VAEConfig(image_shape=(1, 28, 28), arch="mlp", latent_dim=2),
    VAEConfig(image_shape=(1, 28, 28), arch="conv", latent_dim=8, hidden=(32,), channels=(8, 16)),
    VAEConfig(image_shape=(1, 8, 8), arch="conv", latent_dim=4, hidden=(32,), channels=(4, 8),
              likelihood="binomial16"),
    VAEConfig(image_shape=(1, 28, 28), arch="conv", latent_dim=4, hidden=(32,), channels=(4, 8),
              likelihood="gaussian-learned"),
    VAEConfig(image_shape=(1, 28, 28), arch="mlp", latent_dim=8, hidden=(64,), num_classes=10),
]
GANS = [
    GANConfig(data_shape=(2,), latent_dim=2, hidden=16),
    GANConfig(data_shape=(2,), latent_dim=4, hidden=16, spectral_norm=True),
    GANConfig(data_shape=(1, 28, 28), latent_dim=16, hidden=8),
    GANConfig(data_shape=(1, 8, 8), latent_dim=8, hidden=8, spectral_norm=True),
    GANConfig(data_shape=(1, 28, 28), latent_dim=8, hidden=8, num_classes=10),
]


def _grads_finite(module: torch.nn.Module) -> bool:
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    return any(g is not None for g in grads) and all(
        torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("config", VAES, ids=lambda c: f"{c.arch}-{c.likelihood}")
def test_vae_forward_backward(config: VAEConfig, device: torch.device) -> None:
    vae = VAE(config).to(device)
    x = torch.bernoulli(torch.full((4, *config.image_shape), 0.3, device=device))
    y = torch.arange(4, device=device) if config.num_classes else None
    elbo(vae, x, y).loss.backward()
    assert _grads_finite(vae)


@pytest.mark.parametrize("config", GANS, ids=lambda c: f"{c.data_shape}-c{c.num_classes}")
def test_gan_forward_backward(config: GANConfig, device: torch.device) -> None:
    g, d = make_generator(config).to(device), make_discriminator(config).to(device)
    y = (torch.arange(4) % config.num_classes).to(device) if config.num_classes else None
    fake = g(g.sample_latent(4), y)
    assert fake.device.type == device.type
    L.generator_loss_nonsaturating(d(fake, y)).backward()
    assert _grads_finite(g)


def test_hybrids_and_classifier_forward_backward(device: torch.device) -> None:
    x = torch.rand(6, 1, 28, 28, device=device)
    for model in (VAEGAN(VAEGANConfig(hidden=32, channels=(8, 16), disc_channels=8)),
                  AAE(AAEConfig(hidden=32, channels=(8, 16), disc_hidden=16))):
        model = model.to(device)
        opts = model.make_optimizers(HybridTrainConfig())
        stats = model.train_step(x, torch.bernoulli(x), opts)
        assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    clf = DigitClassifier(ClassifierConfig(channels=4, features=16)).to(device)
    torch.nn.functional.cross_entropy(clf(x), torch.arange(6, device=device) % 10).backward()
    assert _grads_finite(clf)


@pytest.mark.slow
def test_short_training_runs_of_each_family(device: torch.device) -> None:
    x = torch.bernoulli(torch.full((64, 1, 8, 8), 0.3))
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    history = train_vae(vae, x, config=VAETrainConfig(epochs=2, batch_size=32),
                        device=device, progress=False)
    assert len(history["train_loss"]) == 2 and next(vae.parameters()).device.type == device.type

    config = GANConfig(data_shape=(2,), latent_dim=2, hidden=16)
    g, d = make_generator(config), make_discriminator(config)
    run = train_gan(g, d, lambda n: torch.randn(n, 2), GANTrainConfig(steps=5, batch_size=32),
                    device=device, progress=False)
    assert run is not None and next(g.parameters()).device.type == device.type

    aae = AAE(AAEConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=16, channels=(4, 8),
                        disc_hidden=8))
    hist = train_hybrid(aae, torch.rand(64, 1, 8, 8), HybridTrainConfig(steps=3, batch_size=16),
                        device=device, progress=False)
    assert hist and next(aae.parameters()).device.type == device.type

    clf = DigitClassifier(ClassifierConfig(image_shape=(1, 8, 8), channels=4, features=8))
    train_classifier(clf, torch.rand(64, 1, 8, 8), torch.arange(64) % 10,
                     ClassifierTrainConfig(epochs=1, batch_size=32), device=device,
                     progress=False)
    assert next(clf.parameters()).device.type == device.type


def test_losses_equal_on_cpu_and_accelerator(device: torch.device) -> None:
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(32, 1, generator=gen), torch.randn(32, 1, generator=gen)
    for loss in (L.discriminator_loss, L.discriminator_loss_hinge, L.critic_loss_wasserstein):
        torch.testing.assert_close(loss(real.to(device), fake.to(device)).cpu(),
                                   loss(real, fake))
    for loss in (L.generator_loss_nonsaturating, L.generator_loss_saturating,
                 L.generator_loss_hinge, L.generator_loss_wasserstein):
        torch.testing.assert_close(loss(fake.to(device)).cpu(), loss(fake))
    mu, log_var = torch.randn(8, 5, generator=gen), torch.randn(8, 5, generator=gen)
    torch.testing.assert_close(kl_to_standard_normal(mu.to(device), log_var.to(device)).cpu(),
                               kl_to_standard_normal(mu, log_var))
    z = torch.randn(8, 5, generator=gen)
    torch.testing.assert_close(log_normal_diag(z.to(device), mu.to(device),
                                               log_var.to(device)).cpu(),
                               log_normal_diag(z, mu, log_var))
    critic = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x_real = torch.randn(16, 4, generator=gen)
    torch.testing.assert_close(L.r1_penalty(critic.to(device), x_real.to(device)).cpu(),
                               L.r1_penalty(critic.cpu(), x_real), rtol=1e-4, atol=1e-5)
    vae = VAE(VAEConfig(image_shape=(1, 8, 8), latent_dim=3, hidden=(16,)))
    x = torch.bernoulli(torch.full((4, 1, 8, 8), 0.4))
    torch.manual_seed(0)
    cpu_terms = elbo(vae, x)
    gpu = VAE(vae.config).to(device)
    gpu.load_state_dict(vae.state_dict())
    mu_c, lv_c = vae.encode(x)
    mu_g, lv_g = gpu.encode(x.to(device))
    torch.testing.assert_close(mu_g.cpu(), mu_c, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(lv_g.cpu(), lv_c, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(kl_to_standard_normal(mu_g, lv_g).cpu(), cpu_terms.kl, rtol=1e-4,
                               atol=1e-4)
