"""``python -m tutorial_lib exercises``: the teacher's tools.

    exercises list                      the code exercises, chapter by chapter
    exercises student SRC DST           student versions of notebooks (solutions removed)
    exercises grade PATH... (--chapter N | --exercises ID,ID | --master NB)
                    [--json F] [--csv F] [--timeout S] [--jobs N] [--memory-mb M]
                                        run students' notebooks, each contained in a
                                        scratch folder with limits, and grade the
                                        assignment's exercises

(The appendix of all solutions is written by ``python tools/appendix.py``, a tool of the
book's repository.)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("exercises", help="list, make student versions, grade",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="the code exercises, chapter by chapter")
    listing.set_defaults(run=run_list)

    student = sub.add_parser(
        "student", help="write student versions: solution regions removed, checks kept")
    student.add_argument("src", help="a notebook, or a folder of notebooks (e.g. notebooks)")
    student.add_argument("dst", help="the folder to write the student versions into")
    student.set_defaults(run=run_student)

    grade = sub.add_parser(
        "grade", help="run students' notebooks and grade their exercises",
        description="Run each notebook on a private copy in its own scratch folder (a fresh "
                    "kernel, a scrubbed environment, limits on time, CPU, memory and "
                    "processes), then check the assignment's exercises on its functions; "
                    "print a per-exercise report and a score per notebook. A notebook "
                    "that errors, crashes, dies or runs past the time limit gets a report "
                    "line saying so. The JSON and CSV are rewritten after each notebook. "
                    "Not a container: run untrusted notebooks inside one (see the README).")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="notebooks, or folders searched for *.ipynb")
    what = grade.add_argument_group("the assignment (at least one; the file names do not "
                                    "count)")
    what.add_argument("--chapter", type=int, action="append", default=[], metavar="N",
                      help="grade every exercise of chapter N (repeatable)")
    what.add_argument("--exercises", default="", metavar="ID,ID",
                      help="grade these exercise ids, e.g. ch04.kl_to_standard_normal")
    what.add_argument("--master", type=Path, metavar="NOTEBOOK",
                      help="grade the exercises that the teacher's notebook checks")
    grade.add_argument("--timeout", type=float, default=300.0,
                       help="seconds allowed per notebook (default 300)")
    grade.add_argument("--budget", default="smoke", choices=("smoke", "book", "full"),
                       help="the budget the notebooks run at (default smoke)")
    grade.add_argument("--jobs", type=int, default=1, help="notebooks run at once")
    grade.add_argument("--memory-mb", type=int, default=4000,
                       help="address space allowed to each kernel, in MB (default 4000)")
    grade.add_argument("--json", type=Path, help="also write the report as JSON here")
    grade.add_argument("--csv", type=Path, help="also write the report as CSV here")
    grade.set_defaults(run=run_grade)


def run_list(args: argparse.Namespace) -> int:
    from tutorial_lib.exercises import EXERCISES

    for ex in EXERCISES.values():
        print(f"{ex.id:<38} {ex.signature:<62} {ex.title}")
    return 0


def run_student(args: argparse.Namespace) -> int:
    from tutorial_lib.exercises.notebooks import write_student_versions

    written = write_student_versions(args.src, args.dst)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} student notebook(s) in {Path(args.dst).resolve()}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from tutorial_lib.exercises.grading import (
        assigned_exercises,
        check_writable,
        default_limits,
        find_notebooks,
        format_report,
        grade,
        write_csv,
        write_json,
    )
    if args.timeout <= 0 or args.jobs < 1 or args.memory_mb < 1:
        raise ValueError(f"--timeout and --memory-mb must be positive and --jobs at least "
                         f"1, got {args.timeout:g}, {args.memory_mb} and {args.jobs}")
    exercises = assigned_exercises(args.chapter, [e for e in args.exercises.split(",") if e],
                                   args.master)
    # everything that can fail is checked before the first notebook runs
    outputs = [check_writable(p) for p in (args.json, args.csv) if p is not None]
    notebooks = find_notebooks(args.paths)
    limits = dataclasses.replace(default_limits(args.timeout),
                                 memory_bytes=args.memory_mb * 1_000_000)
    finished = []

    def save(result) -> None:  # after each notebook, so that an interrupt keeps them
        finished.append(result)
        print(f"graded {len(finished)}/{len(notebooks)}: {result.notebook} "
              f"{result.passed}/{result.total}", flush=True)
        if args.json:
            write_json(finished, args.json)
        if args.csv:
            write_csv(finished, args.csv)

    try:
        grades = grade(notebooks, exercises, timeout=args.timeout, budget=args.budget,
                       jobs=args.jobs, limits=limits, on_grade=save)
    except KeyboardInterrupt:
        print(f"interrupted: {len(finished)} of {len(notebooks)} notebook(s) graded"
              + (f"; their grades are in {', '.join(map(str, outputs))}" if outputs else ""),
              file=sys.stderr)
        return 130
    print(format_report(grades))
    for path, write in ((args.json, write_json), (args.csv, write_csv)):
        if path:
            write(grades, path)  # in the order the notebooks were given
            print(f"wrote {path}")
    return 0
