"""The checker's machinery: formulas, derived mistakes, types, gradients, messages.

- every formula is its exercise's reference, on the checked and on the diagnosis inputs;
- every mistake derived from a formula is rejected, and named by its own message or by
  the message of a mistake that gives the very same values;
- a tuple, a NumPy array, a Python float, None are named; a number is accepted where the
  exercise returns a number;
- the gradient comparison finds a detached result and a half cut from the graph;
- zeros and NaN get messages that say what is true; the randomized checks do not flake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from tutorial_lib.exercises import EXERCISES, FAILED, PASSED, run_check
from tutorial_lib.exercises.checker import Exercise
from tutorial_lib.exercises.formula import Change, Formula, Term, derived_changes, evaluate
from tutorial_lib.exercises.integrity import (
    NUMBER,
    TENSOR,
    exception_hint,
    gradient_problem,
    type_problem,
)

WITH_FORMULA = [ex.id for ex in EXERCISES.values() if ex.formula is not None]


def _array(value) -> np.ndarray:
    return np.asarray(value.detach() if isinstance(value, torch.Tensor) else value, float)


def _inputs(ex: Exercise) -> list:
    return [*ex.cases(), *(ex.diagnosis_cases() if ex.diagnosis_cases else [])]


@pytest.mark.parametrize("exercise_id", WITH_FORMULA)
def test_formula_is_the_reference(exercise_id: str) -> None:
    ex = EXERCISES[exercise_id]
    for case in _inputs(ex):
        np.testing.assert_allclose(_array(ex.formula(*case.args)),
                                   _array(ex.reference(*case.args)), rtol=1e-5, atol=1e-6)


def _same_values(ex: Exercise, a, b) -> bool:
    cases = ex.diagnosis_cases() if ex.diagnosis_cases else [c for c in ex.cases()
                                                              if not c.extreme]
    return all(np.allclose(_array(a(*c.args)), _array(b(*c.args)), rtol=1e-4, atol=1e-5,
                           equal_nan=True) for c in cases)


def _named_by(ex: Exercise, message: str):
    """The wrong function (listed or derived) whose message this is, or None."""
    for mistake in ex.mistakes:
        if mistake.message == message:
            return mistake.wrong
    for change in derived_changes(ex.formula):
        if change.message == message:
            return lambda *a, c=change: evaluate(ex.formula, c, a)
    generic = {"the sign is flipped": -1.0, "a factor 1/2 is missing": 2.0,
               "an extra factor 1/2": 0.5}
    for words, factor in generic.items():
        if message.startswith(words):
            return lambda *a, f=factor: f * _array(ex.reference(*a))
    return None


@pytest.mark.parametrize("exercise_id", WITH_FORMULA)
def test_every_derived_mistake_is_rejected_and_named(exercise_id: str) -> None:
    ex = EXERCISES[exercise_id]
    changes = derived_changes(ex.formula)
    assert len({c.message for c in changes}) == len(changes), "messages must be distinct"
    for change in changes:
        def wrong(*args, change=change):
            return evaluate(ex.formula, change, args)

        if _same_values(ex, wrong, ex.reference):
            continue  # a change of a quantity this formula does not read
        result = run_check(ex, wrong)
        assert result.status == FAILED, (change.message, result.message)
        if result.message != change.message:
            other = _named_by(ex, result.message)
            assert other is not None and _same_values(ex, wrong, other), (
                change.message, result.message)


def test_two_mistakes_at_once_are_both_named() -> None:
    ex = EXERCISES["ch01.log_normal_diag"]

    def wrong(x, mean, log_var):  # no 1/2 on the squared error, and no log(2 pi)
        return -((x - mean) ** 2 / log_var.exp() + 0.5 * log_var).sum(-1)

    message = run_check(ex, wrong).message
    assert message.startswith("two mistakes"), message
    assert "factor 1/2 is missing in front of the term -(x - mean)^2" in message
    assert "the term -1/2 log(2 pi) is missing" in message


def test_a_formula_says_what_is_wrong_with_it() -> None:
    one = Term("-1", lambda q: 1.0, -0.5, constant=True)
    with pytest.raises(TypeError, match="non-empty tuple of Term"):
        Formula(quantities=dict, terms=())
    with pytest.raises(ValueError, match="two different suffixes"):
        Formula(quantities=dict, terms=(one,), swap=("_q", "_q"))
    with pytest.raises(ValueError, match="reduced_over"):
        Formula(quantities=dict, terms=(one,), reduce=lambda t: t.sum(-1))


def test_an_unchanged_formula_is_the_reference() -> None:
    ex = EXERCISES["ch04.kl_to_standard_normal"]
    case = ex.cases()[0]
    assert torch.equal(evaluate(ex.formula, Change("", ""), case.args), ex.formula(*case.args))


@pytest.mark.parametrize("value, words", [
    (None, "return"), ((torch.zeros(2), torch.zeros(2)), "tuple of 2 values"),
    ([torch.zeros(())], "list of 1 values"), (np.zeros(3), "NumPy array"),
    (1.5, "Python float"), (2, "Python int"), (True, "boolean"), ("0.5", "str"),
    (torch.zeros(3, dtype=torch.long), "dtype torch.int64"),
    (torch.zeros(2, dtype=torch.complex64), "complex"),
])
def test_wrong_types_are_named_for_a_tensor_exercise(value, words: str) -> None:
    assert words in type_problem(value, TENSOR)


@pytest.mark.parametrize("value", [0.5, 3, np.float64(0.5), np.array(0.25), torch.tensor(0.5),
                                   torch.tensor(2)])
def test_numbers_are_accepted_where_a_number_is_returned(value) -> None:
    assert type_problem(value, NUMBER) is None


def test_a_complex_number_is_named_where_a_number_is_returned() -> None:
    assert "complex" in type_problem(1 + 0.5j, NUMBER)
    assert "tuple" in type_problem((0.5, 0.1), NUMBER)


def _sum_of_squares(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x ** 2 + y).sum(-1)


def test_gradient_problem_finds_a_detached_result_and_a_cut_term() -> None:
    args = (torch.randn(3, 4), torch.randn(3, 4))
    names = ["x", "y"]
    assert gradient_problem(_sum_of_squares, _sum_of_squares, args, (0, 1), names) is None
    detached = gradient_problem(lambda x, y: _sum_of_squares(x, y).detach(), _sum_of_squares,
                                args, (0, 1), names)
    assert "carries no gradient" in detached
    cut = gradient_problem(lambda x, y: (x.detach() ** 2 + y).sum(-1), _sum_of_squares, args,
                           (0, 1), names)
    assert "no gradient reaches x" in cut
    half = gradient_problem(lambda x, y: (x ** 2 + y).sum(-1) + 0 * x.sum(-1).detach(),
                            _sum_of_squares, args, (0, 1), names)
    assert half is None  # a detached term that adds nothing changes no gradient


def test_gradient_problem_compares_a_modules_parameters() -> None:
    torch.manual_seed(0)
    net, x = nn.Linear(3, 1), torch.randn(5, 3)

    def reference(module, inputs):
        return module(inputs).pow(2).mean()

    def half_cut(module, inputs):
        with torch.no_grad():
            first = module(inputs[:2])
        return torch.cat([first, module(inputs[2:])]).pow(2).mean()

    assert gradient_problem(reference, reference, (net, x), (0,), ["net", "x"]) is None
    assert "differs from the reference's" in gradient_problem(half_cut, reference, (net, x),
                                                              (0,), ["net", "x"])


@pytest.mark.parametrize("error, words", [
    (RuntimeError("all elements of input should be between 0 and 1"), "with_logits"),
    (ValueError("continuous format is not supported"), "y_true"),
    (RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn"),
     "no graph"),
])
def test_known_errors_get_advice(error: Exception, words: str) -> None:
    assert words in exception_hint(error)
    assert exception_hint(KeyError("x")) == ""


def test_zeros_are_called_zeros() -> None:
    result = run_check(EXERCISES["ch04.kl_to_standard_normal"],
                       lambda mu, lv: torch.zeros(len(mu), requires_grad=True))
    assert result.status == FAILED and "zeros" in result.message
    assert "times the correct" not in result.message


@pytest.mark.parametrize("exercise_id, nan", [
    ("ch09.mmd2_unbiased", lambda a, b, c: float("nan")),
    ("ch12.roc_auc", lambda s, t: float("nan")),
    ("ch11.feature_distance", lambda a, b: (a - b).sum(1) * float("nan")),
])
def test_nan_messages_say_what_is_true(exercise_id: str, nan) -> None:
    result = run_check(EXERCISES[exercise_id], nan)
    assert result.status == FAILED and "NaN where the correct value is finite" in result.message
    assert "logsumexp" not in result.message


def test_the_reduced_axis_is_named() -> None:
    result = run_check(EXERCISES["ch05.iwae_from_log_weights"],
                       lambda lw: torch.logsumexp(lw, 1) - math.log(lw.shape[1]))
    assert "over the B examples (axis 1)" in result.message
    assert "over the K samples (axis 0)" in result.message


@pytest.mark.parametrize("exercise_id", ["ch04.reparameterize", "ch08.gradient_penalty"])
def test_randomized_checks_do_not_flake(exercise_id: str) -> None:
    """The references pass 30 times in a row with fresh randomness (tolerances of 5% on
    20,000 draws are about ten standard errors)."""
    ex = EXERCISES[exercise_id]
    assert all(run_check(ex, ex.reference).status == PASSED for _ in range(30))
