"""The book's one notebook runner: execute a notebook in a process of its own, with nbclient.

:func:`run_notebook` starts this file, as a script, as a child process in a session
(process group) of its own. The child starts a fresh Jupyter kernel of this Python
environment, in the notebook's folder (as the book build does), runs the cells with
nbclient, and writes back the executed notebook, one line per executed cell, and the
kernel's peak memory. At the time limit the child's process group is killed, and so is the
kernel's (Jupyter starts each kernel in a session of its own): the kernel and whatever the
notebook started go too, so a notebook that loops forever costs its limit and no more. The
notebook file itself is never modified.

Used by the grader (:mod:`tutorial_lib.exercises.grading`), by ``tools/timings.py``, by
``tools/execute_notebooks.py`` (which fills the book build's cache) and by the tests.
It imports only the standard library, nbformat and nbclient (with the jupyter_client and
ipykernel that nbclient runs on).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat

# what the child process writes into the run's temporary folder
_EXECUTED, _CELLS, _RESULT = "executed.ipynb", "cells.jsonl", "result.json"
_OUTPUT, _KERNEL_PGID = "output.txt", "kernel.pgid"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of IPython's tracebacks


@dataclass(frozen=True)
class CellRun:
    """One executed code cell: its index among all cells and, if it raised, the error."""

    index: int
    error: str | None  # "ValueError: boom" (cut to 500 characters), None if it ran


@dataclass(frozen=True)
class NotebookRun:
    """What one run of a notebook left."""

    path: Path  # the notebook that was run
    seconds: float  # wall-clock, from starting the process (and kernel) to its end
    peak_mb: float | None  # the kernel's peak resident memory in MB (10^6 bytes); None when
    # the platform does not record it (Windows) or the run was killed at the time limit
    notebook: nbformat.NotebookNode | None  # the executed copy; None if the run was killed
    cells: tuple[CellRun, ...]  # the code cells executed, in order (also when killed)
    error: str | None  # why the run stopped early: a cell's error, the time limit, a crash
    timed_out: bool  # killed at the time limit

    @property
    def ok(self) -> bool:
        """Whether every cell ran (with ``allow_errors``, some may have raised)."""
        return self.error is None


def run_notebook(path: str | Path, *, timeout: float | None = None,
                 cell_timeout: float | None = None, env: Mapping[str, str] | None = None,
                 allow_errors: bool = False) -> NotebookRun:
    """Execute the notebook at ``path`` in a fresh process and kernel; never modify the file.

    ``timeout``: seconds the whole run may take before its process group (kernel
    included) is killed (None: no limit). ``cell_timeout``: seconds one cell may take
    (None: no limit), as ``execute.timeout`` of ``_config.yml`` limits the build's cells.
    ``env``: variables set for the kernel on top of this process's environment (the
    budget, the thread counts, ...). ``allow_errors``: go on after a cell raises (the
    errors are in :attr:`NotebookRun.cells`) instead of stopping there (the error is then
    :attr:`NotebookRun.error`).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook")
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive (seconds) or None, got {value}")
    with tempfile.TemporaryDirectory(prefix="notebook-run-") as tmp:
        work = Path(tmp)
        # this file as a script, isolated (-I: its folder not on sys.path), so that the
        # child loads nbclient and not the package (torch)
        command = [sys.executable, "-I", str(Path(__file__).resolve()), str(path), str(work),
                   str(cell_timeout or 0), "1" if allow_errors else "0"]
        start = time.perf_counter()
        returncode = _run_with_time_limit(command, timeout, dict(os.environ, **(env or {})),
                                          work)
        seconds = round(time.perf_counter() - start, 1)
        cells = tuple(CellRun(c["cell"], c.get("error")) for c in read_jsonl(work / _CELLS))
        if returncode is None:
            return NotebookRun(path, seconds, None, None, cells,
                               f"timed out after {timeout:g} s", True)
        if not (work / _RESULT).is_file():
            output = (work / _OUTPUT).read_text(encoding="utf-8", errors="replace")
            tail = (output.strip().splitlines() or ["no output"])[-1]
            return NotebookRun(path, seconds, None, None, cells,
                               f"the runner exited with status {returncode}: {tail}", False)
        result = json.loads((work / _RESULT).read_text(encoding="utf-8"))
        notebook = nbformat.read(work / _EXECUTED, as_version=4)
    return NotebookRun(path, seconds, result["peak_mb"], notebook, cells, result["error"],
                       False)


