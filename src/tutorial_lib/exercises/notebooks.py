"""Solution regions in the notebooks, and the student versions made from them.

A solution region in a code cell is marked by two comment lines::

    def kl_to_standard_normal(mu, log_var):
        # BEGIN SOLUTION
        return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(-1)
        # END SOLUTION

    check("ch04.kl_to_standard_normal", kl_to_standard_normal)

In a markdown cell the markers are ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``.
The student version replaces each code region by ``raise NotImplementedError(...)`` (at the
region's indentation) and each markdown region by a prompt; the checks stay. Exercise
cells carry the tag ``exercise`` (and ``hide-input``, so the rendered book hides the
solution behind a toggle); the student version drops ``hide-input`` and all outputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
EXERCISE_TAG = "exercise"
CHECK_CALL = re.compile(r"""check\(\s*["'](ch\d\d\.\w+)["']""")
# the notebooks' note on hidden solutions, true of the book, not of a student copy
BOOK_NOTE = re.compile(r"In the rendered book the solutions are hidden:.*?grades them\.", re.S)
STUDENT_NOTE = ("This copy has no solutions: write each one where its cell says so and run "
                "the cell; the check underneath says whether it is right, and how it is wrong.")


@dataclass(frozen=True)
class SolutionRegion:
    """One marked region: the cell it is in and the solution's lines (dedented)."""

    cell: int
    cell_type: str
    text: str
    exercises: tuple[str, ...]  # the exercise ids checked in the same cell


def _regions(source: str, begin: str, end: str, where: str) -> list[tuple[int, int]]:
    """(first, last) line indices of each marker pair; errors on unbalanced markers."""
    lines, found, start = source.splitlines(), [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == begin:
            if start is not None:
                raise ValueError(f"{where}: '{begin}' on line {i + 1} inside another region "
                                 f"(opened on line {start + 1})")
            start = i
        elif stripped == end:
            if start is None:
                raise ValueError(f"{where}: '{end}' on line {i + 1} without a '{begin}'")
            found.append((start, i))
            start = None
    if start is not None:
        raise ValueError(f"{where}: '{begin}' on line {start + 1} is never closed by '{end}'")
    return found


def _markers(cell) -> tuple[str, str]:
    return (BEGIN, END) if cell.cell_type == "code" else (MD_BEGIN, MD_END)


def solution_regions(nb: nbformat.NotebookNode, name: str = "notebook") -> list[SolutionRegion]:
    """Every solution region of a notebook, in order."""
    out = []
    for index, cell in enumerate(nb.cells):
        begin, end = _markers(cell)
        for first, last in _regions(cell.source, begin, end, f"{name}, cell {index + 1}"):
            body = cell.source.splitlines()[first + 1:last]
            indent = min((len(ln) - len(ln.lstrip()) for ln in body if ln.strip()), default=0)
            text = "\n".join(ln[indent:] for ln in body)
            ids = tuple(CHECK_CALL.findall(cell.source)) if cell.cell_type == "code" else ()
            out.append(SolutionRegion(index, cell.cell_type, text, ids))
    return out


def exercise_ids(nb: nbformat.NotebookNode) -> list[str]:
    """The exercise ids a notebook checks, in order of their ``check(...)`` calls."""
    ids: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            ids += [i for i in CHECK_CALL.findall(cell.source) if i not in ids]
    return ids


def _strip_code(source: str, where: str) -> str:
    lines = source.splitlines()
    ids = CHECK_CALL.findall(source)
    label = f"exercise {ids[0]}" if ids else "this exercise"
    for first, last in reversed(_regions(source, BEGIN, END, where)):
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines[first:last + 1] = [
            f"{indent}# Your code here: replace the next line.",
            f'{indent}raise NotImplementedError("{label} is not answered yet")',
        ]
    return "\n".join(lines)


def _strip_markdown(source: str, where: str) -> str:
    lines = source.splitlines()
    for first, last in reversed(_regions(source, MD_BEGIN, MD_END, where)):
        lines[first:last + 1] = ["*Your answer here.*"]
    return "\n".join(lines)


def student_version(nb: nbformat.NotebookNode, name: str = "notebook"
                    ) -> nbformat.NotebookNode:
    """A copy of the notebook with every solution region removed and no outputs."""
    nb = nbformat.from_dict(nb)  # a deep copy
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index + 1}"
        if cell.cell_type == "code":
            cell.source = _strip_code(cell.source, where)
            cell.outputs, cell.execution_count = [], None
        else:
            cell.source = BOOK_NOTE.sub(STUDENT_NOTE, _strip_markdown(cell.source, where))
        tags = cell.metadata.get("tags", [])
        if EXERCISE_TAG in tags and "hide-input" in tags:
            cell.metadata["tags"] = [t for t in tags if t != "hide-input"]
    return nb


def _notebooks(src: Path) -> list[Path]:
    if src.is_file():
        if src.suffix != ".ipynb":
            raise ValueError(f"{src}: expected a .ipynb notebook or a folder of them")
        return [src]
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such notebook or folder")
    found = sorted(p for p in src.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not found:
        raise ValueError(f"{src}: the folder holds no .ipynb notebooks")
    return found


def write_student_versions(src: str | Path, dst: str | Path) -> list[Path]:
    """Write the student version of a notebook, or of every notebook under a folder.

    The folder structure under ``src`` is kept under ``dst``. Refuses to write into the
    folder of the source notebooks (that would overwrite the solutions).
    """
    src, dst = Path(src).resolve(), Path(dst).resolve()
    notebooks = _notebooks(src)
    root = src.parent if src.is_file() else src
    if dst == root or any(dst == p.parent for p in notebooks):
        raise ValueError(f"{dst}: the student versions must go to another folder than the "
                         "notebooks with solutions")
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        out = dst / path.relative_to(root)
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_version(nb, path.name), out)
        written.append(out)
    return written
