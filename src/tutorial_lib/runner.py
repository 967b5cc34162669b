"""The book's one notebook runner: execute a notebook in a process of its own, with nbclient.

:func:`run_notebook` starts this file, as a script, as a child process in a session
(process group) of its own. The child starts a fresh Jupyter kernel of this Python
environment, in the notebook's folder (as the book build does) or in a folder given, runs
the cells with nbclient, and writes back the executed notebook, one line per executed cell,
and the kernel's peak memory. The notebook file itself is never modified.

Containment, for the grader (not a container: see the README's "Teaching with it"):

- the whole process tree of a run is killed at its time limit and again when it ends: the
  child is a *subreaper* (Linux), so processes the notebook started and orphaned (forked
  daemons, ``setsid`` included) become its children and are killed with the kernel; the
  parent then kills the child's and the kernel's process groups and sweeps every process
  that carries the run's marker in its environment (``TUTORIAL_RUN_ID``) or whose working
  folder is inside the run's private folder;
- :class:`Limits` are set with ``resource.setrlimit`` in the kernel's process before it
  starts: CPU seconds, address space, and processes (the limit counts all the user's
  processes, and root is exempt);
- ``scrub_env`` gives the kernel only what it needs (the path, the locale, ``PYTHONPATH``,
  the book's own variables) plus ``env``, with ``HOME`` and ``TMPDIR`` in its folder;
- ``extra_cells`` are appended to the notebook in the child's memory only (they reach it
  through a pipe, never a file the kernel could read before they run).

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
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

# what the child process writes into the run's temporary folder
_EXECUTED, _CELLS, _RESULT = "executed.ipynb", "cells.jsonl", "result.json"
_OUTPUT, _KERNEL_PGID = "output.txt", "kernel.pgid"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the colours of IPython's tracebacks
RUN_ID_ENV = "TUTORIAL_RUN_ID"  # the marker that the sweep looks for in environments
# what a scrubbed environment keeps of this process's (the path, the locale, the package's
# location, the book's own variables); everything else is dropped
_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_PREFIX",
         "TUTORIAL_DATA", "TUTORIAL_DEVICE")
_GRACE = 5.0  # seconds the child gets to kill its tree after SIGUSR1, before SIGKILL
_PR_SET_CHILD_SUBREAPER = 36  # prctl option, Linux


@dataclass(frozen=True)
class Limits:
    """Resource limits of the kernel's process, set with ``resource.setrlimit`` (None: no
    limit). Exceeding the CPU time kills the kernel; exceeding the address space makes
    allocations fail (``MemoryError``); the process limit makes ``fork`` fail."""

    cpu_seconds: int | None = None  # CPU time of the kernel process (all its threads)
    memory_bytes: int | None = None  # address space (virtual memory) of each process
    processes: int | None = None  # processes the run may add to the user's current count

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Limits.{name} must be a positive integer or None, "
                                 f"got {value!r}")


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
                 allow_errors: bool = False, folder: str | Path | None = None,
                 scrub_env: bool = False, limits: Limits | None = None,
                 extra_cells: Sequence[str] = (), cancel: threading.Event | None = None,
                 notebook: nbformat.NotebookNode | None = None) -> NotebookRun:
    """Execute the notebook at ``path`` in a fresh process and kernel; never modify the file.

    ``timeout``: seconds the whole run may take before its process tree (kernel included)
    is killed (None: no limit). ``cell_timeout``: seconds one cell may take (None: no
    limit), as ``execute.timeout`` of ``_config.yml`` limits the build's cells. ``env``:
    variables set for the kernel, on top of this process's environment, or with
    ``scrub_env`` on top of a minimal one. ``allow_errors``: go on after a cell raises (the
    errors are in :attr:`NotebookRun.cells`) instead of stopping there (the error is then
    :attr:`NotebookRun.error`). ``folder``: a private folder for the kernel to run in
    (default: the notebook's own); every process still working inside it when the run
    ends is killed. ``limits``: the kernel's :class:`Limits`. ``extra_cells``: code cells
    run after the notebook's (their outputs are in :attr:`NotebookRun.notebook`).
    ``cancel``: an event that, once set, stops the run as the time limit would (its error
    is then "cancelled"). ``notebook``: the cells to run, in place of the file's (``path``
    then names the run and, without ``folder``, its folder): the child gets them through a
    pipe, so that nothing another process writes meanwhile can change what runs.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook")
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive (seconds) or None, got {value}")
    if folder is not None and not Path(folder).is_dir():
        raise FileNotFoundError(f"folder {folder}: no such folder for the kernel to run in")
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits: expected a runner.Limits, got {type(limits).__name__}")
    if isinstance(extra_cells, str) or not all(isinstance(c, str) for c in extra_cells):
        raise TypeError("extra_cells: expected a sequence of code strings")
    private = Path(folder).resolve() if folder is not None else None
    cwd = private or path.parent
    run_id = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="notebook-run-") as tmp:
        work = Path(tmp)
        base = _scrubbed(cwd) if scrub_env else dict(os.environ)
        child_env = {**base, **(env or {}), RUN_ID_ENV: run_id,
                     "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
        # this file as a script, isolated (-I: its folder not on sys.path), so that the
        # child loads nbclient and not the package (torch)
        command = [sys.executable, "-I", str(Path(__file__).resolve()), str(work),
                   str(cell_timeout or 0), "1" if allow_errors else "0", str(cwd)]
        source = nbformat.writes(notebook) if notebook is not None else path.read_text(
            encoding="utf-8")
        job = {"notebook": source, "extra_cells": list(extra_cells),
               "limits": asdict(limits or Limits())}
        start = time.perf_counter()
        try:
            returncode = _run_with_time_limit(command, timeout, child_env, work, job, cancel)
        finally:
            sweep(run_id, private)
        seconds = round(time.perf_counter() - start, 1)
        cells = tuple(CellRun(c["cell"], c.get("error")) for c in read_jsonl(work / _CELLS))
        if returncode is None:
            if cancel is not None and cancel.is_set():
                return NotebookRun(path, seconds, None, None, cells, "cancelled", False)
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


def _scrubbed(folder: Path) -> dict[str, str]:
    """A minimal environment for a kernel that runs in ``folder``: what :data:`_KEPT`
    names, one thread per library, and the home, temporary and cache folders in it."""
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    env.update(HOME=str(folder), TMPDIR=str(folder), MPLCONFIGDIR=str(folder / ".matplotlib"),
               IPYTHONDIR=str(folder / ".ipython"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _run_with_time_limit(command: list[str], timeout: float | None, env: dict[str, str],
                         work: Path, job: dict, cancel: threading.Event | None
                         ) -> int | None:
    """Run the child ``command`` in a session of its own, ``job`` (JSON) on its stdin, its
    output into ``work``; after ``timeout`` s, or once ``cancel`` is set, ask it to kill its
    tree (SIGUSR1), then kill its process group and its kernel's. The exit status, None if
    killed.

    The output goes to a file, not a pipe: a process the notebook started and that
    escaped the kill could hold a pipe open, and reading it would wait for that process."""
    with open(work / _OUTPUT, "wb") as output, subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True) as proc:
        try:
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        except BrokenPipeError:  # the child died at once; its output says why
            pass
        deadline = None if timeout is None else time.monotonic() + timeout
        while cancel is None or not cancel.is_set():
            step = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if step <= 0:
                break
            try:
                return proc.wait(timeout=step)
            except subprocess.TimeoutExpired:
                continue
        proc.send_signal(signal.SIGUSR1)  # the child kills its descendants, then exits
        try:
            proc.wait(timeout=_GRACE)
        except subprocess.TimeoutExpired:
            pass
        groups = [proc.pid]
        kernel = _kernel_group(work, env[RUN_ID_ENV])
        if kernel is not None:
            groups.append(kernel)
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:  # that group has ended already
                pass
        proc.wait()
        return None


def _kernel_group(work: Path, run_id: str) -> int | None:
    """The kernel's process group, as the child recorded it, if its leader is this run's
    (the file is in a folder the notebook could find and write: never trust it blindly)."""
    try:
        pgid = int((work / _KERNEL_PGID).read_text())
    except (OSError, ValueError):
        return None
    marker = f"{RUN_ID_ENV}={run_id}".encode()
    return pgid if pgid > 1 and _belongs_to_run(pgid, marker, None) else None


def _processes() -> dict[int, int]:
    """pid -> parent pid of every live process in /proc (zombies left out; empty where
    there is no /proc)."""
    parents = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:  # ended meanwhile
            continue
        if state != "Z":
            parents[int(entry.name)] = int(parent)
    return parents


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` in the process tree, as /proc shows it now."""
    children: dict[int, list[int]] = {}
    for child, parent in _processes().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _belongs_to_run(pid: int, marker: bytes, folder: Path | None) -> bool:
    try:
        if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            return True
        if folder is not None:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            return cwd == folder or folder in cwd.parents
    except OSError:  # ended meanwhile, or not ours to read
        return False
    return False


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def sweep(run_id: str, folder: Path | None = None, rounds: int = 20) -> int:
    """Kill every process of this user that carries ``RUN_ID_ENV=run_id`` in its
    environment or works inside ``folder``, until none is left (a process may fork while
    the sweep runs; at most ``rounds`` passes). Returns how many were killed; 0 where
    there is no /proc."""
    marker, me, killed = f"{RUN_ID_ENV}={run_id}".encode(), os.getpid(), 0
    for _ in range(rounds):
        found = [pid for pid in _processes() if pid != me and _belongs_to_run(pid, marker,
                                                                              folder)]
        if not found:
            break
        _kill(found)
        killed += len(found)
        time.sleep(0.05)
    return killed


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


def _become_subreaper() -> None:
    """Linux: orphaned descendants (daemons) become this process's children, not init's."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _kill_tree() -> None:
    """Kill every descendant of this process (repeatedly: one may fork meanwhile)."""
    for _round in range(20):
        found = _descendants(os.getpid())
        if not found:
            return
        _kill(found)
        time.sleep(0.05)
        _reap()


def _reap() -> None:
    """Collect the exit status of every child that has ended (orphans adopted by this
    subreaper included), so that none stays a zombie."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no children left
            return
        if pid == 0:
            return


_stopping: list[bool] = []  # set when the time limit passed: record no more cells


def _terminated(signum: int, frame: object) -> None:
    _stopping.append(True)
    _kill_tree()
    os._exit(128 + signum)


def _limited(limits: dict[str, int | None], argv: list[str]) -> None:
    """The kernel's launcher: set the resource limits, then become the kernel (exec)."""
    import resource

    if limits["processes"] is not None:
        uid = os.getuid()
        count = sum(1 for p in Path("/proc").glob("[0-9]*/task/[0-9]*")
                    if _owner(p) == uid)  # RLIMIT_NPROC counts the user's threads
        resource.setrlimit(resource.RLIMIT_NPROC, (count + limits["processes"],) * 2)
    if limits["cpu_seconds"] is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_seconds"],) * 2)
    if limits["memory_bytes"] is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    os.execv(argv[0], argv)


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _execute(work: Path, cell_timeout: float, allow_errors: bool, cwd: Path, job: dict
             ) -> None:
    """In the child process: run ``job``'s notebook and extra cells in ``cwd``, the kernel
    under ``job``'s limits; write what :func:`run_notebook` reads; kill the tree."""
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

            spec = get_kernel_dict()
            if any(v is not None for v in job["limits"].values()):  # this file sets them
                spec["argv"] = [sys.executable, "-I", str(Path(__file__).resolve()),
                                "--limits", json.dumps(job["limits"]), *spec["argv"]]
            return KernelSpec(resource_dir=RESOURCES, **spec)

    class CurrentEnvironmentKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return CurrentEnvironmentKernels(data_dir=self.data_dir)

    def started(notebook: nbformat.NotebookNode) -> None:  # the parent kills this group too
        pgid = getattr(client.km.provisioner, "pgid", None)  # Jupyter's local kernels have one
        if pgid is not None:
            (work / _KERNEL_PGID).write_text(str(pgid))

    def record(cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
        if _stopping:  # the cell was cut short by the time limit, not by its own error
            return
        entry = {"cell": cell_index, "error": _cell_error(cell)}
        with open(work / _CELLS, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    nb = nbformat.reads(job["notebook"], as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in job["extra_cells"]]
    # The client owns (starts, then shuts down and waits for) the kernel, so that its peak
    # memory is in this process's RUSAGE_CHILDREN. No timings in the cells' metadata: as in
    # the book build, so that jupyter-cache (which hashes cell metadata) matches the source.
    client = NotebookClient(
        nb, timeout=math.ceil(cell_timeout) or None, allow_errors=allow_errors,
        record_timing=False,
        kernel_name="python3", kernel_manager_class=CurrentEnvironmentKernelManager,
        resources={"metadata": {"path": str(cwd)}}, on_notebook_start=started,
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
    _kill_tree()  # what the notebook left running (daemons came to this subreaper)
    nbformat.write(nb, work / _EXECUTED)
    (work / _RESULT).write_text(json.dumps({"error": error, "peak_mb": _children_peak_mb()}),
                                encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "--limits":  # the kernel's launcher
        _limited(json.loads(sys.argv[2]), sys.argv[3:])
    _become_subreaper()
    signal.signal(signal.SIGUSR1, _terminated)  # nbclient handles SIGTERM and SIGINT
    _work, _cell_timeout, _allow, _cwd = sys.argv[1:5]
    _execute(Path(_work), float(_cell_timeout), _allow == "1", Path(_cwd), json.load(sys.stdin))
