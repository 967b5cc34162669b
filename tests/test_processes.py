"""run_with_time_limit: the time limit stops the child and everything it started;
threads_per_job and build_order: how notebooks run side by side."""

import os
import sys
import time
from pathlib import Path

import pytest

from tutorial_lib.processes import build_order, run_with_time_limit, threads_per_job


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False


def test_output_and_exit_status_of_a_command_that_finishes():
    done = run_with_time_limit([sys.executable, "-c", "import sys; print('out'); "
                                "print('err', file=sys.stderr); sys.exit(3)"], 30)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip(), done.timed_out) == \
        (3, "out", "err", False)
    merged = run_with_time_limit([sys.executable, "-c", "import sys; print('err', "
                                  "file=sys.stderr)"], 30, merge_stderr=True)
    assert merged.stdout.strip() == "err" and merged.stderr == ""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_the_time_limit_kills_the_child_and_its_own_children():
    spawn = ("import subprocess, sys, time; "
             "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
             "print(p.pid, flush=True); time.sleep(120)")
    start = time.monotonic()
    done = run_with_time_limit([sys.executable, "-c", spawn], 3)
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - start < 30
    grandchild = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild), "the child's own child survived the time limit"


def test_rejects_a_time_limit_that_is_not_positive():
    with pytest.raises(ValueError, match="positive"):
        run_with_time_limit([sys.executable, "-c", "pass"], 0)


def test_threads_per_job_shares_the_cores_and_gives_each_job_at_least_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert threads_per_job(1) == {"OMP_NUM_THREADS": "16", "MKL_NUM_THREADS": "16"}
    assert threads_per_job(3)["OMP_NUM_THREADS"] == "5"  # 3 x 5 = 15 of the 16 cores
    assert threads_per_job(40)["MKL_NUM_THREADS"] == "1"
    assert threads_per_job(2, tasks=1)["OMP_NUM_THREADS"] == "16"  # alone: every core
    assert threads_per_job(2, tasks=5)["OMP_NUM_THREADS"] == "8"
    assert threads_per_job(2, tasks=0)["OMP_NUM_THREADS"] == "16"  # nothing to run
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one thread each
    assert threads_per_job(2)["OMP_NUM_THREADS"] == "1"
    with pytest.raises(ValueError, match="at least 1"):
        threads_per_job(0)


def test_build_order_starts_the_last_chapter_first_whatever_the_folder() -> None:
    paths = [Path("b/ch02_x.ipynb"), Path("a/ch10_y.ipynb"), Path("c/ch01_z.ipynb")]
    assert build_order(paths) == [paths[1], paths[0], paths[2]]
