"""Run a command as a child process with a time limit that also stops what it started.

The child gets a session (process group) of its own, so that at the time limit the whole
group is killed: the child and, say, the Jupyter kernel it launched. Used by the notebook
timings and by the grader, which both run notebooks that may loop forever.
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
