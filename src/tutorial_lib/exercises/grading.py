"""Grading students' notebooks: run each one, collect its exercise checks, score it.

Each notebook runs with the book's notebook runner (:func:`tutorial_lib.runner.run_notebook`:
its own process, a fresh Jupyter kernel in this Python environment), at the smoke budget
unless told otherwise, with a time limit; the process group is killed when the limit
passes, so a notebook that loops forever costs its limit and no more. Cells run on after
an error, so one broken exercise does not hide the others. The checks write their results
to a file (``TUTORIAL_EXERCISE_REPORT``), which survives a crash or a kill; exercises that
never reported get a line saying why (the cell error, or the time limit).
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from tutorial_lib.exercises import REPORT_ENV, for_chapter
from tutorial_lib.exercises.checker import ERROR, NOT_IMPLEMENTED, PASSED
from tutorial_lib.exercises.notebooks import CHECK_CALL, exercise_ids
from tutorial_lib.runner import read_jsonl, run_notebook

NOT_REACHED = "not reached"


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
    status: str  # "ran", "errors in N cells", "timed out after S s", "could not run"
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


def expected_exercises(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """The exercises a notebook is graded on: its chapter's (from a ``chNN`` file name,
    e.g. ``ch04_vae.ipynb`` or ``alice_ch04_vae.ipynb``) and any it checks itself."""
    ids = []
    match = re.search(r"(?:^|[^0-9a-z])ch(\d\d)(?:[^0-9]|$)", path.stem.lower())
    if match:
        ids = [ex.id for ex in for_chapter(int(match.group(1)))]
    return ids + [i for i in exercise_ids(nb) if i not in ids]


def _cell_of(nb: nbformat.NotebookNode, exercise: str) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and exercise in CHECK_CALL.findall(cell.source):
            return index
    return None


def grade_notebook(path: str | Path, timeout: float = 300.0, budget: str = "smoke"
                   ) -> NotebookGrade:
    """Run one notebook with its checks recording, and grade it. Never raises for the
    notebook's own errors, loops or crashes."""
    path = Path(path).resolve()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 -- any unreadable file is one report line
        return NotebookGrade(str(path), f"could not read the notebook: {err}", 0.0)
    expected = expected_exercises(path, nb)
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        report = Path(tmp) / "checks.jsonl"
        env = {REPORT_ENV: str(report), "TUTORIAL_BUDGET": budget,
               "TUTORIAL_STATIC_WIDGETS": "1", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        run = run_notebook(path, timeout=timeout, cell_timeout=timeout, env=env,
                           allow_errors=True)
        checks = read_jsonl(report)
    errors = [c for c in run.cells if c.error]
    timed_out = run.timed_out
    if timed_out:
        last = run.cells[-1].index + 1 if run.cells else 0
        status = f"timed out after {timeout:g} s (while running cell {last + 1})"
    elif run.error:  # the kernel could not start, or died
        status = f"could not run: {run.error}" if not run.cells else f"stopped: {run.error}"
    else:
        status = f"errors in {len(errors)} cell(s)" if errors else "ran without errors"
    latest = {c["exercise"]: c for c in checks}  # the last check of each exercise counts
    grades = []
    for exercise in expected:
        if exercise in latest:
            c = latest[exercise]
            grades.append(ExerciseGrade(exercise, c["status"], c["message"]))
            continue
        cell = _cell_of(nb, exercise)
        error = next((e.error for e in errors if e.index == cell), None)
        if error:
            message = f"its cell ({cell + 1}) raised {error}"
            status_ = NOT_IMPLEMENTED if "NotImplementedError" in error else ERROR
        elif cell is None:
            message, status_ = "no check(...) call for this exercise in the notebook", \
                NOT_REACHED
        elif timed_out:
            message, status_ = f"the notebook ran out of time (limit {timeout:g} s) before " \
                               f"cell {cell + 1}", NOT_REACHED
        else:
            first = errors[0] if errors else None
            why = (f"; the first error was in cell {first.index + 1}: {first.error}"
                   if first else "")
            message, status_ = f"the check in cell {cell + 1} never ran{why}", NOT_REACHED
        grades.append(ExerciseGrade(exercise, status_, message))
    return NotebookGrade(str(path), status, run.seconds, grades)


def find_notebooks(paths: list[str | Path]) -> list[Path]:
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


def grade(paths: list[str | Path], timeout: float = 300.0, budget: str = "smoke",
          jobs: int = 1) -> list[NotebookGrade]:
    """Grade every notebook (``jobs`` at a time)."""
    notebooks = find_notebooks(paths)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda p: grade_notebook(p, timeout, budget), notebooks))


def format_report(grades: list[NotebookGrade]) -> str:
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


def write_json(grades: list[NotebookGrade], path: str | Path) -> None:
    Path(path).write_text(json.dumps([g.to_dict() for g in grades], indent=2) + "\n")


def write_csv(grades: list[NotebookGrade], path: str | Path) -> None:
    """One row per exercise (notebook, exercise, status, points, message), then one
    ``TOTAL`` row per notebook with its score."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "exercise", "status", "points", "message"])
        for g in grades:
            for e in g.exercises:
                writer.writerow([g.notebook, e.exercise, e.status, e.points, e.message])
            writer.writerow([g.notebook, "TOTAL", g.status, f"{g.passed}/{g.total}",
                             f"{100 * g.score:.1f}%"])
