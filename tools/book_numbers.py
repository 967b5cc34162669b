"""Find hand-typed decimal figures in the prose of the book's pages.

    python tools/book_numbers.py                 # every decimal in prose, page by page
    python tools/book_numbers.py --unlisted      # only those the allowlist does not cover

A number the text quotes from a run must come from that run: ``{glue:text}`` from the
chapter's notebook, or ``{result}`` from a stored result (see ``_ext/book_pages.py``).
This tool reads the MyST source and reports every decimal figure (``0.53``, ``95.6%``) in
prose, that is outside code, math, roles, links and directive options. A bare number
typed as math (``$2.911$``) counts as prose. ``tests/book_numbers_allowlist.yml`` lists
the decimals that are not run figures (a hyperparameter, a constant, a published figure),
each with its reason; ``tests/test_book_pages.py`` fails on any other. A tool for the
book's authors, not part of the package.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "tests" / "book_numbers_allowlist.yml"

_FENCE = re.compile(r"^\s*(`{3,}|:{3,}|~{3,})\s*(\{[\w:-]+\})?")
# directives whose body is code or math, not prose
_VERBATIM = {"{code-cell}", "{code}", "{code-block}", "{literalinclude}", "{math}",
             "{glue:math}", "{raw}", "{eval-rst}", "{bibliography}"}
_DECIMAL = re.compile(r"(?<![\w.\\])[-−]?\d+\.\d+(?![\w.])")
_BARE_MATH = re.compile(r"^\s*[-−]?\d+\.\d+\s*(\\%|%)?\s*$")


@dataclass(frozen=True)
class Figure:
    page: str  # file name, e.g. "ch05_beyond_vae.md"
    line: int
    number: str
    context: str


def _strip_inline(line: str) -> str:
    """The prose of one line: roles, code, links, citations and non-bare math removed."""
    line = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", line)  # roles: {result}`...`, {cite}`...`
    line = re.sub(r"``[^`]*``|`[^`]*`", " ", line)  # inline code
    line = re.sub(r"\]\([^)]*\)", "]", line)  # link targets
    line = re.sub(r"<!--.*?-->", " ", line)

    def math(match: re.Match) -> str:
        body = match.group(1)
        return f" {body} " if _BARE_MATH.match(body) else " "

    line = re.sub(r"\$\$.*?\$\$", " ", line)
    return re.sub(r"\$([^$]+)\$", math, line)


def prose_figures(page: Path) -> list[Figure]:
    """Every decimal figure in the prose of ``page``."""
    found: list[Figure] = []
    stack: list[tuple[str, bool]] = []  # open fences: (marker, verbatim)
    in_math = False
    in_comment = False
    for number, raw in enumerate(page.read_text().splitlines(), 1):
        verbatim = any(v for _, v in stack)
        fence = _FENCE.match(raw)
        if fence:
            marker, name = fence.group(1), fence.group(2)
            rest = raw.strip()[len(marker):].strip()
            if stack and not name and not rest and marker[0] == stack[-1][0][0] \
                    and len(marker) >= len(stack[-1][0]):
                stack.pop()
                continue
            if not verbatim:
                is_code = marker[0] in "`~" and (name is None or name in _VERBATIM)
                stack.append((marker, is_code or name in _VERBATIM))
            continue
        if verbatim:
            continue
        stripped = raw.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith("<!--") and "-->" not in stripped:
            in_comment = True
            continue
        if stripped.startswith("$$"):
            if stripped.count("$$") == 1:
                in_math = not in_math
            continue
        if in_math or re.match(r"^:[\w-]+:", stripped) or re.match(r"^\([\w:-]+\)=$", stripped):
            continue  # display math, a directive's option, a label
        if stripped.startswith("\\begin") or stripped.startswith("\\end"):
            continue
        for match in _DECIMAL.finditer(_strip_inline(raw)):
            found.append(Figure(page.name, number, match.group().replace("−", "-"),
                                stripped[:160]))
    return found


def load_allowlist(path: Path = ALLOWLIST) -> list[dict]:
    """The allowlist's entries: ``{page, numbers, reason}``."""
    return yaml.safe_load(path.read_text()) or []  # only comments: empty


def unlisted(figures: list[Figure], allowlist: list[dict]) -> list[Figure]:
    """The figures that no allowlist entry (same page, number listed) covers."""
    allowed = {(e["page"], str(n)) for e in allowlist for n in e["numbers"]}
    return [f for f in figures
            if (f.page, f.number.lstrip("-")) not in allowed and (f.page, f.number) not in allowed]


GENERATED = {"appendix_solutions.md"}  # made by tools/appendix.py from the chapters' text


def book_pages() -> list[Path]:
    """The pages to scan: every page of book/ that is written by hand."""
    return sorted(p for p in (ROOT / "book").glob("*.md") if p.name not in GENERATED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unlisted", action="store_true",
                        help="only the figures the allowlist does not cover")
    parser.add_argument("pages", nargs="*", help="page names to scan (default: all)")
    args = parser.parse_args(argv)
    figures = [f for p in book_pages() if not args.pages or any(s in p.name for s in args.pages)
               for f in prose_figures(p)]
    if args.unlisted:
        figures = unlisted(figures, load_allowlist())
    for f in figures:
        print(f"{f.page}:{f.line}: {f.number}    {f.context}")
    print(f"{len(figures)} figures", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
