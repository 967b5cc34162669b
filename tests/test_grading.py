"""The class grader (``exercises grade``): it decides for itself and contains each notebook.

- what is graded comes from the assignment, not from the file name or the student's calls;
- the grade is read only from the grader's own cell, behind a nonce: forged lines, report
  files and environment variables count for nothing;
- hostile or broken submissions (forging, overwriting the others, forking a daemon,
  filling memory, ``os._exit``, non-UTF-8 bytes, a cell without ``source``) are each that
  student's line, with every other grade intact;
- the reports are written after each notebook, their paths checked first, and survive
  Ctrl-C.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from tutorial_lib.cli import main
from tutorial_lib.exercises import for_chapter
from tutorial_lib.exercises import grading as grading_module
from tutorial_lib.exercises.checker import ERROR, NOT_IMPLEMENTED, PASSED
from tutorial_lib.exercises.grading import (
    NOT_REACHED,
    ExerciseGrade,
    NotebookGrade,
    _records,
    assigned_exercises,
    check_writable,
    grade,
    read_submission,
    write_csv,
    write_json,
)
from tutorial_lib.runner import Limits, NotebookRun

KL, FD = "ch04.kl_to_standard_normal", "ch11.feature_distance"
ASSIGNMENT = [KL, FD]
KL_RIGHT = ("def kl_to_standard_normal(mu, log_var):\n"
            "    return 0.5 * (mu ** 2 + log_var.exp() - log_var - 1).sum(1)")
FD_RIGHT = "def feature_distance(a, b):\n    return 0.5 * (a - b).pow(2).sum(1)"
UNANSWERED = ("def kl_to_standard_normal(mu, log_var):\n    raise NotImplementedError\n\n"
              "def feature_distance(a, b):\n    raise NotImplementedError")


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _daemon(pid_file: Path, then: str) -> str:
    """A cell that starts a daemon (double fork, new session, out of the folder, a clean
    environment) which writes its pid, waits 20 s, then runs ``then``."""
    code = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
            f"time.sleep(20); {then}")
    return ("import os, sys, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        os.chdir('/')\n"
            f"        os.execve(sys.executable, [sys.executable, '-c', {code!r}], {{}})\n"
            "    os._exit(0)\n"
            f"while not os.path.exists({str(pid_file)!r}):\n"
            "    time.sleep(0.1)")


# ------------------------------------------------------------ what is graded, and how read
def test_the_assignment_says_what_is_graded(tmp_path: Path) -> None:
    assert assigned_exercises(chapters=[4]) == [ex.id for ex in for_chapter(4)]
    assert assigned_exercises(exercises=[FD, KL, FD]) == [FD, KL]
    master = _notebook(tmp_path / "teacher.ipynb", f'check("{FD}", feature_distance)')
    assert assigned_exercises(chapters=[4], master=master) == [
        *(ex.id for ex in for_chapter(4)), FD]
    with pytest.raises(ValueError, match="unknown exercise 'ch04.nope'"):
        assigned_exercises(exercises=["ch04.nope"])
    with pytest.raises(ValueError, match="grades no exercise"):
        assigned_exercises()


def test_a_submission_is_read_into_a_clean_copy_or_refused_with_the_reason(
        tmp_path: Path) -> None:
    raw = {"cells": [{"cell_type": "code", "metadata": {}},  # no source at all
                     {"cell_type": "code", "source": ["a = 1\n", "b = 2"]},
                     {"cell_type": "code", "source": 42}, "not a cell",
                     {"cell_type": "markdown", "source": "# title"}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "odd.ipynb").write_text(json.dumps(raw))
    nb = read_submission(tmp_path / "odd.ipynb")
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        ("code", ""), ("code", "a = 1\nb = 2"), ("code", ""), ("markdown", ""),
        ("markdown", "# title")]
    nbformat.validate(nb)
    (tmp_path / "latin1.ipynb").write_bytes(b'{"cells": [], "x": "caf\xe9"}')
    for name, content, message in [
            ("latin1.ipynb", None, r"not UTF-8 text \(byte 0xe9 at offset 23\)"),
            ("empty.ipynb", "{}", "no list of cells"),
            ("list.ipynb", "[]", "no list of cells"),
            ("broken.ipynb", "{ not json", "not JSON")]:
        if content is not None:
            (tmp_path / name).write_text(content)
        with pytest.raises(ValueError, match=message):
            read_submission(tmp_path / name)


def _run(*cells: list[dict]) -> NotebookRun:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("") for _ in cells])
    for cell, outputs in zip(nb.cells, cells, strict=True):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t)
                        for t in outputs]
    return NotebookRun(Path("x.ipynb"), 1.0, None, nb, (), None, False)


def test_only_the_graders_own_cell_behind_its_nonce_is_read() -> None:
    forged = json.dumps([{"exercise": KL, "status": PASSED, "message": "forged"}])
    honest = json.dumps([{"exercise": KL, "status": NOT_IMPLEMENTED, "message": "todo"},
                         {"exercise": "ch09.frechet_distance", "status": PASSED,
                          "message": "not assigned"},
                         {"exercise": FD, "status": "excellent", "message": "bad status"}])
    run = _run(["n0nce" + forged + "\n", forged + "\n"],  # the student's cell, even knowing
               ["n0nce" + honest + "\n"])  # a nonce, cannot write into the grader's cell
    assert _records(run, "n0nce", ASSIGNMENT) == {
        KL: ExerciseGrade(KL, NOT_IMPLEMENTED, "todo")}
    assert _records(_run([forged + "\n"]), "n0nce", ASSIGNMENT) == {}
    assert _records(_run(["n0nce{not json\n"]), "n0nce", ASSIGNMENT) == {}
    assert _records(_run(["n0nce" + json.dumps({"x": 1}) + "\n"]), "n0nce", ASSIGNMENT) == {}


# ------------------------------------------------------------ one failure is one line
def _fake_grades(monkeypatch, fail: dict[str, BaseException]) -> list[threading.Event]:
    """grade_notebook replaced: notebooks named in ``fail`` raise; the others pass."""
    events = []

    def fake(path, exercises, timeout, budget, limits, cancel, submission):
        events.append(cancel)
        if Path(path).name in fail:
            raise fail[Path(path).name]
        return NotebookGrade(str(path), "ran without errors", 0.1,
                             [ExerciseGrade(e, PASSED, "correct") for e in exercises])

    monkeypatch.setattr(grading_module, "grade_notebook", fake)
    return events


def test_a_grader_failure_on_one_notebook_is_that_notebooks_line(tmp_path, monkeypatch
                                                                 ) -> None:
    for name in "abcd":
        _notebook(tmp_path / f"{name}.ipynb", "pass")
    _fake_grades(monkeypatch, {"b.ipynb": RuntimeError("boom"), "c.ipynb": KeyError("k")})
    seen = []
    grades = grade([tmp_path], ASSIGNMENT, jobs=2, on_grade=seen.append)
    assert [Path(g.notebook).name for g in grades] == ["a.ipynb", "b.ipynb", "c.ipynb",
                                                       "d.ipynb"]
    assert [g.passed for g in grades] == [2, 0, 0, 2]
    assert grades[1].status == "could not grade: RuntimeError: boom"
    assert {e.status for e in grades[2].exercises} == {ERROR}
    assert sorted(g.notebook for g in seen) == sorted(g.notebook for g in grades)


def test_an_interrupt_stops_the_running_notebooks_after_the_finished_are_reported(
        tmp_path, monkeypatch) -> None:
    for name in "abc":
        _notebook(tmp_path / f"{name}.ipynb", "pass")
    events = _fake_grades(monkeypatch, {})
    seen = []

    def on_grade(g: NotebookGrade) -> None:
        seen.append(g)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        grade([tmp_path], ASSIGNMENT, jobs=1, on_grade=on_grade)
    assert len(seen) == 2 and events and all(e.is_set() for e in events)


def test_reports_are_checked_before_grading_and_keep_every_message(tmp_path, monkeypatch,
                                                                   capsys) -> None:
    _notebook(tmp_path / "a.ipynb", "pass")
    _fake_grades(monkeypatch, {"a.ipynb": AssertionError("graded before the checks")})
    assert main(["exercises", "grade", str(tmp_path / "a.ipynb"), "--chapter", "4",
                 "--json", str(tmp_path / "missing" / "g.json")]) == 2
    assert "the folder" in capsys.readouterr().err
    assert main(["exercises", "grade", str(tmp_path / "a.ipynb"), "--chapter", "4",
                 "--csv", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["exercises", "grade", str(tmp_path / "a.ipynb")]) == 2
    assert "grades no exercise" in capsys.readouterr().err
    assert main(["exercises", "grade", str(tmp_path / "a.ipynb"), "--chapter", "4",
                 "--memory-mb", "0"]) == 2
    assert check_writable(tmp_path / "g.json") == tmp_path / "g.json"

    grades = [NotebookGrade("a.ipynb", "ran without errors", 1.0,
                            [ExerciseGrade(KL, PASSED, "correct"),
                             ExerciseGrade(FD, NOT_REACHED, 'no function "x", "y"')])]
    write_json(grades, tmp_path / "g.json")
    write_csv(grades, tmp_path / "g.csv")
    report = json.loads((tmp_path / "g.json").read_text())
    assert report[0]["exercises"][1]["message"] == 'no function "x", "y"'
    assert report[0]["passed"] == 1 and report[0]["total"] == 2
    rows = list(csv.DictReader((tmp_path / "g.csv").open(encoding="utf-8")))
    assert [r["message"] for r in rows] == ["correct", 'no function "x", "y"', "50.0%"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "g.csv", "g.json"]


# ------------------------------------------------------------ a hostile class, for real
@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_hostile_and_broken_notebooks_leave_every_other_grade_intact(tmp_path: Path) -> None:
    cls, out = tmp_path / "class", tmp_path / "out"
    cls.mkdir()
    out.mkdir()
    right = (KL_RIGHT, FD_RIGHT)
    forged = json.dumps({"exercise": KL, "status": PASSED, "message": "forged"})
    _notebook(cls / "alice.ipynb", "from tutorial_lib.exercises import check", *right,
              f'check("{KL}", kl_to_standard_normal)')
    _notebook(cls / "bob_vae.ipynb", *right)  # the file name does not choose the exercises
    _notebook(cls / "forger.ipynb", UNANSWERED,
              f"import os\nprint({forged!r})\nprint({forged!r})\n"
              "open(os.environ['TUTORIAL_EXERCISE_REPORT'], 'a').write("
              f"{forged!r} + '\\n')\nos.environ['TUTORIAL_EXERCISE_REPORT'] = 'x'")
    _notebook(cls / "vandal.ipynb", *right,  # overwrites the others, by path and around it
              "import glob, os\n"
              f"for p in glob.glob({str(cls / '*.ipynb')!r}) + glob.glob('../*/*.ipynb') "
              "+ glob.glob('*.ipynb'):\n"
              f"    open(p, 'w').write({json.dumps(nbformat.writes(nbformat.v4.new_notebook()))})")
    _notebook(cls / "forker.ipynb", *right,
              _daemon(out / "daemon.pid", f"open({str(out / 'grades.json')!r}, 'w')"
                                          ".write('forged')"))
    _notebook(cls / "hog.ipynb", *right,
              "import numpy as np\nblocks = [np.empty(100_000_000, np.uint8) "
              "for _ in range(1000)]")
    _notebook(cls / "exits.ipynb", *right, "import os\nos._exit(0)")
    _notebook(cls / "syntax.ipynb", "def kl_to_standard_normal(mu, log_var):\n    return (((",
              FD_RIGHT)
    (cls / "latin1.ipynb").write_bytes(b'{"cells": [], "note": "caf\xe9"}')
    nosource = json.loads(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in ("", *right)])))
    del nosource["cells"][0]["source"]
    (cls / "nosource.ipynb").write_text(json.dumps(nosource))

    start = time.monotonic()
    grades = {Path(g.notebook).name: g for g in grade(
        [cls], ASSIGNMENT, timeout=120, jobs=2,
        limits=Limits(cpu_seconds=240, memory_bytes=3_000_000_000, processes=64),
        on_grade=lambda g: write_json([g], out / "grades.json"))}
    seconds = time.monotonic() - start

    def statuses(name: str) -> list[str]:
        return [e.status for e in grades[name].exercises]

    for name in ("alice.ipynb", "bob_vae.ipynb", "vandal.ipynb", "forker.ipynb",
                 "hog.ipynb", "nosource.ipynb"):
        assert statuses(name) == [PASSED, PASSED], (name, grades[name])
    assert grades["alice.ipynb"].status == "ran without errors"
    assert statuses("forger.ipynb") == [NOT_IMPLEMENTED, NOT_IMPLEMENTED]
    assert "errors in 1 cell(s)" in grades["hog.ipynb"].status
    assert grades["exits.ipynb"].status.startswith("the kernel died")
    assert statuses("exits.ipynb") == [ERROR, ERROR]
    assert statuses("syntax.ipynb") == [ERROR, PASSED]
    assert "its cell (1) raised SyntaxError" in grades["syntax.ipynb"].exercises[0].message
    assert grades["latin1.ipynb"].status.startswith("could not read the notebook: not UTF-8")
    assert statuses("latin1.ipynb") == [ERROR, ERROR]
    daemon = int((out / "daemon.pid").read_text())
    assert not _alive(daemon), "the forked daemon outlived its notebook"
    time.sleep(1)
    assert (out / "grades.json").read_text() != "forged"
    assert not list(cls.glob("../grade-*")) and seconds < 400


@pytest.mark.slow
def test_a_notebook_that_loops_costs_its_time_limit_and_is_reported(tmp_path: Path) -> None:
    _notebook(tmp_path / "loops.ipynb", "while True:\n    pass")
    [looped] = grade([tmp_path], ASSIGNMENT, timeout=20)
    assert looped.status == "timed out after 20 s (while running cell 1)"
    assert [e.status for e in looped.exercises] == [NOT_REACHED, NOT_REACHED]
    assert all("ran out of time (limit 20 s)" in e.message for e in looped.exercises)
    assert looped.seconds < 60


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_ctrl_c_keeps_the_grades_of_the_finished_notebooks(tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    _notebook(cls / "a_quick.ipynb", KL_RIGHT, FD_RIGHT)
    _notebook(cls / "b_slow.ipynb",
              f"import os, time\nopen({str(tmp_path / 'slow.pid')!r}, 'w')"
              ".write(str(os.getpid()))\ntime.sleep(300)")
    report = tmp_path / "grades.json"
    env = dict(os.environ, PYTHONPATH=str(Path(grading_module.__file__).parents[2]))
    grader = subprocess.Popen(
        [sys.executable, "-m", "tutorial_lib", "exercises", "grade", str(cls),
         "--exercises", f"{KL},{FD}", "--json", str(report), "--timeout", "280"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 200
    while not (tmp_path / "slow.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    grader.send_signal(signal.SIGINT)
    out, err = grader.communicate(timeout=60)
    assert grader.returncode == 130, err
    assert "interrupted: 1 of 2 notebook(s) graded" in err
    grades = json.loads(report.read_text())
    assert [(Path(g["notebook"]).name, g["passed"]) for g in grades] == [("a_quick.ipynb", 2)]
    time.sleep(0.5)
    assert not _alive(int((tmp_path / "slow.pid").read_text()))
