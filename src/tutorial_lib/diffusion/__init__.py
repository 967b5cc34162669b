"""From VAEs to diffusion: DDPM (Ho et al. 2020) as a deep hierarchical VAE whose encoder
is fixed (chapter 12's derivation).

- :mod:`~tutorial_lib.diffusion.schedule`: the numbers alpha_t (linear, cosine) and
  respacing for faster sampling.
- :mod:`~tutorial_lib.diffusion.process`: the forward marginals and posteriors, the
  noise parametrization of the decoder's mean, the Gaussian KL.
- :mod:`~tutorial_lib.diffusion.losses`: the ELBO's terms and the simplified noise loss.
- :mod:`~tutorial_lib.diffusion.sampling`: ancestral sampling.
- :mod:`~tutorial_lib.diffusion.models`: noise predictors for points and for digits.
"""

from tutorial_lib.diffusion.losses import (
    decoder_log_prob,
    elbo_terms,
    elbo_weights,
    noise_loss,
    reverse_variances,
)
from tutorial_lib.diffusion.models import (
    DenoiserConfig,
    MLPDenoiser,
    UNetConfig,
    UNetDenoiser,
    step_embedding,
)
from tutorial_lib.diffusion.process import gaussian_kl, model_mean, posterior, predicted_x, q_sample
from tutorial_lib.diffusion.sampling import ancestral_sample
from tutorial_lib.diffusion.schedule import NoiseSchedule, cosine_schedule, linear_schedule, respace

__all__ = [
    "DenoiserConfig",
    "MLPDenoiser",
    "NoiseSchedule",
    "UNetConfig",
    "UNetDenoiser",
    "ancestral_sample",
    "cosine_schedule",
    "decoder_log_prob",
    "elbo_terms",
    "elbo_weights",
    "gaussian_kl",
    "linear_schedule",
    "model_mean",
    "noise_loss",
    "posterior",
    "predicted_x",
    "q_sample",
    "respace",
    "reverse_variances",
    "step_embedding",
]
