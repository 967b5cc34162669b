"""The code shown on the theory pages is the package's code, and the pages say where it lives.

Each chapter page includes tested functions with a MyST ``literalinclude`` and
``:pyobject:``, and ends with a "library at a glance" table (concept, function, module).
The book build fails when an included object moves; these tests find the same breakage in
the fast suite, without a build, by reading the package with ``ast``. They also check that
every function a chapter's table names is defined in a module that its row names.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SRC = ROOT / "src"
CHAPTERS = sorted(BOOK.glob("ch[0-9][0-9]_*.md"))
PAGES = sorted(BOOK.glob("*.md"))

# ```{literalinclude} PATH   followed by   :option: value   lines (backtick or colon fence).
INCLUDE = re.compile(r"^(?:```+|:::+)\{literalinclude\}[ \t]+(\S+)[ \t]*\n((?::[\w-]+:.*\n)*)",
                     re.M)
OPTION = re.compile(r"^:([\w-]+):[ \t]*(.*)$", re.M)
GLANCE = "## The library at a glance"
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True)
class Include:
    page: Path
    target: str  # the path as written, relative to the page
    options: dict[str, str]

    @property
    def file(self) -> Path:
        return (self.page.parent / self.target).resolve()

    def __str__(self) -> str:
        return f"{self.page.name}: {self.target} :pyobject: {self.options.get('pyobject')}"


def includes(page: Path) -> list[Include]:
    """Every literalinclude on a page, with its options."""
    text = page.read_text(encoding="utf-8")
    return [Include(page, m.group(1), {k: v.strip() for k, v in OPTION.findall(m.group(2))})
            for m in INCLUDE.finditer(text)]


def pyobject_includes() -> list[Include]:
    return [inc for page in PAGES for inc in includes(page) if "pyobject" in inc.options]


@cache
def module_tree(file: Path) -> ast.Module:
    return ast.parse(file.read_text(encoding="utf-8"), filename=str(file))


def find_object(tree: ast.Module, dotted: str) -> ast.AST | None:
    """The class or function ``dotted`` names ("f", "Class", "Class.method"), or None.

    The same names as Sphinx's ``:pyobject:``, which looks up top-level definitions and the
    definitions nested in classes.
    """
    scope: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for name in dotted.split("."):
        node = next((n for n in scope if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name), None)
        if node is None:
            return None
        scope = node.body if isinstance(node, ast.ClassDef) else []
    return node


def object_source(file: Path, node: ast.AST) -> str:
    """The lines Sphinx includes for an object: from its decorators (or ``def``) to its end."""
    lines = file.read_text(encoding="utf-8").splitlines()
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[first - 1:node.end_lineno])


def test_the_include_pattern_reads_a_directive_and_its_options(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```{literalinclude} ../src/m.py\n:pyobject: A.f\n"
                    ":language: python\n:start-at: x = 1\n```\n\n"
                    ":::{literalinclude} other.py\n:pyobject: g\n:::\n")
    found = includes(page)
    assert [(i.target, i.options) for i in found] == [
        ("../src/m.py", {"pyobject": "A.f", "language": "python", "start-at": "x = 1"}),
        ("other.py", {"pyobject": "g"}),
    ]


def test_find_object_follows_classes_and_refuses_what_is_absent() -> None:
    tree = ast.parse("class A:\n    def f(self):\n        def inner():\n            pass\n"
                     "def g():\n    pass\nh = 1\n")
    assert isinstance(find_object(tree, "A"), ast.ClassDef)
    assert isinstance(find_object(tree, "A.f"), ast.FunctionDef)
    assert isinstance(find_object(tree, "g"), ast.FunctionDef)
    for absent in ("f", "A.g", "A.f.inner", "h", "B"):
        assert find_object(tree, absent) is None, absent


def include_problems(inc: Include, package: Path = SRC / "tutorial_lib") -> list[str]:
    """What would make Sphinx fail on, or mislabel, one ``:pyobject:`` include (empty: fine)."""
    if not inc.file.is_file():
        return [f"no file {inc.file}"]
    if not inc.file.is_relative_to(package):
        return [f"{inc.file} is not in the package {package}"]
    node = find_object(module_tree(inc.file), inc.options["pyobject"])
    if node is None:
        return [f"{inc.options['pyobject']} is not defined in {inc.target}"]
    problems = []
    if inc.options.get("language") != "python":
        problems.append("say :language: python")
    caption = f"`{inc.options['pyobject']}` in {inc.file.relative_to(package.parent).as_posix()}"
    if inc.options.get("caption") != caption:
        problems.append(f"caption it {caption!r}")
    source = object_source(inc.file, node)
    for option in ("start-at", "start-after", "end-at", "end-before"):
        if option in inc.options and inc.options[option] not in source:
            problems.append(f"the {option} text {inc.options[option]!r} is not in the object")
    if any(option in inc.options for option in ("start-at", "start-after")) and (
            "dedent" not in inc.options):
        problems.append("a piece of a body needs :dedent:")
    return problems


def test_a_moved_or_renamed_object_is_reported(tmp_path: Path) -> None:
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "m.py").write_text("class A:\n    def f(self):\n        x = 1\n        return x\n")
    (tmp_path / "book").mkdir()
    page = tmp_path / "book" / "page.md"
    good = ":language: python\n:caption: `A.f` in pkg/m.py\n"
    page.write_text(
        f"```{{literalinclude}} ../src/pkg/m.py\n:pyobject: A.f\n{good}```\n\n"
        f"```{{literalinclude}} ../src/pkg/m.py\n:pyobject: A.g\n{good}```\n\n"
        f"```{{literalinclude}} ../src/pkg/gone.py\n:pyobject: A.f\n{good}```\n\n"
        f"```{{literalinclude}} ../src/pkg/m.py\n:pyobject: A.f\n{good}"
        ":start-at: y = 2\n```\n")
    found = [include_problems(inc, package) for inc in includes(page)]
    assert found[0] == []
    assert found[1] == ["A.g is not defined in ../src/pkg/m.py"]
    assert found[2] == [f"no file {package / 'gone.py'}"]
    assert found[3] == ["the start-at text 'y = 2' is not in the object",
                        "a piece of a body needs :dedent:"]


@pytest.mark.parametrize("inc", pyobject_includes(), ids=str)
def test_each_included_object_is_defined_where_the_page_says(inc: Include) -> None:
    assert include_problems(inc) == [], str(inc)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_shows_tested_code(chapter: Path) -> None:
    shown = [inc for inc in includes(chapter) if "pyobject" in inc.options]
    assert shown, f"{chapter.name} includes no function of the package"
    assert len({inc.options["pyobject"] for inc in shown}) == len(shown), (
        f"{chapter.name} includes an object twice")


def glance_rows(chapter: Path) -> list[list[str]]:
    """The body rows of the table in the chapter's "library at a glance" section."""
    text = chapter.read_text(encoding="utf-8")
    assert GLANCE in text, f"{chapter.name} has no '{GLANCE}' section"
    section = text.split(GLANCE, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) >= 3, f"{chapter.name}: the '{GLANCE}' section has no table"
    assert [c.strip() for c in rows[0].strip("|").split("|")] == ["Concept", "Function",
                                                                  "Module"], chapter.name
    return [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows[2:]]


def module_file(module: str) -> Path:
    path = SRC / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_table_names_functions_where_they_are_defined(chapter: Path) -> None:
    for concept, functions, modules in glance_rows(chapter):
        names = [n for n in re.findall(r"`([^`]+)`", functions) if IDENTIFIER.match(n)]
        paths = re.findall(r"`([^`]+)`", modules)
        assert names and paths, f"{chapter.name}, row {concept!r}: name a function and module"
        for module in paths:
            assert module.startswith("tutorial_lib") and module_file(module).is_file(), (
                f"{chapter.name}, row {concept!r}: no module {module}")
        trees = [module_tree(module_file(m)) for m in paths]
        for name in names:
            assert any(find_object(t, name) is not None or _assigned(t, name) for t in trees), (
                f"{chapter.name}, row {concept!r}: {name} is defined in none of {paths}")


def _assigned(tree: ast.Module, name: str) -> bool:
    """Whether ``name`` is a module-level constant (``OBJECTIVES = ...``)."""
    return any(isinstance(n, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == name for t in n.targets)
        or isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
        and n.target.id == name for n in tree.body)
