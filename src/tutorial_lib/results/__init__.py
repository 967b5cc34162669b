"""Measured benchmark results shipped with the package, so that a notebook on Colab shows
the same tables as the rendered book; and the spreads over seeds that the results hold
(sample standard deviations, ``STD_DDOF``).

Each file is the JSON line printed by a ``python -m tutorial_lib bench ...`` command; the
command is recorded in the file under ``"command"``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np

STD_DDOF = 1  # spreads over seeds are sample standard deviations (divisor n - 1)


def load_result(name: str) -> dict[str, Any]:
    """The stored result ``name`` (e.g. ``"bench_compare"``) as a dict.

    Raises:
        FileNotFoundError: no such result; the message lists the stored ones.
    """
    folder = resources.files(__name__)
    path = folder / f"{name}.json"
    if not path.is_file():
        stored = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
        raise FileNotFoundError(f"no stored result {name!r}; stored: {', '.join(stored) or 'none'}")
    return json.loads(path.read_text())


def mean_and_sd(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof = STD_DDOF = 1) of per-seed values.

    The standard deviation is None for a single value: one seed measures no spread.
    """
    if len(values) == 0:
        raise ValueError("mean_and_sd needs at least one value, got none")
    sd = float(np.std(values, ddof=STD_DDOF)) if len(values) > 1 else None
    return float(np.mean(values)), sd


def sample_sd(result: dict[str, Any], sd: float) -> float:
    """A spread stored in ``result`` (a benchmark's JSON) as a sample standard deviation.

    Results record ``std_ddof``; those stored before it was recorded used NumPy's default
    ddof = 0 (divisor n, n = ``result["seeds"]``), converted exactly here:
    sd_1 = sd_0 sqrt(n / (n - 1)).
    """
    ddof = result.get("std_ddof", 0)
    n = int(result["seeds"])
    if ddof == STD_DDOF:
        return sd
    if ddof != 0 or n < 2:
        raise ValueError(f"expected a spread over at least 2 seeds with ddof 0 or 1, got "
                         f"ddof {ddof} over {n} seed(s)")
    return sd * float(np.sqrt(n / (n - 1)))


RESOLVED_SE = 2.0
"""The book calls a difference of means *resolved* when it exceeds this many standard errors."""


def separation(a: list[float], b: list[float]) -> tuple[float, float]:
    """The difference of the means of two sets of per-seed values, and that difference in
    units of its standard error.

    With sample standard deviations s (divisor n - 1) and seed counts n, the standard error
    of mean(a) - mean(b) is sqrt(s_a^2 / n_a + s_b^2 / n_b): the ratio is Welch's t
    statistic. The book reads |ratio| > :data:`RESOLVED_SE` as resolved, a rough rule with
    three seeds, not a test at a stated level.

    Returns:
        ``(mean(a) - mean(b), ratio)``; the ratio is +-inf when both sets have no spread
        and the means differ, and 0 when they are equal.

    Raises:
        ValueError: fewer than two values in a set (one seed measures no spread), or a value
            that is not finite.
    """
    arrays = [np.asarray(v, dtype=float) for v in (a, b)]
    for name, values in zip("ab", arrays, strict=True):
        if values.ndim != 1 or len(values) < 2:
            raise ValueError(f"{name}: expected at least two per-seed values, got "
                             f"{values.tolist()}")
        if not np.isfinite(values).all():
            raise ValueError(f"{name}: expected finite values, got {values.tolist()}")
    diff = float(arrays[0].mean() - arrays[1].mean())
    se = float(np.sqrt(sum(v.var(ddof=STD_DDOF) / len(v) for v in arrays)))
    if se == 0.0:
        return diff, 0.0 if diff == 0.0 else float(np.copysign(np.inf, diff))
    return diff, diff / se
