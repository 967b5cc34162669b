"""Stored results: every one a notebook reads ships with the package, so that a notebook
alone on Colab shows the same tables as the rendered book."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tutorial_lib.results import load_result, separation

# scores with a few decimals, as stored: a spread is either zero or well above rounding
finite = st.floats(-1000, 1000, allow_nan=False).map(lambda x: round(x, 3))

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


@given(st.lists(finite, min_size=2, max_size=6), st.lists(finite, min_size=2, max_size=6))
@settings(max_examples=60, deadline=None)
def test_separation_is_welchs_t_statistic(a: list[float], b: list[float]) -> None:
    diff, ratio = separation(a, b)
    assert diff == pytest.approx(np.mean(a) - np.mean(b), rel=1e-9, abs=1e-9)
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return  # no spread: the next test pins that case
    with warnings.catch_warnings():  # scipy warns that equal values carry no spread
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = stats.ttest_ind(a, b, equal_var=False).statistic
    if np.isfinite(welch):
        assert ratio == pytest.approx(welch, rel=1e-6, abs=1e-9)


def test_separation_without_spread_and_bad_input() -> None:
    assert separation([1.0, 1.0], [0.0, 0.0]) == (1.0, np.inf)
    assert separation([2.0, 2.0], [2.0, 2.0]) == (0.0, 0.0)
    # three seeds each, spreads known by hand: se = sqrt(1/3 + 1/3)
    assert separation([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])[1] == pytest.approx(-3 / np.sqrt(2 / 3))
    with pytest.raises(ValueError, match="at least two per-seed values"):
        separation([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        separation([1.0, float("nan")], [1.0, 2.0])
