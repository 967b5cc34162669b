"""Stored results: every one a notebook reads ships with the package, so that a notebook
alone on Colab shows the same tables as the rendered book."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutorial_lib.results import load_result

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("ch*.ipynb"))
READS = re.compile(r'load_result\(\\?"([\w-]+)\\?"\)|load_result\(f\\?"([\w-]+)\{')


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_reads_stored_results_from_the_package_only(path: Path) -> None:
    text = path.read_text()
    # the repository's folders are absent on Colab, where the notebook is alone
    assert "book/results" not in text and '"../' not in text, path.name
    for exact, _prefix in READS.findall(text):
        if exact:
            assert _made_by_a_benchmark(load_result(exact)), exact


def _made_by_a_benchmark(result: dict) -> bool:
    """The result names the command that produced it, or (older files) its benchmark and
    the settings from which the command follows."""
    return str(result.get("command", "")).startswith("python -m tutorial_lib bench ") or \
        {"bench", "budget", "seeds"} <= result.keys()


def test_the_recorded_vae_and_gan_benchmarks_are_shipped() -> None:
    for name in ("bench_gan", "bench_vae_digits", "bench_vae_mnist5k", "bench_compare"):
        assert _made_by_a_benchmark(load_result(name)), name
