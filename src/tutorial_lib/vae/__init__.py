"""Variational autoencoders (Part II): one module per concept.

- :mod:`~tutorial_lib.vae.likelihoods`: Bernoulli and Gaussian p(x | z), log p summed over pixels.
- :mod:`~tutorial_lib.vae.gaussian`: ``kl_to_standard_normal`` and ``reparameterize``.
- :mod:`~tutorial_lib.vae.models`: MLP and convolutional encoders/decoders, ``VAE``.
- :mod:`~tutorial_lib.vae.objectives`: ``elbo``, ``iwae_bound``, ``estimate_log_likelihood``.
- :mod:`~tutorial_lib.vae.train`: ``train_vae`` with KL annealing, free bits, early stopping.
- :mod:`~tutorial_lib.vae.diagnostics`: KL per dimension, active units, the split of
  the KL term into mutual information and marginal KL.
- :mod:`~tutorial_lib.vae.sampling`: samples, reconstructions, interpolation, latent grid.
- :mod:`~tutorial_lib.vae.ppca`: probabilistic PCA, the exact reference of chapter 3.
"""

from tutorial_lib.training import TrainingDiverged
from tutorial_lib.vae.diagnostics import (
    ELBOSurgery,
    active_units,
    activity,
    elbo_surgery,
    kl_per_dimension,
    posterior_statistics,
)
from tutorial_lib.vae.gaussian import (
    kl_to_standard_normal,
    kl_to_standard_normal_per_dim,
    reparameterize,
)
from tutorial_lib.vae.likelihoods import BernoulliLikelihood, GaussianLikelihood
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.objectives import (
    ELBOTerms,
    LogLikelihood,
    elbo,
    estimate_log_likelihood,
    evaluate_elbo,
    iwae_bound,
)
from tutorial_lib.vae.ppca import PPCA
from tutorial_lib.vae.sampling import interpolate, latent_grid, reconstruct, sample_images
from tutorial_lib.vae.train import VAETrainConfig, train_vae

__all__ = [
    "PPCA",
    "VAE",
    "BernoulliLikelihood",
    "ELBOSurgery",
    "ELBOTerms",
    "GaussianLikelihood",
    "LogLikelihood",
    "TrainingDiverged",
    "VAEConfig",
    "VAETrainConfig",
    "active_units",
    "activity",
    "elbo",
    "elbo_surgery",
    "estimate_log_likelihood",
    "evaluate_elbo",
    "interpolate",
    "iwae_bound",
    "kl_to_standard_normal",
    "kl_to_standard_normal_per_dim",
    "kl_per_dimension",
    "latent_grid",
    "posterior_statistics",
    "reconstruct",
    "reparameterize",
    "sample_images",
    "train_vae",
]
