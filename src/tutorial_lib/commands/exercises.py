"""``python -m tutorial_lib exercises``: the teacher's tools.

    exercises list                      the code exercises, chapter by chapter
    exercises student SRC DST           student versions of notebooks (solutions removed)
    exercises grade PATH... [--json F] [--csv F] [--timeout S] [--jobs N]
                                        run students' notebooks, grade their exercises

(The appendix of all solutions is written by ``python tools/appendix.py``, a tool of the
book's repository.)
"""

from __future__ import annotations

import argparse
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
        description="Run each notebook (a fresh kernel, its own process) with the checks "
                    "recording, and print a per-exercise report and a score per notebook. "
                    "A notebook that errors, crashes or runs past the time limit gets a "
                    "report line saying so.")
    grade.add_argument("paths", nargs="+", metavar="PATH",
                       help="notebooks, or folders searched for *.ipynb")
    grade.add_argument("--timeout", type=float, default=300.0,
                       help="seconds allowed per notebook (default 300)")
    grade.add_argument("--budget", default="smoke", choices=("smoke", "book", "full"),
                       help="the budget the notebooks run at (default smoke)")
    grade.add_argument("--jobs", type=int, default=1, help="notebooks run at once")
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
    from tutorial_lib.exercises.grading import format_report, grade, write_csv, write_json

    if args.timeout <= 0 or args.jobs < 1:
        raise ValueError("--timeout must be positive and --jobs at least 1")
    grades = grade(args.paths, timeout=args.timeout, budget=args.budget, jobs=args.jobs)
    print(format_report(grades))
    if args.json:
        write_json(grades, args.json)
        print(f"wrote {args.json}")
    if args.csv:
        write_csv(grades, args.csv)
        print(f"wrote {args.csv}")
    return 0
