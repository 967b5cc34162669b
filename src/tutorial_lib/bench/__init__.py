"""Benchmarks behind the book's tables: each prints a table and one JSON line.

- :mod:`~tutorial_lib.bench.mle`: Gaussian mixtures by maximum likelihood (chapter 1).
- :mod:`~tutorial_lib.bench.vae`: the reference VAE against the plain MLP VAE (chapter 5).
- :mod:`~tutorial_lib.bench.gan`: every GAN loss on the ring and the grid (chapter 8).
- :mod:`~tutorial_lib.bench.head_to_head`: VAE, GAN, VAE-GAN and AAE on one clock (chapter 10).
- :mod:`~tutorial_lib.bench.jobs`: what they share (:class:`~tutorial_lib.bench.jobs.Target`,
  :func:`~tutorial_lib.bench.jobs.run_jobs`).

Run one with ``python -m tutorial_lib bench NAME``; ARCHITECTURE.md says how to add one.
"""
