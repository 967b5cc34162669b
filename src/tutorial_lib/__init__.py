"""tutorial_lib: the tested code behind *GANs and VAEs, derived and built*.

Small modules, one concept each:

- At the top, what every part uses: :mod:`~tutorial_lib.device`,
  :mod:`~tutorial_lib.seeding`, :mod:`~tutorial_lib.budget` (where code runs,
  reproducibility, how much work a notebook does), :mod:`~tutorial_lib.validation` (input
  checks), :mod:`~tutorial_lib.checkpoints`, :mod:`~tutorial_lib.plotting`,
  :mod:`~tutorial_lib.widgets`.
- :mod:`tutorial_lib.data`: embedded and downloaded image data, 2-D toy distributions.
- One subpackage per part of the book: :mod:`tutorial_lib.probability` (Part I),
  :mod:`tutorial_lib.vae` (Part II), :mod:`tutorial_lib.gan` (Part III),
  :mod:`tutorial_lib.metrics`, :mod:`tutorial_lib.hybrids` and
  :mod:`tutorial_lib.applications` (Part IV).
- Tools on top: :mod:`tutorial_lib.bench` (the benchmarks behind the tables),
  :mod:`tutorial_lib.exercises` (checkers and the grader), :mod:`tutorial_lib.commands`
  (``python -m tutorial_lib``).

ARCHITECTURE.md, at the repository's root, maps the book onto the package.
"""

from tutorial_lib.budget import Budget, get_budget
from tutorial_lib.device import describe_run, get_device
from tutorial_lib.seeding import set_seed

__version__ = "0.1.0"

__all__ = ["Budget", "__version__", "describe_run", "get_budget", "get_device", "set_seed"]
