"""Part IV: the hybrids (VAE-GAN, AAE), the anomaly detector, the head-to-head bench."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from tutorial_lib.data.images import ImageDataset
from tutorial_lib.hybrids import (
    AAE,
    VAEGAN,
    AAEConfig,
    HybridTrainConfig,
    VAEGANConfig,
    train_hybrid,
)
from tutorial_lib.training import TrainingDiverged

SHAPE = (1, 8, 8)


def _batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))
    return x, torch.bernoulli(x, generator=torch.Generator().manual_seed(seed + 1))


# --- VAE-GAN ----------------------------------------------------------------------------


def test_vaegan_feature_distance_is_half_the_squared_feature_error() -> None:
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(image_shape=SHAPE, latent_dim=4, disc_channels=8))
    x, _ = _batch()
    y = torch.rand_like(x)
    f = model.disc.features(2 * x - 1)
    g = model.disc.features(2 * y - 1)
    assert torch.allclose(model.feature_distance(x, y), 0.5 * ((f - g) ** 2).sum(1))
    assert torch.allclose(model.feature_distance(x, x), torch.zeros(len(x)))


def _one_vaegan_step(adversarial_weight: float) -> VAEGAN:
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(image_shape=SHAPE, latent_dim=4, disc_channels=8,
                                adversarial_weight=adversarial_weight))
    opts = model.make_optimizers(HybridTrainConfig())
    x, xb = _batch()
    torch.manual_seed(1)
    model.train_step(x, xb, opts)
    return model


def test_vaegan_encoder_never_sees_the_adversarial_loss() -> None:
    """Larsen et al.'s Algorithm 1: the encoder descends L_prior + L_llike only, so its
    update does not depend on the weight of L_GAN; the decoder's does."""
    a, b = _one_vaegan_step(0.0), _one_vaegan_step(100.0)
    for pa, pb in zip(a.vae.encoder.parameters(), b.vae.encoder.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pb) for pa, pb in
               zip(a.vae.decoder.parameters(), b.vae.decoder.parameters(), strict=True))
    # and the discriminator step comes first, so it is the same in both runs
    for pa, pb in zip(a.disc.parameters(), b.disc.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_vaegan_step_updates_every_network_and_reports_its_terms() -> None:
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(image_shape=SHAPE, latent_dim=4, disc_channels=8))
    before = copy.deepcopy(model.state_dict())
    x, xb = _batch()
    losses = model.train_step(x, xb, model.make_optimizers(HybridTrainConfig()))
    assert set(losses) == {"loss_d", "kl", "pixel", "feature", "adversarial"}
    assert all(math.isfinite(v) for v in losses.values()) and losses["kl"] >= 0
    for part in ("vae.encoder", "vae.decoder", "disc"):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items()
                   if k.startswith(part) and v.is_floating_point())
    assert all(p.grad is None for p in model.disc.parameters())


# --- adversarial autoencoder -------------------------------------------------------------


def test_aae_regularization_phase_moves_the_encoder_only() -> None:
    torch.manual_seed(0)
    model = AAE(AAEConfig(image_shape=SHAPE, latent_dim=2, disc_hidden=16))
    opts = model.make_optimizers(HybridTrainConfig())
    x, xb = _batch()
    decoder_before = copy.deepcopy(model.autoencoder.decoder.state_dict())
    opts["autoencoder"] = torch.optim.SGD(model.autoencoder.parameters(), lr=0.0)  # no phase 1
    losses = model.train_step(x, xb, opts)
    assert set(losses) == {"reconstruction", "loss_d", "loss_g"}
    for k, v in model.autoencoder.decoder.state_dict().items():
        assert torch.equal(v, decoder_before[k])
    assert model.encode(x).shape == (16, 2)


@pytest.mark.slow
def test_aae_pulls_its_codes_towards_the_prior(digits: ImageDataset) -> None:
    """Trained briefly, the aggregate posterior of the AAE is much closer to N(0, I) (in
    mean and spread) than the codes of the same autoencoder trained without the
    regularization phase."""
    def codes(regularize: bool) -> torch.Tensor:
        torch.manual_seed(0)
        model = AAE(AAEConfig(image_shape=SHAPE, latent_dim=2, hidden=64, channels=(8, 16),
                              disc_hidden=32))
        if not regularize:
            model.make_optimizers = lambda config: {  # type: ignore[method-assign]
                "autoencoder": torch.optim.Adam(model.autoencoder.parameters(), lr=config.lr,
                                                betas=config.betas),
                "disc": torch.optim.SGD(model.disc.parameters(), lr=0.0),
                "encoder": torch.optim.SGD(model.autoencoder.encoder.parameters(), lr=0.0)}
        train_hybrid(model, digits.x_train, HybridTrainConfig(steps=1000, lr=1e-3),
                     device="cpu", progress=False)
        with torch.no_grad():
            return model.encode(digits.x_train)

    def distance_from_prior(z: torch.Tensor) -> float:
        return float(z.mean(0).norm() + (z.std(0) - 1).abs().sum())

    # Measured over seeds 0 to 4 and two CPUs: the regularized codes lie 0.30 to 1.09 from
    # N(0, I) after 1,000 steps, the free ones 10 to 13, so the ratio is at most about 0.11.
    # An absolute bound on the regularized distance held or failed with the CPU's rounding
    # (0.609 and 0.6155 against 0.6); the ratio has a margin of more than 2 over that spread.
    matched, free = distance_from_prior(codes(True)), distance_from_prior(codes(False))
    assert matched < 0.25 * free, (matched, free)


