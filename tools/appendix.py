"""The appendix of all solutions, generated from the chapters and the notebooks.

    python tools/appendix.py            # rewrite book/appendix_solutions.md
    python tools/appendix.py --check    # only check that it is up to date

The chapters keep each solution next to its exercise (behind a toggle); the notebooks
keep the code exercises' solutions in marked regions. This tool collects both into
``book/appendix_solutions.md``, so the two can never disagree: a test checks that the
committed appendix equals :func:`render_appendix` of the committed sources. A tool for the
book's authors, not part of the package.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from tutorial_lib.exercises import EXERCISES
from tutorial_lib.exercises.notebooks import solution_regions

ROOT = Path(__file__).resolve().parents[1]  # the repository this tool lives in
APPENDIX = Path("book") / "appendix_solutions.md"
_FENCE = re.compile(r"^(?P<fence>:{3,})\{(?P<kind>exercise|solution)\}\s*(?P<arg>[^\n]*)\n"
                    r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


def _options_and_body(body: str) -> tuple[dict[str, str], str]:
    lines, options = body.splitlines(), {}
    while lines and re.match(r"^:[\w-]+:", lines[0]):
        key, _, value = lines.pop(0)[1:].partition(":")
        options[key] = value.strip()
    return options, "\n".join(lines).strip("\n")


def chapter_solutions(text: str) -> list[tuple[str, str, str]]:
    """(label, exercise title, solution body) for each exercise of a chapter with a
    solution, in the order of the exercises."""
    titles: dict[str, str] = {}
    order: list[str] = []
    solutions: dict[str, str] = {}
    for m in _FENCE.finditer(text):
        options, body = _options_and_body(m.group("body"))
        if m.group("kind") == "exercise":
            label = options.get("label")
            if label:
                titles[label] = m.group("arg").strip()
                order.append(label)
        else:
            solutions[m.group("arg").strip()] = body
    return [(label, titles[label], solutions[label]) for label in order if label in solutions]


def _title(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def render_appendix(root: str | Path = ROOT) -> str:
    """The text of the solutions appendix for the book at ``root``."""
    root = Path(root)
    out = [
        "# Solutions to the exercises",
        "",
        "Every exercise of the book with its solution, chapter by chapter: first the",
        "exercises at the end of each chapter, then the code exercises of its notebook. In",
        "the chapters the same solutions sit behind a toggle under each exercise; try the",
        "exercise first. The code exercises check themselves: run the check in the",
        "notebook, and it says what, if anything, is wrong.",
        "",
        "This page is generated from the chapters and the notebooks by",
        "`python tools/appendix.py`; edit those, not this page.",
        "",
    ]
    for chapter in sorted((root / "book").glob("ch[0-9][0-9]_*.md")):
        text = chapter.read_text(encoding="utf-8")
        number = int(chapter.stem[2:4])
        out += [f"## Chapter {number}: {_title(text)}", ""]
        for label, title, body in chapter_solutions(text):
            out += [f"### {title}", "",
                     f"Solution to {{numref}}`{label}` in {{doc}}`{chapter.stem}`.", "",
                     body, ""]
        notebook = root / "notebooks" / f"{chapter.stem}.ipynb"
        if not notebook.exists():
            continue
        nb = nbformat.read(notebook, as_version=4)
        regions = [r for r in solution_regions(nb, notebook.name) if r.cell_type == "code"]
        for region in regions:
            ex_id = region.exercises[0] if region.exercises else None
            title = EXERCISES[ex_id].title if ex_id in EXERCISES else "Code exercise"
            name = f"`{ex_id}`" if ex_id else "a code exercise"
            out += [f"### Code: {title}", "",
                    f"The body of {name} in the notebook "
                    f"{{doc}}`../notebooks/{chapter.stem}`:", "",
                    "```python", region.text, "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/appendix.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the book's repository root (default: this tool's repository)")
    parser.add_argument("--check", action="store_true",
                        help="only check that the appendix is up to date")
    args = parser.parse_args(argv)
    target = args.root / APPENDIX
    text = render_appendix(args.root)
    if args.check:
        if not target.exists() or target.read_text() != text:
            print(f"{target} is out of date: run `python tools/appendix.py`")
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
