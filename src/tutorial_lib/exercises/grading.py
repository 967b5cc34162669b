"""Grading a class's notebooks: run each one contained, then check its functions.

Which exercises are graded comes from the assignment (:func:`assigned_exercises`: chapters,
exercise ids, or the teacher's own notebook), never from the student's file name or from
the ``check(...)`` calls the student left in. For each submission the grader

1. reads the file itself (a file that is not UTF-8 JSON of a notebook, or a cell without
   a ``source``, is that student's error, or an empty cell);
2. writes a clean copy into a private scratch folder (a new temporary folder per
   submission), and runs it there with the book's runner (:func:`tutorial_lib.runner.
   run_notebook`): a fresh kernel in that folder, a scrubbed environment, resource limits
   (CPU seconds, address space, processes), a time limit, and the whole process tree
   killed at the limit and when the run ends;
3. after the student's cells, runs one cell of its own in the same kernel: for each
   assigned exercise it calls the checker on the function of that name, and prints one
   line, a JSON record prefixed by a random nonce;
4. reads that line from the output of *its own cell*, as the kernel sent it to the runner.

Why this channel: the nonce is made in the grader's process and reaches the kernel only
with the grader's cell, through a pipe, after every student cell has run; it is never in
a file, an argument or a variable the student's code could see earlier. Lines that the
student's cells print, files they write, an environment variable: none of them is read.
The checks run in the student's kernel because the exercises check functions that close
over the notebook's state and, for some, their gradients. What that leaves open is said in
the README ("Teaching with it"): code that deliberately patches the checker or IPython
inside its own kernel, or calls the reference solution, is not caught by running it.

A dead kernel is reported as dead; one submission's failure, of any kind, is that
student's line in the report and never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from tutorial_lib.exercises import REPORT_ENV, for_chapter, get_exercise
from tutorial_lib.exercises.checker import ERROR, FAILED, NOT_IMPLEMENTED, PASSED
from tutorial_lib.exercises.notebooks import exercise_ids
from tutorial_lib.runner import Limits, NotebookRun, run_notebook

NOT_REACHED = "not reached"
STATUSES = (PASSED, FAILED, NOT_IMPLEMENTED, ERROR, NOT_REACHED)
MAX_BYTES = 50_000_000  # a submission larger than this is not read
SUBMISSION = "submission.ipynb"  # the copy's name in its scratch folder

# The grader's cell: runs in the student's kernel after the student's cells. __IDS__ and
# __NONCE__ are replaced by JSON literals.
_CHECKS = '''\
def _grader_checks(ids, nonce):
    import json, sys
    from tutorial_lib.exercises import get_exercise
    from tutorial_lib.exercises.checker import ERROR, run_check
    namespace, records = get_ipython().user_ns, []
    for exercise_id in ids:
        exercise = get_exercise(exercise_id)
        fn = namespace.get(exercise.function_name)
        if fn is None:
            status, message = "not reached", f"no function `{exercise.function_name}`"
        else:
            try:
                result = run_check(exercise, fn)
                status, message = result.status, result.message
            except BaseException as err:
                status, message = ERROR, f"checking it raised {type(err).__name__}: {err}"
        records.append({"exercise": exercise_id, "status": status, "message": message})
    sys.stdout.write(nonce + json.dumps(records) + "\\n")
    sys.stdout.flush()

_grader_checks(__IDS__, __NONCE__)
'''


@dataclass
class ExerciseGrade:
    exercise: str
    status: str  # passed | failed | not implemented | error | not reached
    message: str

    @property
    def points(self) -> int:
        return int(self.status == PASSED)


@dataclass
class NotebookGrade:
    notebook: str
    status: str  # "ran without errors", "errors in N cell(s)", "timed out ...", "the
    # kernel died ...", "could not read the notebook: ...", "could not grade: ..."
    seconds: float
    exercises: list[ExerciseGrade] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def total(self) -> int:
        return len(self.exercises)

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "total": self.total,
                "score": round(self.score, 4)}


def assigned_exercises(chapters: Sequence[int] = (), exercises: Sequence[str] = (),
                       master: str | Path | None = None) -> list[str]:
    """The exercise ids an assignment grades, in order, without repeats: every exercise
    of ``chapters``, the ``exercises`` named, and those the teacher's ``master`` notebook
    checks. Raises ValueError for an unknown id or chapter, or an empty assignment."""
    ids: list[str] = []
    for chapter in chapters:
        ids += [ex.id for ex in for_chapter(chapter)]
    for exercise_id in exercises:
        try:
            ids.append(get_exercise(exercise_id).id)
        except KeyError as err:
            raise ValueError(err.args[0]) from err
    if master is not None:
        ids += exercise_ids(nbformat.read(Path(master), as_version=4))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValueError("the assignment grades no exercise: give chapters, exercise ids, "
                         "or a teacher's notebook whose cells call check(...)")
    return ids


def default_limits(timeout: float) -> Limits:
    """The kernel's limits for a submission allowed ``timeout`` seconds: twice that in CPU
    seconds (a kernel may use two threads), 4 GB of address space, 64 more processes."""
    return Limits(cpu_seconds=math.ceil(2 * timeout), memory_bytes=4_000_000_000,
                  processes=64)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """A clean copy of the notebook at ``path``: its code and markdown cells, each
    ``source`` a string (a missing or malformed one becomes empty), no outputs.
    Raises ValueError with what is wrong for a file that is not a readable notebook."""
    if not path.is_file():
        raise ValueError("not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1_000_000} MB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
                         f"{err.start})") from err
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err})") from err
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list):
        raise ValueError("not a Jupyter notebook (no list of cells)")
    clean = nbformat.v4.new_notebook()
    for cell in cells:
        cell = cell if isinstance(cell, dict) else {}
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        source = source if isinstance(source, str) else ""
        if cell.get("cell_type") == "code":
            clean.cells.append(nbformat.v4.new_code_cell(source))
        else:
            clean.cells.append(nbformat.v4.new_markdown_cell(source))
    return clean


def _records(run: NotebookRun, nonce: str, expected: list[str]) -> dict[str, ExerciseGrade]:
    """The grader's records, from the outputs of its own (last) cell only."""
    if run.notebook is None or not run.notebook.cells:
        return {}
    text = "".join(o.get("text", "") for o in run.notebook.cells[-1].get("outputs", [])
                   if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(nonce)), None)
    if line is None:
        return {}
    try:
        records = json.loads(line[len(nonce):])
    except json.JSONDecodeError:
        return {}
    found = {}
    for r in records if isinstance(records, list) else []:
        if (isinstance(r, dict) and r.get("exercise") in expected
                and r.get("status") in STATUSES and isinstance(r.get("message"), str)):
            found[r["exercise"]] = ExerciseGrade(r["exercise"], r["status"], r["message"])
    return found


