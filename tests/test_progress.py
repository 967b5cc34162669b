"""A training loop that stops on purpose leaves its progress bar full (green in notebooks)."""

from __future__ import annotations

import io

import pytest
from tqdm import tqdm

from tutorial_lib.progress import finish_early


def _run(bar, stop_after: int) -> None:
    for step in bar:
        if step + 1 == stop_after:
            finish_early(bar, step + 1)
            break


def test_an_early_stop_becomes_the_total_and_keeps_the_clock() -> None:
    out = io.StringIO()
    bar = tqdm(range(10), file=out)
    start = bar.start_t
    _run(bar, stop_after=4)
    assert bar.total == 4 and bar.start_t == start
    assert out.getvalue().rsplit("\r", 1)[-1].startswith("100%") and "4/4" in out.getvalue()


def test_the_last_step_counts_and_an_unknown_total_stays_unknown() -> None:
    out = io.StringIO()
    _run(tqdm(range(5), file=out), stop_after=5)
    assert "5/5" in out.getvalue().rsplit("\r", 1)[-1]
    out = io.StringIO()
    bar = tqdm(range(5), total=float("inf"), file=out)  # a time budget: no total
    _run(bar, stop_after=3)
    assert bar.total is None and out.getvalue().rsplit("\r", 1)[-1].startswith("3it")
    _run(tqdm(range(5), disable=True), stop_after=2)  # a disabled bar is left alone


def test_the_notebook_bar_closes_green_and_full(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_tqdm

    for total, stop_after in ((10, 4), (4, 4)):
        bar = notebook_tqdm(range(total))
        _run(bar, stop_after)
        _, progress, _ = bar.container.children
        assert progress.bar_style == "success", (total, stop_after)
        assert progress.max == progress.value == 4
