"""Part I, the probability tools: one module per concept.

- :mod:`~tutorial_lib.probability.mixture`: Gaussian mixtures fitted by maximum likelihood
  (chapter 1).
- :mod:`~tutorial_lib.probability.divergences`: KL and JSD between distributions, exact and
  by Monte Carlo (chapter 2).
- :mod:`~tutorial_lib.probability.estimators`: the score-function and reparameterization
  gradient estimators (chapter 2).
"""
