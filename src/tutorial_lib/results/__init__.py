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
