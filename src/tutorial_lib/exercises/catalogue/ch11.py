"""Chapter 11's exercises: VAE-GAN's reconstruction error in feature space, and the
adversarial autoencoder's two adversarial phases."""

from __future__ import annotations

import torch
from torch import nn

from tutorial_lib.exercises.catalogue.common import (
    SHAPES,
    bce,
    linear_net,
    no_gradient_reaches,
    randn,
    seeded,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, mean_for_sum
from tutorial_lib.gan.losses import discriminator_loss, generator_loss_nonsaturating
from tutorial_lib.hybrids.vaegan import feature_distance


def _cases_features() -> list[Case]:
    gen = seeded(13)
    return [Case((randn(gen, b, f), randn(gen, b, f)), f"features of shape ({b}, {f})", b)
            for b, f in SHAPES]


FORMULA = Formula(
    quantities=lambda features_real, features_rec: {"diff": features_real - features_rec},
    terms=(Term("1/2 (f(x) - f(x_rec))^2", lambda q: q["diff"] ** 2, 0.5,
                unsquared=lambda q: q["diff"]),),
    reduce=lambda t: t.sum(1),
    wrong_reductions=(mean_for_sum("features", "-log N(f; f', I) sums the squared "
                                   "differences of independent coordinates", axis=1),),
    reduced_over="the F features",
)


FEATURES = Exercise(
    id="ch11.feature_distance",
    title="VAE-GAN's reconstruction error in feature space",
    signature="feature_distance(features_real, features_rec) -> (B,)",
    reference=feature_distance,
    cases=_cases_features,
    formula=FORMULA,
    grad_args=(0, 1),
    axes=("the B examples", "the F features"),
    mistakes=(
        Mistake("the norm is not squared: 1/2 ||f(x) - f(x_rec)||^2",
                lambda a, b: 0.5 * (a - b).norm(dim=1)),
        Mistake("absolute differences: the Gaussian's error is squared, 1/2 sum (f - f')^2",
                lambda a, b: 0.5 * (a - b).abs().sum(1)),
    ),
)


def aae_discriminator_loss(discriminator: nn.Module, encoder: nn.Module, x: torch.Tensor,
                           z_prior: torch.Tensor) -> torch.Tensor:
    """Phase 2a of the adversarial autoencoder: the latent discriminator tells samples of
    the prior (label 1) from the codes Enc(x) (label 0), with the encoder held fixed.
    x: (B, D); z_prior: (B, d_z) -> scalar."""
    codes = encoder(x).detach()
    return discriminator_loss(discriminator(z_prior), discriminator(codes))


def aae_encoder_loss(discriminator: nn.Module, encoder: nn.Module, x: torch.Tensor
                     ) -> torch.Tensor:
    """Phase 2b: the encoder, the generator of this GAN, makes its codes pass for samples of
    the prior: the non-saturating loss -E log D(Enc(x)). x: (B, D) -> scalar."""
    return generator_loss_nonsaturating(discriminator(encoder(x)))


def _cases_aae() -> list[Case]:
    gen, out = seeded(111), []
    for b, d, d_z in ((6, 5, 2), (9, 4, 3)):
        discriminator, encoder = linear_net(gen, d_z, 1), linear_net(gen, d, d_z)
        out.append(Case((discriminator, encoder, randn(gen, b, d), randn(gen, b, d_z)),
                        f"x ({b}, {d}), z_prior ({b}, {d_z})", b))
    return out


AAE_DISCRIMINATOR = Exercise(
    id="ch11.aae_discriminator_loss",
    title="the adversarial autoencoder's discriminator phase",
    signature="aae_discriminator_loss(discriminator, encoder, x, z_prior) -> scalar",
    reference=aae_discriminator_loss,
    cases=_cases_aae,
    output="scalar",
    grad_args=(0,),
    extra_check=no_gradient_reaches(
        1, "the encoder", "the encoder is held fixed in the discriminator's phase: detach "
        "its codes (encoder(x).detach())", _cases_aae),
    mistakes=(
        Mistake("the labels are swapped: in the latent space the prior's samples are the "
                "\"real\" data (label 1) and the encoder's codes the generated ones (label 0)",
                lambda dis, enc, x, zp: bce(dis(zp), 0.0) + bce(dis(enc(x)), 1.0)),
        Mistake("the encoder's codes are missing: score encoder(x) as well, with the label 0",
                lambda dis, enc, x, zp: bce(dis(zp), 1.0)),
        Mistake("the prior's samples are missing: the discriminator must also see z_prior "
                "with the label 1", lambda dis, enc, x, zp: bce(dis(enc(x)), 0.0)),
    ),
    confirmation="No gradient reaches the encoder.",
)


def _cases_aae_encoder() -> list[Case]:
    return [Case(c.args[:3], c.label.split(", z_prior")[0], c.batch) for c in _cases_aae()]


AAE_ENCODER = Exercise(
    id="ch11.aae_encoder_loss",
    title="the adversarial autoencoder's encoder phase",
    signature="aae_encoder_loss(discriminator, encoder, x) -> scalar",
    reference=aae_encoder_loss,
    cases=_cases_aae_encoder,
    output="scalar",
    grad_args=(1,),
    mistakes=(
        Mistake("you used the label 0 for the codes: that is the discriminator's loss; the "
                "encoder wants its codes taken for the prior's samples, label 1",
                lambda dis, enc, x: bce(dis(enc(x)), 0.0)),
        Mistake("this is the saturating loss E log(1 - D(Enc(x))): minimize -E log D(Enc(x)) "
                "instead", lambda dis, enc, x: -bce(dis(enc(x)), 0.0)),
        Mistake("the sign is flipped: the loss to minimize is -E log D(Enc(x)) = "
                "BCE(D(Enc(x)), 1)", lambda dis, enc, x: -bce(dis(enc(x)), 1.0)),
    ),
    confirmation="The encoder gets the reference's gradient, through the discriminator.",
)
