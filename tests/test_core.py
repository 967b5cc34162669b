"""Device choice, seeding and budgets."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tutorial_lib import describe_run, get_budget, get_device, set_seed
from tutorial_lib.budget import BUDGETS, Budget


def test_auto_device_is_cpu_without_accelerators() -> None:
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected


def test_device_override_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    assert get_device("auto").type in {"cpu", "cuda", "mps"}  # argument wins over the variable


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
def test_unavailable_device_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA device.*TUTORIAL_DEVICE"):
        get_device()


def test_unknown_device_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="expected one of 'auto', 'cpu'"):
        get_device("gpu0")


def test_describe_run_names_budget_data_device_and_how_to_change() -> None:
    text = describe_run(get_budget("smoke"), torch.device("cpu"), data="mnist5k")
    assert "budget: smoke" in text and "data: mnist5k" in text and "cpu" in text
    assert "TUTORIAL_BUDGET" in text
    assert "Colab" not in text


def test_describe_run_on_colab_says_in_one_line_how_to_switch_to_full(monkeypatch) -> None:
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    text = describe_run(get_budget("book"), torch.device("cpu"), data="mnist5k")
    colab = [line for line in text.splitlines() if "Colab" in line]
    assert len(colab) == 1 and 'BUDGET = "full"' in colab[0]
    full = describe_run(get_budget("full"), torch.device("cpu"), data="mnist")
    assert "Colab" not in full  # already full: nothing to switch


def test_set_seed_makes_python_numpy_and_torch_reproducible() -> None:
    def draw() -> tuple[float, float, torch.Tensor, torch.Tensor]:
        g = set_seed(123)
        return (random.random(), np.random.rand(), torch.randn(3),  # noqa: NPY002
                torch.randn(2, generator=g))

    a, b = draw(), draw()
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    set_seed(124)
    assert not torch.equal(torch.randn(3), a[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_set_seed_rejects_bad_seeds(bad: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        set_seed(bad)  # type: ignore[arg-type]


def test_budget_defaults_to_book(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTORIAL_BUDGET", raising=False)
    assert get_budget().name == "book"
    monkeypatch.setenv("TUTORIAL_BUDGET", "SMOKE")
    assert get_budget().name == "smoke"
    assert get_budget("full").name == "full"  # the argument wins


def test_unknown_budget_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_BUDGET", "huge")
    with pytest.raises(ValueError, match="'huge'.*TUTORIAL_BUDGET.*smoke, book, full"):
        get_budget()


def test_budgets_are_ordered_by_work() -> None:
    smoke, book, full = (BUDGETS[n] for n in ("smoke", "book", "full"))
    for field in ("toy_samples", "eval_samples", "importance_samples", "steps_factor"):
        assert getattr(smoke, field) < getattr(book, field) < getattr(full, field), field
    assert smoke.max_train_images is not None and book.max_train_images is None
    assert book.steps(1000) == 1000 and smoke.steps(1000) < 1000 < full.steps(1000)
    assert smoke.steps(10, minimum=5) == 5


def test_pick_returns_the_value_for_the_budget() -> None:
    assert [get_budget(n).pick(1, 2, 3) for n in ("smoke", "book", "full")] == [1, 2, 3]
    assert isinstance(get_budget("book"), Budget)
