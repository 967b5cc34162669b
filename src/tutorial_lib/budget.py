"""Budgets: how much work a notebook or benchmark does (smoke | book | full).

One environment variable, ``TUTORIAL_BUDGET``, selects the budget; unset means ``book``.
The code path is the same in all three: a budget only changes numbers (data size,
training steps, evaluation sample counts).

- ``smoke``: each notebook in well under a minute on 2 CPU cores (the test suite, nbval).
- ``book``: real results on a 2-core CPU in a few minutes per notebook (the rendered book).
- ``full``: longer training and the full data sets, for a GPU or Colab.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

BUDGET_ENV = "TUTORIAL_BUDGET"
T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How much work to do. Read with :func:`get_budget`; choose numbers with :meth:`pick`."""

    name: str  # "smoke" | "book" | "full"
    image_data: str  # default image data set for the chapters
    max_train_images: int | None  # cap on training images (None: the whole split)
    max_test_images: int | None  # cap on test images (None: the whole split)
    toy_samples: int  # training points drawn from a 2-D toy distribution
    eval_samples: int  # samples drawn to evaluate a model (mode counts, Monte Carlo)
    importance_samples: int  # k for importance-sampled log-likelihood estimates
    steps_factor: float  # multiplies a chapter's "book" number of training steps

    def pick(self, smoke: T, book: T, full: T) -> T:
        """The value for this budget: ``budget.pick(smoke=50, book=2000, full=20000)``."""
        return {"smoke": smoke, "book": book, "full": full}[self.name]

    def steps(self, book_steps: int, minimum: int = 1) -> int:
        """Scale a chapter's book-budget step count to this budget (at least ``minimum``)."""
        if book_steps < 0:
            raise ValueError(f"book_steps must be non-negative, got {book_steps}")
        return max(minimum, round(book_steps * self.steps_factor))

    def __str__(self) -> str:
        return self.name


BUDGETS: dict[str, Budget] = {
    "smoke": Budget(
        name="smoke",
        image_data="mnist5k",
        max_train_images=512,
        max_test_images=256,
        toy_samples=1_000,
        eval_samples=500,
        importance_samples=10,
        steps_factor=0.02,
    ),
    "book": Budget(
        name="book",
        image_data="mnist5k",
        max_train_images=None,
        max_test_images=None,
        toy_samples=5_000,
        eval_samples=2_500,
        importance_samples=1_000,
        steps_factor=1.0,
    ),
    "full": Budget(
        name="full",
        image_data="mnist",
        max_train_images=None,
        max_test_images=None,
        toy_samples=20_000,
        eval_samples=10_000,
        importance_samples=5_000,
        steps_factor=5.0,
    ),
}


def get_budget(name: str | Budget | None = None) -> Budget:
    """Return the budget named ``name``, or the one ``TUTORIAL_BUDGET`` names (default ``book``).

    Raises:
        ValueError: the name is not one of ``smoke``, ``book``, ``full``.
    """
    if isinstance(name, Budget):
        return name
    source = "argument"
    if name is None:
        name, source = os.environ.get(BUDGET_ENV, "") or "book", BUDGET_ENV
    key = str(name).strip().lower()
    if key not in BUDGETS:
        raise ValueError(
            f"unknown budget {name!r} (from {source}); expected one of {', '.join(BUDGETS)}"
        )
    return BUDGETS[key]
