"""Run a command as a child process with a time limit that also stops what it started.

The child gets a session (process group) of its own, so that at the time limit the whole
group is killed: the child and, say, the Jupyter kernel it launched. Used by the notebook
timings and by the grader, which both run notebooks that may loop forever.

:func:`threads_per_job` and :func:`build_order` are shared by the timings and
``scripts/execute_notebooks.py``, which both run notebooks side by side as the book build does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finished:
    """What a child process left: its exit status (None when killed at the time limit) and
    its output, decoded as UTF-8 with undecodable bytes replaced."""

    returncode: int | None
    stdout: str
    stderr: str  # empty when stderr was merged into stdout
    timed_out: bool


def run_with_time_limit(command: Sequence[str], timeout: float, *,
                        env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
                        merge_stderr: bool = False) -> Finished:
    """Run ``command``; kill its whole process group if it runs longer than ``timeout`` s."""
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
    stderr = subprocess.STDOUT if merge_stderr else subprocess.PIPE
    with subprocess.Popen(list(command), cwd=cwd, env=None if env is None else dict(env),
                          stdout=subprocess.PIPE, stderr=stderr,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
    return Finished(None if timed_out else proc.returncode,
                    out.decode(errors="replace"), (err or b"").decode(errors="replace"),
                    timed_out)


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
