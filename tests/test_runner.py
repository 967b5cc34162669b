"""The notebook runner: a notebook executed in its own process and kernel, from its own
folder, with the variables asked for; its seconds, peak memory, cells and errors; a time
limit that stops the kernel and everything the notebook started."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

from tutorial_lib.runner import CellRun, read_jsonl, run_notebook


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
