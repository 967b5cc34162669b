"""What every benchmark shares: its description for the command line, running its jobs, and
its spreads over seeds.

A benchmark module (:mod:`tutorial_lib.bench.gan`, ...) defines ``TARGET``, a
:class:`Target`, and ``python -m tutorial_lib bench NAME`` runs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

STD_DDOF = 1  # spreads over seeds are sample standard deviations (divisor n - 1)


@dataclass(frozen=True)
class Target:
    help: str
    data_choices: tuple[str, ...]
    default_data: str
    run: Callable[[argparse.Namespace], dict[str, Any]]
    table: Callable[[dict[str, Any]], str]
    extra: Callable[[argparse.ArgumentParser], None] | None = None  # more options
    default_seeds: int = 3


def run_jobs(function: Callable[..., Any], jobs: list[tuple], workers: int = 1) -> list[Any]:
    """``function(*job)`` for every job, results in the order of ``jobs``.

    With ``workers > 1`` the jobs run in that many spawned processes, and each call gets
    one more argument, ``1``: the number of torch threads it should use, so that the
    processes do not compete for the cores.
    """
    if workers == 1:
        return [function(*job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(function, *job, 1) for job in jobs]
        return [f.result() for f in futures]


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