def test_sampled_images_have_the_data_shape_and_range() -> None:
    for model in (VAEGAN(VAEGANConfig(image_shape=SHAPE, latent_dim=3, disc_channels=8)),
                  AAE(AAEConfig(image_shape=SHAPE, latent_dim=3, disc_hidden=8))):
        model.eval()
        x = model.sample_images(5, torch.Generator().manual_seed(0))
        assert x.shape == (5, *SHAPE) and x.min() >= 0 and x.max() <= 1
        assert model.reconstruct(_batch(4)[0]).shape == (4, *SHAPE)


# --- the training loop ------------------------------------------------------------------


class _Toy(nn.Module):
    """A one-parameter model whose loss turns NaN at a chosen step."""

    def __init__(self, bad_step: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.bad_step, self.calls = bad_step, 0

    def make_optimizers(self, config):
        return {"w": torch.optim.SGD([self.w], lr=1.0)}

    def train_step(self, x, x_binary, optimizers):
        self.calls += 1
        with torch.no_grad():
            self.w += 1.0
        return {"loss": float("nan") if self.calls == self.bad_step else float(self.w.detach())}


@pytest.mark.slow
def test_train_hybrid_stops_on_nan_and_restores_the_last_good_step() -> None:
    model = _Toy(bad_step=4)
    with pytest.raises(TrainingDiverged, match="restored to their state after step 3") as info:
        train_hybrid(model, torch.rand(10, *SHAPE), HybridTrainConfig(steps=10),
                     device="cpu", progress=False)
    assert float(model.w.detach()) == 3.0
    assert info.value.history["loss"] == [1.0, 2.0, 3.0]


@pytest.mark.slow
def test_train_hybrid_respects_steps_and_the_time_budget() -> None:
    history = train_hybrid(_Toy(0), torch.rand(10, *SHAPE), HybridTrainConfig(steps=7),
                           device="cpu", progress=False)
    assert history["step"] == [float(s) for s in range(1, 8)]
    assert history["loss"] == [float(s) for s in range(1, 8)]
    timed = train_hybrid(_Toy(0), torch.rand(10, *SHAPE),
                         HybridTrainConfig(steps=10**9, max_seconds=0.2), device="cpu",
                         progress=False)
    assert 1 <= len(timed["step"]) < 10**9 and timed["seconds"][-1] >= 0.2
    for wrong in ({"steps": 0}, {"batch_size": 0}):
        with pytest.raises(ValueError, match=next(iter(wrong))):
            train_hybrid(_Toy(0), torch.rand(10, *SHAPE), HybridTrainConfig(**wrong),
                         device="cpu", progress=False)


# --- anomaly detection ------------------------------------------------------------------


# --- the head-to-head -------------------------------------------------------------------


# --- data augmentation with generated digits --------------------------------------------


# --- the ELBO surgery of chapter 11 -----------------------------------------------------


def test_elbo_surgery_with_identical_posteriors_has_no_information() -> None:
    from tutorial_lib.vae import elbo_surgery, kl_to_standard_normal

    mu = torch.tensor([[0.5, -1.0, 0.2]]).repeat(50, 1).double()
    log_var = torch.tensor([[-0.3, 0.4, -1.0]]).repeat(50, 1).double()
    split = elbo_surgery(mu, log_var, n_samples=4000)
    exact = float(kl_to_standard_normal(mu[:1], log_var[:1]))
    assert split.average_kl == pytest.approx(exact)
    # q(z) is that one Gaussian: log q(z) is exact, only the Monte Carlo average varies
    assert split.marginal_kl == pytest.approx(exact, abs=4 * split.stderr)
    assert abs(split.mutual_information) < 4 * split.stderr


def test_elbo_surgery_with_separated_posteriors_has_log_n_information() -> None:
    from tutorial_lib.vae import elbo_surgery

    n = 20
    mu = 10.0 * torch.randn(n, 4, generator=torch.Generator().manual_seed(0)).double()
    log_var = torch.full((n, 4), math.log(1e-4)).double()
    split = elbo_surgery(mu, log_var, n_samples=2000)
    # each z identifies its image, so I_q(x; z) = H(x) = log N
    assert split.mutual_information == pytest.approx(math.log(n), abs=0.02)
    assert split.average_kl == pytest.approx(split.mutual_information + split.marginal_kl)


