"""What a theory page shows from the runs: build-made figures and no hand-typed run figures.

A chapter page (``book/chNN_*.md``) pastes at least three figures from its notebook
(``glued-figure``, see ``_ext/book_pages.py``), each with alt text and a caption, and
quotes run figures only through ``{glue:text}`` (the notebook's output) or ``{result}``
(a stored result). These tests check the sources without building the book: the glue
names a page asks for are glued by the notebook it names, the stored results it quotes
exist, and no decimal figure in prose is typed by hand unless the allowlist says why it
is not a run figure. The build (``-n -W``) checks the same links once more, on the
executed notebooks.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import book_numbers  # tools/, on sys.path through conftest.py
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("ch[0-9][0-9]_*.md"))
PAGES = sorted(BOOK.glob("*.md"))
sys.path.insert(0, str(ROOT / "_ext"))

FIGURE = re.compile(r"^(?P<fence>:{3,}|`{3,})\{glued-figure\}[ \t]+(?P<key>\S+)[ \t]*\n"
                    r"(?P<options>(?::[\w-]+:[^\n]*\n)*)(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.M | re.S)
OPTION = re.compile(r"^:([\w-]+):[ \t]*(.*)$", re.M)
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?P<doc>[^`:]+)::(?P<key>[\w-]+)(?::[^`]*)?`")
RESULT_ROLE = re.compile(r"\{result\}`(?P<spec>[^`]+)`")
GLUE_CALL = re.compile(r"""\bglue\(\s*["'](?P<key>[\w-]+)["']""")


def figures(page: Path) -> list[dict]:
    found = []
    for m in FIGURE.finditer(page.read_text()):
        options = dict(OPTION.findall(m.group("options")))
        found.append({"key": m.group("key"), "caption": m.group("body").strip(), **options})
    return found


def glued_keys(notebook: Path) -> set[str]:
    """The names a notebook's code cells glue."""
    cells = json.loads(notebook.read_text())["cells"]
    source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(GLUE_CALL.findall(source))


def notebook_of(page: Path, doc: str) -> Path:
    return (page.parent / doc).resolve()


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_page_pastes_three_figures_from_its_notebook(page: Path) -> None:
    found = figures(page)
    assert len(found) >= 3, f"{page.name}: {len(found)} glued figures, expected at least 3"
    own = (ROOT / "notebooks" / f"{page.stem}.ipynb").resolve()
    for figure in found:
        where = f"{page.name}, glued-figure {figure['key']}"
        assert figure.get("alt", "").strip(), f"{where}: no :alt: text"
        assert len(figure["caption"].split()) >= 6, f"{where}: say what to look at"
        assert notebook_of(page, figure.get("doc", "")) == own, \
            f"{where}: :doc: should be ../notebooks/{own.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_what_a_page_pastes_is_glued_by_the_notebook_it_names(page: Path) -> None:
    text = page.read_text()
    wanted = [(f.get("doc", ""), f["key"]) for f in figures(page)]
    wanted += [(m.group("doc"), m.group("key")) for m in GLUE_ROLE.finditer(text)]
    for doc, key in wanted:
        notebook = notebook_of(page, doc)
        assert notebook.is_file(), f"{page.name}: {doc} does not exist"
        assert key in glued_keys(notebook), f"{page.name}: {notebook.name} never glues {key!r}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_the_stored_results_a_page_quotes_exist(page: Path) -> None:
    from book_pages import stored_value  # _ext/

    for m in RESULT_ROLE.finditer(page.read_text()):
        float(stored_value(m.group("spec")).rstrip("%"))  # a number, formatted


def test_no_decimal_in_prose_is_typed_by_hand() -> None:
    figures_ = [f for p in book_numbers.book_pages() for f in book_numbers.prose_figures(p)]
    missing = book_numbers.unlisted(figures_, book_numbers.load_allowlist())
    listing = "\n".join(f"  {f.page}:{f.line}: {f.number}  {f.context[:90]}" for f in missing)
    assert not missing, (
        f"{len(missing)} decimal figures in prose come neither from {{glue:text}} nor from "
        f"{{result}} and are not in tests/book_numbers_allowlist.yml:\n{listing}")


def test_each_allowlist_entry_says_why_and_is_still_needed() -> None:
    entries = book_numbers.load_allowlist()
    pages = {p.name: p for p in PAGES}
    for entry in entries:
        assert set(entry) == {"page", "numbers", "reason"}, entry
        assert entry["page"] in pages, f"allowlist: no page {entry['page']}"
        assert len(str(entry["reason"]).split()) >= 3, f"allowlist: say why, {entry}"
        present = {f.number.lstrip("-") for f in book_numbers.prose_figures(pages[entry["page"]])}
        stale = [n for n in entry["numbers"] if str(n) not in present]
        assert not stale, f"allowlist: {entry['page']} no longer has {stale}; remove them"


def test_the_scanner_sees_prose_and_skips_code_and_math(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("\n".join([
        "The FID was 40.6 and the rate $0.25$ nats.",      # 40.6 and the bare-math 0.25
        "A formula $x = 0.5 y$ and {result}`bench_gan:a.b:.2f` and `lr=0.001`.",
        "```python", "x = 3.14", "```",
        ":::{note}", "Inside a note, 7.5 counts.", ":::",
        "$$", "y = 2.718", "$$",
        "```{literalinclude} ../src/x.py", ":pyobject: f", "```",
    ]) + "\n")
    assert [f.number for f in book_numbers.prose_figures(page)] == ["40.6", "0.25", "7.5"]


def test_glue_checks_its_name_and_hands_the_value_to_myst_nb(monkeypatch) -> None:
    import myst_nb

    from tutorial_lib.glue import glue

    kept = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: kept.append(
        (name, value, display)))
    glue("vae-samples", 1.5)
    assert kept == [("vae-samples", 1.5, False)]
    for bad in ("VAE samples", "", "a_b", 3):
        with pytest.raises(ValueError, match="lower-case letters"):
            glue(bad, 1.0)


def test_glue_does_nothing_without_myst_nb(monkeypatch) -> None:
    from tutorial_lib.glue import glue

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails, as on Colab
    glue("a-number", 2.0)  # no error, nothing to hand over


PY_ROLE = re.compile(r"\{(?:py:)?(?:class|func|meth|mod|attr|obj)\}`")


@pytest.mark.parametrize("source", PAGES + sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_no_python_domain_roles(source: Path) -> None:
    """The book has no API reference pages, so a {class} or {func} role has no target and
    the nitpicky build (-n -W) fails on it, late: name code with backquotes instead."""
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = source.read_text()
    assert not PY_ROLE.search(text), f"{source.name}: {PY_ROLE.search(text).group()}"