def _cell_of(nb: nbformat.NotebookNode, function_name: str) -> int | None:
    """The index of the code cell that defines ``function_name``, if one does."""
    pattern = re.compile(rf"^\s*def\s+{re.escape(function_name)}\s*\(", re.MULTILINE)
    return next((i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and pattern.search(c.source)), None)


def _run_status(run: NotebookRun, timeout: float) -> str:
    errors = [c for c in run.cells if c.error]
    if run.timed_out:
        return f"timed out after {timeout:g} s (while running cell {len(run.cells) + 1})"
    if run.error and ("DeadKernelError" in run.error or "Kernel died" in run.error
                      or "kernel died" in run.error.lower()):
        return f"the kernel died (killed, out of memory or CPU time, or os._exit): {run.error}"
    if run.error:
        return f"stopped: {run.error}"
    return f"errors in {len(errors)} cell(s)" if errors else "ran without errors"


def _missing(exercise: str, run: NotebookRun, status: str, timeout: float) -> ExerciseGrade:
    """The grade of an exercise the grader's cell did not report: say why."""
    if run.timed_out:
        return ExerciseGrade(exercise, NOT_REACHED, f"the notebook ran out of time (limit "
                                                    f"{timeout:g} s) before the checks ran")
    if status.startswith("the kernel died"):
        return ExerciseGrade(exercise, ERROR, "the kernel died before the checks ran")
    return ExerciseGrade(exercise, ERROR, f"the grader's checks did not report ({status}); "
                                          "did the notebook replace sys.stdout or exit?")


