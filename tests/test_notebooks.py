"""Every notebook: stripped, installs the package only on Colab (pinned to the release),
a tagged parameters cell, a one-line statement of budget/data/device, no core model code,
no network access, and a place in the table of contents."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

import tutorial_lib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def _code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    for cell in _code_cells(path):
        assert not cell.get("outputs") and cell.get("execution_count") is None, (
            f"{path.name}: strip outputs before committing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_only_on_colab_pinned_to_release(path: Path) -> None:
    first = _code_cells(path)[0].source
    assert 'if "google.colab" in sys.modules:' in first
    pin = f"tutorial-lib @ git+{REPO_URL}@v{tutorial_lib.__version__}"
    assert pin in first, f"{path.name}: first cell must install {pin!r}"
    body = [ln for ln in first.splitlines() if "pip install" in ln]
    assert len(body) == 1 and body[0].startswith("    "), "the install must be inside the guard"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_and_run_description(path: Path) -> None:
    cells = _code_cells(path)
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "BUDGET = None" in tagged[0].source
    assert cells.index(tagged[0]) == 1, "the parameters cell comes right after the install cell"
    source = "\n".join(c.source for c in cells)
    assert "describe_run(" in source and "get_device()" in source and "get_budget(" in source
    intro = nbformat.read(path, as_version=4).cells[0].source
    assert "**Runs with**" in intro and "**To change them**" in intro


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_core_model_code_and_no_network(path: Path) -> None:
    cells = _code_cells(path)
    source = "\n".join(c.source for c in cells[1:])  # the Colab cell is allowed its pip
    assert not re.search(r"^class \w+\((nn\.)?Module\)", source, re.M)
    for forbidden in ("urllib", "requests", "http://", "https://", "wget", "curl ", "pip "):
        assert forbidden not in source, f"{path.name} reaches for the network: {forbidden!r}"


def test_every_notebook_and_chapter_is_in_the_toc() -> None:
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"file: notebooks/{path.stem}\n" in toc, f"{path.name} is not in _toc.yml"
    for page in (ROOT / "book").glob("*.md"):
        assert f"file: book/{page.stem}" in toc or f"root: book/{page.stem}" in toc, page.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_long_loops_show_progress(path: Path) -> None:
    source = "\n".join(c.source for c in _code_cells(path))
    if "for " in source and ("steps" in source or "range(" in source):
        assert "tqdm" in source or "progress" in source or "fit_mle(" in source
