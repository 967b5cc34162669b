"""The book's code exercises: for each, the reference, the inputs, the mistakes it names.

One module per chapter, so that chapter 4's exercises are in :mod:`.ch04`; what several
chapters share (seeded inputs, the binary cross-entropy) is in :mod:`.common`.

Exercise ids read ``chNN.function_name``. The references are the package's own functions
where one exists (so the exercises check the code the chapters use); the few written out
in the chapter modules (the KL between two Gaussians, the Monte Carlo ELBO, the Bernoulli
ELBO from tensors, the whole training steps) are where the package works at a higher level,
on whole models. Every chapter has at least three; each part has at least one whole step
(one gradient step of maximum likelihood, the loss of a VAE step, the GAN steps with their
detach and labels, a WGAN-GP critic step, the adversarial autoencoder's two phases).
"""

from __future__ import annotations

from tutorial_lib.exercises.catalogue import (
    ch01,
    ch02,
    ch03,
    ch04,
    ch05,
    ch06,
    ch07,
    ch08,
    ch09,
    ch10,
    ch11,
    ch12,
    ch13,
    ch14,
    ch15,
    ch16,
)
from tutorial_lib.exercises.checker import Exercise

EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in (
    ch01.LOG_NORMAL, ch01.LOG_BINOMIAL, ch01.MLE_STEP,
    ch02.KL_TWO, ch02.KL_GRID, ch02.JSD_GRID,
    ch03.ELBO_SAMPLES, ch03.VAE_STEP, ch03.KL_MONTE_CARLO,
    ch04.KL_STD, ch04.REPARAMETERIZE, ch04.ELBO, ch04.MY_ELBO,
    ch05.IWAE, ch05.FREE_BITS, ch05.IMPORTANCE_WEIGHTS,
    ch06.D_LOSS, ch06.G_LOSS, ch06.HINGE,
    ch07.D_STEP, ch07.G_STEP, ch07.SLERP,
    ch08.GRADIENT_PENALTY, ch08.CRITIC_STEP, ch08.R1,
    ch09.FRECHET, ch09.MMD, ch09.TRACE_SQRT,
    ch10.CLASS_TV, ch10.RADII, ch10.FRACTION,
    ch11.FEATURES, ch11.AAE_DISCRIMINATOR, ch11.AAE_ENCODER,
    ch12.AUC, ch12.GRAM, ch12.PIX2PIX,
    *ch13.ALL,

    *ch14.ALL,

    *ch15.ALL,

    *ch16.ALL,
)}


def for_chapter(chapter: int) -> list[Exercise]:
    """The code exercises of one chapter, in the order of the notebook (none for a
    chapter without exercises)."""
    if isinstance(chapter, bool) or not isinstance(chapter, int):
        raise TypeError(f"chapter: expected an int such as 4, got {chapter!r}")
    return [ex for ex in EXERCISES.values() if ex.id.startswith(f"ch{chapter:02d}.")]


__all__ = ["EXERCISES", "for_chapter"]