def _explain(grade: ExerciseGrade, nb: nbformat.NotebookNode, run: NotebookRun
             ) -> ExerciseGrade:
    """A function that is not defined: say which cell raised, where one did."""
    if grade.status != NOT_REACHED:
        return grade
    cell = _cell_of(nb, get_exercise(grade.exercise).function_name)
    error = next((c.error for c in run.cells if cell is not None and c.index == cell), None)
    if error:
        status = NOT_IMPLEMENTED if "NotImplementedError" in error else ERROR
        return ExerciseGrade(grade.exercise, status, f"its cell ({cell + 1}) raised {error}")
    if cell is None:
        return ExerciseGrade(grade.exercise, NOT_REACHED,
                             f"{grade.message}: the notebook defines no such function")
    return grade


def _read(path: Path) -> nbformat.NotebookNode | str:
    """The submission's clean copy, or why it could not be read."""
    try:
        return read_submission(path)
    except (OSError, ValueError) as err:
        return f"could not read the notebook: {err}"


def grade_notebook(path: str | Path, exercises: Sequence[str], timeout: float = 300.0,
                   budget: str = "smoke", limits: Limits | None = None,
                   cancel: threading.Event | None = None,
                   submission: nbformat.NotebookNode | str | None = None) -> NotebookGrade:
    """Run one submission contained (see the module docstring) and grade ``exercises``.
    ``submission``: the notebook as read before (by :func:`grade`, before any notebook
    ran), or why it could not be read; default: read ``path`` now. Never raises for
    anything the notebook does or holds."""
    path = Path(path).absolute()
    expected = list(exercises)
    nb = _read(path) if submission is None else submission
    if isinstance(nb, str):
        return NotebookGrade(str(path), nb, 0.0,
                             [ExerciseGrade(e, ERROR, "the notebook could not be read")
                              for e in expected])
    nonce = secrets.token_hex(16)
    cell = _CHECKS.replace("__IDS__", json.dumps(expected)).replace("__NONCE__",
                                                                    json.dumps(nonce))
    scratch = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        nbformat.write(nb, scratch / SUBMISSION)
        env = {"TUTORIAL_BUDGET": budget, "TUTORIAL_STATIC_WIDGETS": "1", "MPLBACKEND": "Agg",
               "PYTHONUNBUFFERED": "1",
               # check() in grading mode: it records (nowhere) instead of raising, so that a
               # wrong answer does not stop the rest; the grader's own cell decides
               REPORT_ENV: os.devnull}
        run = run_notebook(scratch / SUBMISSION, timeout=timeout, cell_timeout=timeout,
                           env=env, allow_errors=True, folder=scratch, scrub_env=True,
                           limits=limits or default_limits(timeout), extra_cells=[cell],
                           cancel=cancel, notebook=nb)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    status = _run_status(run, timeout)
    found = _records(run, nonce, expected)
    grades = [_explain(found[e], nb, run) if e in found
              else _missing(e, run, status, timeout) for e in expected]
    return NotebookGrade(str(path), status, run.seconds, grades)


