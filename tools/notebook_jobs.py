"""How the book's tools run notebooks side by side, as the book build does: how many
threads each kernel gets, and in which order the notebooks start. Shared by
``tools/timings.py`` and ``tools/execute_notebooks.py``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def threads_per_job(jobs: int, tasks: int | None = None) -> dict[str, str]:
    """``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` for one of ``jobs`` processes run at once:
    the CPU's cores divided by ``jobs``, at least 1, so that together they use each core once.
    With ``tasks`` (how many there are to run), fewer than ``jobs`` tasks share the cores
    among themselves: one notebook alone gets every core."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    at_once = jobs if tasks is None else max(1, min(jobs, tasks))
    threads = str(max(1, (os.cpu_count() or 1) // at_once))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}


def build_order(paths: Sequence[Path]) -> list[Path]:
    """The order in which the book build starts notebooks: by file name, last chapter first.
    Later chapters train longest, so, run side by side, the long ones start early and the
    short ones fill in at the end."""
    return sorted(paths, key=lambda p: p.name, reverse=True)
