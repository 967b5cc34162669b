"""Code exercises that check themselves, and the teacher's tools.

In a notebook, a student writes a function and calls :func:`check`::

    from tutorial_lib.exercises import check

    def kl_to_standard_normal(mu, log_var):
        ...

    check("ch04.kl_to_standard_normal", kl_to_standard_normal)

The checker runs the function on several inputs, compares it with the reference, and when
it is wrong names the mistake (a flipped sign, a missing factor 1/2, a missing detach, ...).
A right value is not enough: the result must carry the reference's gradient, a sampler must
draw fresh noise on every call, and a tuple, a float or None is named, not crashed on.

- :mod:`tutorial_lib.exercises.checker`: the checking machinery.
- :mod:`tutorial_lib.exercises.formula`: mistakes derived from a reference's structure (its
  terms, its reduction, its Gaussian parameters), each named by the term it touches.
- :mod:`tutorial_lib.exercises.integrity`: the checks of types, gradients and known errors.
- :mod:`tutorial_lib.exercises.catalogue`: the book's exercises (references, inputs, mistakes),
  one module per chapter (``catalogue.ch04`` holds chapter 4's).
- :mod:`tutorial_lib.exercises.notebooks`: solution regions, student versions.
- :mod:`tutorial_lib.exercises.grading`: grading a class's notebooks.

When the environment variable ``TUTORIAL_EXERCISE_REPORT`` names a file (the grader sets
it), :func:`check` appends its result there as one JSON line and never raises, so one wrong
answer does not stop the rest of the notebook from being graded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from tutorial_lib.exercises.catalogue import EXERCISES, for_chapter
from tutorial_lib.exercises.checker import (
    ERROR,
    FAILED,
    NOT_IMPLEMENTED,
    PASSED,
    CheckResult,
    Exercise,
    Mistake,
    run_check,
)

REPORT_ENV = "TUTORIAL_EXERCISE_REPORT"


class ExerciseNotImplemented(NotImplementedError):
    """Raised by :func:`check` for an exercise whose function is not written yet."""


class ExerciseFailed(AssertionError):
    """Raised by :func:`check` for a wrong answer; the message names the mistake."""


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise with this id, e.g. ``"ch04.kl_to_standard_normal"``."""
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        known = ", ".join(EXERCISES)
        raise KeyError(f"unknown exercise {exercise_id!r}; the book's exercises are: {known}")
    return EXERCISES[exercise_id]


def check(exercise_id: str, fn: Callable[..., Any], *, quiet: bool = False) -> CheckResult:
    """Check a student's function against the reference and print what was found.

    Raises :class:`ExerciseNotImplemented` while the function is a stub and
    :class:`ExerciseFailed` when it is wrong (with the mistake named), except in grading
    mode (see the module docstring), where the result is recorded instead.
    """
    __tracebackhide__ = True  # IPython: show the message, not the checker's frames
    result = run_check(get_exercise(exercise_id), fn)
    report = os.environ.get(REPORT_ENV)
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": result.exercise, "status": result.status,
                                "message": result.message}) + "\n")
    if not quiet:
        print(result)
    if report or result.passed:
        return result
    if result.status == NOT_IMPLEMENTED:
        raise ExerciseNotImplemented(f"{exercise_id}: {result.message}")
    raise ExerciseFailed(f"{exercise_id}: {result.message}")


__all__ = [
    "ERROR", "EXERCISES", "FAILED", "NOT_IMPLEMENTED", "PASSED", "CheckResult", "Exercise",
    "ExerciseFailed", "ExerciseNotImplemented", "Mistake", "check", "for_chapter",
    "get_exercise", "run_check",
]