def _run_with_time_limit(command: list[str], timeout: float | None, env: dict[str, str],
                         work: Path) -> int | None:
    """Run the child ``command`` in a session of its own, its output into ``work``; after
    ``timeout`` s kill its process group and its kernel's. The exit status, None if killed.

    The output goes to a file, not a pipe: a process the notebook started and that
    escaped the kill could hold a pipe open, and reading it would wait for that process."""
    with open(work / _OUTPUT, "wb") as output, subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True) as proc:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            groups = [proc.pid]
            if (work / _KERNEL_PGID).is_file():
                groups.append(int((work / _KERNEL_PGID).read_text()))
            for group in groups:
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:  # that group has ended already
                    pass
            proc.wait()
            return None


def read_jsonl(path: Path) -> list[dict]:
    """One dict per line of a JSON-lines file that a run wrote; a line cut short by a kill
    is skipped, and a missing file reads as no lines."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill
    return out


def _children_peak_mb() -> float | None:
    """Peak resident memory of the largest exited child process (the kernel), in MB."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if maxrss <= 0:
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(maxrss * scale / 1e6, 1)


def _cell_error(cell: nbformat.NotebookNode) -> str | None:
    failed = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not failed:
        return None
    return _ANSI.sub("", f"{failed[-1]['ename']}: {failed[-1]['evalue']}")[:500]


def _execute(source: Path, work: Path, cell_timeout: float, allow_errors: bool) -> None:
    """In the child process: run the notebook, write what :func:`run_notebook` reads."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from traitlets import default

    class CurrentEnvironmentKernels(KernelSpecManager):
        """Every kernel name resolves to this interpreter's ipykernel (not to a kernel
        installed elsewhere on the machine under the same name)."""

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            from ipykernel.kernelspec import RESOURCES, get_kernel_dict

            return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())

    class CurrentEnvironmentKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return CurrentEnvironmentKernels(data_dir=self.data_dir)

    def started(notebook: nbformat.NotebookNode) -> None:  # the parent kills this group too
        pgid = getattr(client.km.provisioner, "pgid", None)  # Jupyter's local kernels have one
        if pgid is not None:
            (work / _KERNEL_PGID).write_text(str(pgid))

    def record(cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
        entry = {"cell": cell_index, "error": _cell_error(cell)}
        with open(work / _CELLS, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    nb = nbformat.read(source, as_version=4)
    # The client owns (starts, then shuts down and waits for) the kernel, so that its peak
    # memory is in this process's RUSAGE_CHILDREN. No timings in the cells' metadata: as in
    # the book build, so that jupyter-cache (which hashes cell metadata) matches the source.
    client = NotebookClient(
        nb, timeout=math.ceil(cell_timeout) or None, allow_errors=allow_errors,
        record_timing=False,
        kernel_name="python3", kernel_manager_class=CurrentEnvironmentKernelManager,
        resources={"metadata": {"path": str(source.parent)}}, on_notebook_start=started,
        on_cell_executed=record)
    error = None
    try:
        client.execute()
    except CellTimeoutError:
        error = f"a cell ran longer than {cell_timeout:g} s"
    except CellExecutionError as exc:
        lines = [ln for ln in _ANSI.sub("", str(exc)).splitlines() if ln.strip()]
        error = lines[-1] if lines else type(exc).__name__
    except Exception as exc:  # noqa: BLE001 -- the kernel died, could not start, ...
        error = f"{type(exc).__name__}: {exc}"
    nbformat.write(nb, work / _EXECUTED)
    (work / _RESULT).write_text(json.dumps({"error": error, "peak_mb": _children_peak_mb()}),
                                encoding="utf-8")


if __name__ == "__main__":
    _source, _work, _cell_timeout, _allow = sys.argv[1:5]
    _execute(Path(_source), Path(_work), float(_cell_timeout), _allow == "1")
