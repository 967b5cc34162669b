"""tutorial_lib: the tested code behind *GANs and VAEs, derived and built*.

Small modules, one concept each:

- :mod:`tutorial_lib.device`, :mod:`tutorial_lib.seeding`, :mod:`tutorial_lib.budget`:
  where code runs, reproducibility, and how much work a notebook does.
- :mod:`tutorial_lib.data`: embedded and downloaded image data, 2-D toy distributions.
- :mod:`tutorial_lib.mixture`: Gaussian mixtures fitted by maximum likelihood (chapter 1).
- :mod:`tutorial_lib.divergences`, :mod:`tutorial_lib.estimators`: KL, JSD and the two
  gradient estimators (chapter 2).
- :mod:`tutorial_lib.plotting`: image grids, 2-D densities and samples, training curves.
"""

from tutorial_lib.budget import Budget, get_budget
from tutorial_lib.device import describe_run, get_device
from tutorial_lib.seeding import set_seed

__version__ = "0.1.0"

__all__ = ["Budget", "__version__", "describe_run", "get_budget", "get_device", "set_seed"]
