"""The rendered book, built by scripts/test.sh (smoke budget) before pytest runs.

The tests run when TUTORIAL_BUILT_BOOK names the built HTML folder (the test command sets
it and a missing build then fails); a plain `pytest` run without a build skips them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILT = os.environ.get("TUTORIAL_BUILT_BOOK")
pytestmark = pytest.mark.skipif(not BUILT, reason="set TUTORIAL_BUILT_BOOK (scripts/test.sh)")
HTML = Path(BUILT) if BUILT else Path()


def _page(rel: str) -> str:
    path = HTML / rel
    assert path.is_file(), f"{rel} was not built"
    return path.read_text(encoding="utf-8")


def _main_text(html: str) -> str:
    """The article body without scripts (where MathJax config legitimately mentions $$)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    match = re.search(r'<article class="bd-article"[^>]*>(.*)</article>', html, flags=re.S)
    return match.group(1) if match else html


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [s["file"] for s in chapter.get("sections", [])]
    return files


def test_index_and_every_page_were_built() -> None:
    assert (HTML / "index.html").is_file()
    for rel in _toc_files():
        _page(f"{rel}.html")


def test_math_is_left_for_mathjax_with_no_raw_dollars() -> None:
    for rel in _toc_files():
        body = _main_text(_page(f"{rel}.html"))
        assert "$$" not in body, f"{rel}: raw $$ in the page"
    chapter = _main_text(_page("book/ch01_generative_models.html"))
    assert 'class="math notranslate nohighlight"' in chapter


CHAPTERS = sorted(f"book/{p.stem}" for p in (ROOT / "book").glob("ch[0-9][0-9]_*.md"))


def test_theorems_proofs_exercises_and_hidden_solutions_render() -> None:
    assert len(CHAPTERS) >= 5
    for rel in CHAPTERS:
        body = _main_text(_page(f"{rel}.html"))
        assert re.search(r'class="proof (theorem|proposition|lemma|corollary) admonition', body), (
            f"{rel}: no theorem-like block")
        assert re.search(r'class="proof (dropdown )?admonition" id="proof', body), (
            f"{rel}: no proof")
        folded = re.findall(r'<div class="proof dropdown admonition"[^>]*>\s*(<p[^>]*>)', body)
        assert all('class="admonition-title"' in tag for tag in folded), (
            f"{rel}: a collapsed proof without the title its toggle button needs")
        n_ex = len(re.findall(r'<div class="exercise admonition', body))
        n_sol = len(re.findall(r'<div class="solution dropdown admonition', body))
        assert n_ex >= 3, f"{rel}: {n_ex} exercises"
        assert n_sol >= n_ex, f"{rel}: {n_sol} hidden solutions for {n_ex} exercises"


def test_citations_resolve_to_the_bibliography() -> None:
    for rel in CHAPTERS:
        body = _main_text(_page(f"{rel}.html"))
        assert "bibliography.html#" in body, f"{rel}: no resolved citation"
        assert "??" not in body, f"{rel}: an unresolved reference"
    bib = _main_text(_page("book/bibliography.html"))
    for title in ("Generative Adversarial Nets", "Auto-Encoding Variational",
                  "Importance Weighted Autoencoders", "Probabilistic Principal Component"):
        assert title.lower() in bib.lower(), title


def test_notebook_pages_show_figures_and_the_smoke_budget() -> None:
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        body = _main_text(_page(f"notebooks/{nb.stem}.html"))
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', body)
        assert len(images) >= 3, f"{nb.name}: {len(images)} figures"
        for src in images:
            path = (HTML / "notebooks" / src).resolve()
            assert path.is_file() and path.stat().st_size > 2_000, src
        assert "budget: smoke" in body
        assert "Traceback" not in body and "Error" not in re.sub(r"error(s)?\b", "", body)


def test_each_notebook_page_links_to_colab_at_its_own_path() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = _page(f"notebooks/{nb.stem}.html")
        expected = (f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
                    f"notebooks/{nb.name}")
        assert expected in html, f"{nb.name}: no Colab link to {expected}"


def test_execution_statistics_list_every_notebook_with_its_seconds() -> None:
    body = _main_text(_page("book/execution.html"))
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        row = re.search(rf"notebooks/{nb.stem}</span></a></p></td>(.*?)</tr>", body, flags=re.S)
        assert row, f"{nb.name} is not in the execution statistics"
        cells = re.findall(r"<td><p>(.*?)</p></td>", row.group(1))
        assert float(cells[-2]) > 0 and cells[-1] == "✅", (nb.name, cells)
