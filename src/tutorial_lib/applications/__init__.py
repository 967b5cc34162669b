"""Part IV, the models put to work: one module per application.

- :mod:`~tutorial_lib.applications.head_to_head`: the VAE, the GAN and the hybrids trained on
  one clock and scored alike (chapter 10).
- :mod:`~tutorial_lib.applications.reference_seeds`: where chapter 10's reference
  checkpoints are, and the verified download of seeds 1 and 2.
- :mod:`~tutorial_lib.applications.anomaly`: anomaly detection with a VAE (chapter 12).
- :mod:`~tutorial_lib.applications.augmentation`: a classifier trained on generated digits
  (chapter 12).
"""
