"""The notebook runner: a notebook executed in its own process and kernel, from its own
folder, with the variables asked for; its seconds, peak memory, cells and errors; a time
limit that stops the kernel and everything the notebook started."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

from tutorial_lib.runner import RUN_ID_ENV, CellRun, Limits, read_jsonl, run_notebook, sweep


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_runs_in_the_notebooks_folder_with_its_variables_and_reports_errors(
        tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "nb.ipynb",
        "import os\nprint(os.path.basename(os.getcwd()), os.environ['TUTORIAL_BUDGET'])",
        "block = bytearray(300_000_000)  # 300 MB\nblock[::4096] = b'x' * len(block[::4096])",
        "raise ValueError('planted')",
        "print('after')",
    )
    before = path.read_text()
    on = run_notebook(path, timeout=120, env={"TUTORIAL_BUDGET": "smoke"}, allow_errors=True)
    assert on.ok and not on.timed_out and on.error is None
    assert on.notebook.cells[0].outputs[0]["text"] == f"{tmp_path.name} smoke\n"
    assert on.cells == (CellRun(0, None), CellRun(1, None),
                        CellRun(2, "ValueError: planted"), CellRun(3, None))
    assert on.notebook.cells[3].outputs[0]["text"] == "after\n"
    assert 300 < on.peak_mb < 2000, on.peak_mb  # the kernel's peak holds the 300 MB block
    assert 0 < on.seconds < 120
    assert path.read_text() == before  # the file itself is never modified

    stop = run_notebook(path, timeout=120, env={"TUTORIAL_BUDGET": "smoke"})
    assert not stop.ok and not stop.timed_out and stop.error == "ValueError: planted"
    assert [c.index for c in stop.cells] == [0, 1, 2]
    assert not stop.notebook.cells[3].get("outputs")  # never ran


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_the_time_limit_kills_the_kernel_and_what_it_started(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "loops.ipynb",
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "open('child.pid', 'w').write(str(p.pid))",
        "while True:\n    pass",
    )
    start = time.monotonic()
    run = run_notebook(path, timeout=15)
    assert run.timed_out and not run.ok and run.error == "timed out after 15 s"
    assert run.notebook is None and run.peak_mb is None
    assert run.cells == (CellRun(0, None),)  # what ran before the kill is still known
    assert time.monotonic() - start < 60
    grandchild = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild), "a process the notebook started survived the time limit"


def test_refuses_a_missing_notebook_and_limits_that_are_not_positive(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such notebook"):
        run_notebook(tmp_path / "missing.ipynb")
    path = _notebook(tmp_path / "nb.ipynb", "pass")
    with pytest.raises(ValueError, match="timeout must be positive"):
        run_notebook(path, timeout=0)
    with pytest.raises(ValueError, match="cell_timeout must be positive"):
        run_notebook(path, cell_timeout=-1)


def test_read_jsonl_skips_a_line_cut_short_by_a_kill(tmp_path: Path) -> None:
    lines = tmp_path / "cells.jsonl"
    lines.write_text('{"cell": 0, "error": null}\n{"cell": 1, "err')
    assert read_jsonl(lines) == [{"cell": 0, "error": None}]
    assert read_jsonl(tmp_path / "none.jsonl") == []


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_a_contained_run_sees_only_its_folder_its_variables_and_its_limits(
        tmp_path: Path, monkeypatch) -> None:
    """A private folder, a scrubbed environment, limits set in the kernel, extra cells that
    no file holds, and a daemon that left the session, the folder and the environment is
    still killed when the run ends (the runner is its subreaper)."""
    monkeypatch.setenv("GRADER_SECRET", "hidden")
    folder = tmp_path / "scratch"
    folder.mkdir()
    daemon = (f"import os, time; open({str(tmp_path / 'daemon.pid')!r}, 'w')"
              ".write(str(os.getpid())); time.sleep(300)")
    path = _notebook(
        tmp_path / "nb.ipynb",
        "import os, resource\n"
        "print(os.getcwd(), os.environ.get('GRADER_SECRET'), os.environ['HOME'], "
        "os.environ['EXTRA'], resource.getrlimit(resource.RLIMIT_AS)[0], "
        "resource.getrlimit(resource.RLIMIT_CPU)[0])",
        # a daemon: forks twice, leaves the session and the folder, drops its environment
        "import os, sys\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.chdir('/')\n"
        f"        os.execve(sys.executable, [sys.executable, '-c', {daemon!r}], {{}})\n"
        "    os._exit(0)",
        "import time\nwhile not os.path.exists(" + repr(str(tmp_path / "daemon.pid")) + "):\n"
        "    time.sleep(0.1)\ntime.sleep(0.5)",
        "import numpy as np\nblocks = [np.empty(100_000_000, np.uint8) for _ in range(100)]",
        "print(sorted(p.name for p in __import__('pathlib').Path('.').iterdir() "
        "if p.suffix == '.ipynb'))",
    )
    run = run_notebook(path, timeout=120, allow_errors=True, folder=folder, scrub_env=True,
                       env={"EXTRA": "1"}, extra_cells=["print('extra', 6 * 7)"],
                       limits=Limits(cpu_seconds=100, memory_bytes=3_000_000_000,
                                     processes=64))
    assert run.ok, run.error
    cwd, secret, home, extra, address_space, cpu = (
        run.notebook.cells[0].outputs[0]["text"].split())
    assert (Path(cwd), secret, Path(home), extra) == (folder.resolve(), "None",
                                                      folder.resolve(), "1")
    assert (int(address_space), int(cpu)) == (3_000_000_000, 100)
    assert run.cells[3].error.startswith("MemoryError")  # the limit, not the machine's RAM
    assert run.notebook.cells[4].outputs[0]["text"] == "[]\n"  # nothing in its folder
    assert run.notebook.cells[5].outputs[0]["text"] == "extra 42\n"
    assert not (folder / "nb.ipynb").exists() and len(run.notebook.cells) == 6
    assert not _alive(int((tmp_path / "daemon.pid").read_text())), "a daemon outlived the run"


@pytest.mark.slow
def test_the_cpu_limit_ends_the_kernel_and_a_cancel_stops_the_run(tmp_path: Path) -> None:
    import threading

    path = _notebook(tmp_path / "spin.ipynb", "while True:\n    pass")
    run = run_notebook(path, timeout=120, limits=Limits(cpu_seconds=2))
    assert not run.ok and not run.timed_out and "DeadKernelError" in run.error
    cancel = threading.Event()
    threading.Timer(3, cancel.set).start()
    start = time.monotonic()
    run = run_notebook(path, timeout=120, cancel=cancel)
    assert run.error == "cancelled" and not run.timed_out and time.monotonic() - start < 30


def test_limits_must_be_positive_integers() -> None:
    with pytest.raises(ValueError, match="Limits.memory_bytes must be a positive integer"):
        Limits(memory_bytes=0)
    with pytest.raises(ValueError, match="Limits.cpu_seconds"):
        Limits(cpu_seconds=1.5)


def test_the_sweep_kills_what_carries_the_run_marker(tmp_path: Path) -> None:
    import subprocess
    import sys

    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env={RUN_ID_ENV: "abc"}, start_new_session=True)
    inside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              cwd=tmp_path, start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             env={RUN_ID_ENV: "abd"}, start_new_session=True)
    try:
        time.sleep(0.3)
        assert sweep("abc", tmp_path) == 2
        assert marked.wait(10) and inside.wait(10)
        assert other.poll() is None  # another run's process is left alone
    finally:
        for p in (marked, inside, other):
            p.kill()
            p.wait()
