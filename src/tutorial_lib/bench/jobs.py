"""What every benchmark shares: its description for the command line, running its jobs, and
its spreads over seeds (kept in :mod:`tutorial_lib.results`, which the chapters' code
reads too).

A benchmark module (:mod:`tutorial_lib.bench.gan`, ...) defines ``TARGET``, a
:class:`Target`, and ``python -m tutorial_lib bench NAME`` runs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tutorial_lib.results import STD_DDOF, mean_and_sd, sample_sd

__all__ = ["STD_DDOF", "Target", "mean_and_sd", "run_jobs", "sample_sd"]


@dataclass(frozen=True)
class Target:
    help: str
    data_choices: tuple[str, ...]
    default_data: str
    run: Callable[[argparse.Namespace], dict[str, Any]]
    table: Callable[[dict[str, Any]], str]
    extra: Callable[[argparse.ArgumentParser], None] | None = None  # more options
    default_seeds: int = 3
    extra_budgets: dict[str, str] = field(default_factory=dict)  # name -> what it does


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