def find_notebooks(paths: Sequence[str | Path]) -> list[Path]:
    """Notebooks named directly, or found under folders (checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"{p}: not a notebook (.ipynb) or a folder of notebooks")
    if not found:
        raise ValueError("no notebooks to grade in " + ", ".join(map(str, paths)))
    return found


def _grade_safely(path: Path, exercises: Sequence[str], timeout: float, budget: str,
                  limits: Limits | None, cancel: threading.Event,
                  submission: nbformat.NotebookNode | str) -> NotebookGrade:
    try:
        return grade_notebook(path, exercises, timeout, budget, limits, cancel, submission)
    except Exception as err:  # noqa: BLE001 -- one submission's failure is its own line
        return NotebookGrade(str(Path(path).absolute()),
                             f"could not grade: {type(err).__name__}: {err}", 0.0,
                             [ExerciseGrade(e, ERROR, "the grader failed on this notebook")
                              for e in exercises])


def grade(paths: Sequence[str | Path], exercises: Sequence[str], timeout: float = 300.0,
          budget: str = "smoke", jobs: int = 1, limits: Limits | None = None,
          on_grade: Callable[[NotebookGrade], None] | None = None) -> list[NotebookGrade]:
    """Grade every notebook under ``paths`` on ``exercises`` (``jobs`` at a time), calling
    ``on_grade`` with each grade as soon as it is known. Every submission is read before
    the first one runs, so that none can change another's file before it is graded. On
    Ctrl-C (KeyboardInterrupt) the
    running notebooks are stopped and the interrupt raised again; every grade finished
    before it has gone to ``on_grade``."""
    if not exercises:
        raise ValueError("exercises: expected at least one exercise id to grade")
    if timeout <= 0 or jobs < 1:
        raise ValueError(f"timeout must be positive and jobs at least 1, got {timeout} "
                         f"and {jobs}")
    notebooks = find_notebooks(paths)
    submissions = {p: _read(p) for p in notebooks}
    cancel = threading.Event()
    done: dict[Path, NotebookGrade] = {}
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(_grade_safely, p, exercises, timeout, budget, limits,
                               cancel, submissions[p]): p for p in notebooks}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if on_grade is not None:
                on_grade(done[futures[future]])
    except BaseException:
        cancel.set()  # stop the kernels still running: their grades are not kept
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [done[p] for p in notebooks]


def format_report(grades: Sequence[NotebookGrade]) -> str:
    lines = []
    for g in grades:
        lines.append(f"{g.notebook}: {g.passed}/{g.total} ({100 * g.score:.0f}%) -- "
                     f"{g.status}, {g.seconds:.0f} s")
        for e in g.exercises:
            lines.append(f"  {e.exercise:<38} {e.status:<16} {e.message}")
    if len(grades) > 1:
        mean = sum(g.score for g in grades) / len(grades)
        lines.append(f"{len(grades)} notebooks, mean score {100 * mean:.0f}%")
    return "\n".join(lines)


def check_writable(path: str | Path) -> Path:
    """``path`` if a report can be written there (its folder exists and is writable, and
    it is not a folder); else a ValueError that says which. Checked before grading."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; expected a file name for the report")
    if not path.parent.is_dir():
        raise ValueError(f"{path}: the folder {path.parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".grades-check-"):
            pass
    except OSError as err:
        raise ValueError(f"{path}: cannot write in {path.parent} ({err})") from err
    return path


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``:
    an interrupt leaves the previous complete report, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(grades: Sequence[NotebookGrade], path: str | Path) -> None:
    """The report as a JSON list, one object per notebook, its exercises with messages."""
    _replace(Path(path), json.dumps([g.to_dict() for g in grades], indent=2) + "\n")


def write_csv(grades: Sequence[NotebookGrade], path: str | Path) -> None:
    """One row per exercise (notebook, exercise, status, points, message), then one
    ``TOTAL`` row per notebook with its run's status and its score."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["notebook", "exercise", "status", "points", "message"])
    for g in grades:
        for e in g.exercises:
            writer.writerow([g.notebook, e.exercise, e.status, e.points, e.message])
        writer.writerow([g.notebook, "TOTAL", g.status, f"{g.passed}/{g.total}",
                         f"{100 * g.score:.1f}%"])
    _replace(Path(path), out.getvalue())
