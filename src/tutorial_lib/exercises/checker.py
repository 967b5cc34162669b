"""The exercise checker: run a student's function against the reference, say what is wrong.

An :class:`Exercise` holds a reference implementation, a few input cases of different
shapes and a list of :class:`Mistake` s, each a wrong implementation of a common slip (a
flipped sign, a missing factor 1/2, the log-variance used as a variance, ...). The checker

1. runs the student's function on every case (on copies of the inputs);
2. compares the outputs with the reference's (shape first, then values);
3. when they differ, runs each mistake on the same inputs; the first mistake whose outputs
   match the student's on *every* case names the error;
4. otherwise looks for a constant factor or offset, then for NaN or infinity where the
   reference is finite, and only then says that the values differ, with an example.

Exercises with randomness or with gradients (the reparameterized sample, the gradient
penalty, the discriminator step) add an ``extra_check`` that measures those properties.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"


@dataclass(frozen=True)
class Case:
    """One input to an exercise: the positional arguments and, for messages, a label."""

    args: tuple
    label: str  # e.g. "mu, log_var of shape (3, 5)"
    batch: int | None = None  # the batch size B, for the batch-reduction diagnosis


@dataclass(frozen=True)
class Mistake:
    """A common wrong implementation (same signature as the reference) and what to say."""

    message: str
    wrong: Callable[..., Any]


@dataclass(frozen=True)
class CheckResult:
    """What the checker found: ``status`` is passed, failed, not implemented or error."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        mark = {PASSED: "✅", FAILED: "❌", NOT_IMPLEMENTED: "⏳", ERROR: "💥"}[self.status]
        return f"{mark} {self.exercise}: {self.message}"


@dataclass(frozen=True)
class Exercise:
    """A code exercise: the reference, the inputs it is checked on, the mistakes it knows."""

    id: str  # "ch04.kl_to_standard_normal": chapter, then the function's name
    title: str  # one line, for reports
    signature: str  # e.g. "kl_to_standard_normal(mu, log_var) -> (B,)"
    reference: Callable[..., Any]
    cases: Callable[[], Sequence[Case]]  # builds the inputs (seeded, deterministic)
    mistakes: tuple[Mistake, ...] = ()
    output: str = "per_example"  # "per_example" (one value per row, (B,)) or "scalar"
    extra_check: Callable[[Callable[..., Any]], str | None] | None = None
    confirmation: str = ""  # added to "correct" when the check passes
    rtol: float = 1e-4
    atol: float = 1e-5
    generic: bool = True  # also try the generic mistakes (sign, factor 2, batch reduction)
    compare_values: bool = True  # False: random outputs (shape only)

    @property
    def function_name(self) -> str:
        return self.id.split(".", 1)[1]


class _Raised(Exception):
    """The student's function raised: carries the original exception and the case."""

    def __init__(self, error: BaseException, case: Case) -> None:
        super().__init__(str(error))
        self.error, self.case = error, case


def as_array(value: Any) -> np.ndarray:
    """A function's output as a float64 array (tensors detached; scalars 0-d).

    Raises :class:`TypeError` with a message for outputs that are not numbers.
    """
    if value is None:
        raise TypeError("returned None: is a `return` statement missing?")
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError("returned a complex tensor: take the real part")
        return value.detach().cpu().double().numpy()
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"returned a boolean ({value}), not a number")
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise TypeError("returned a complex number: a matrix square root of a product of "
                        "covariances can come back with a tiny imaginary part; take `.real`")
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"returned {type(value).__name__}, not a number or a tensor")
    return array.astype(np.float64)


def call(fn: Callable[..., Any], case: Case) -> Any:
    """``fn(*case.args)`` on deep copies of the arguments (so no call can change a case)."""
    try:
        return fn(*copy.deepcopy(case.args))
    except Exception as error:  # noqa: BLE001 -- any error of student code is reported
        raise _Raised(error, case) from error


def _squeeze_scalar(a: np.ndarray) -> np.ndarray:
    return a.reshape(()) if a.size == 1 else a


def close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Same shape and equal within tolerance (NaN equals NaN, inf equals inf)."""
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.nanmax(np.abs(b[np.isfinite(b)]), initial=0.0)))
    return bool(np.allclose(a, b, rtol=rtol, atol=atol * scale, equal_nan=True))


def _fmt(a: np.ndarray, n: int = 3) -> str:
    flat = a.reshape(-1)[:n]
    text = ", ".join(f"{v:.5g}" for v in flat)
    return f"[{text}{', ...' if a.size > n else ''}]" if a.ndim else f"{float(a):.6g}"


def _shape(a: np.ndarray) -> str:
    return "a scalar" if a.ndim == 0 else f"shape {tuple(a.shape)}"


def _shape_message(ex: Exercise, case: Case, got: np.ndarray, want: np.ndarray) -> str:
    """Explain a shape mismatch, naming the batch reduction when that is what happened."""
    where = f" (inputs: {case.label})"
    if ex.output == "per_example" and got.size == 1 and want.ndim == 1:
        value = float(got.reshape(()))
        if np.isclose(value, want.mean(), rtol=1e-4, atol=1e-6):
            return ("you averaged over the batch: return one value per example, "
                    f"{_shape(want)}, not their mean" + where)
        if np.isclose(value, want.sum(), rtol=1e-4, atol=1e-6):
            return ("you summed over the batch: return one value per example, "
                    f"{_shape(want)}, not their sum" + where)
        return f"expected one value per example, {_shape(want)}; got {_shape(got)}" + where
    if ex.output == "per_example" and got.ndim == want.ndim + 1 and got.shape[0] == want.shape[0]:
        return (f"expected {_shape(want)} but got {_shape(got)}: sum over the last axis, "
                "so that each example gets one number" + where)
    if ex.output == "scalar" and want.size == 1 and got.ndim >= 1:
        if got.size == case.batch:
            return ("you returned one value per example; the loss is the mean over the "
                    "batch, a scalar: add .mean()" + where)
        return f"expected a scalar, got {_shape(got)}" + where
    return f"expected {_shape(want)}, got {_shape(got)}" + where


def _generic_mistakes(ex: Exercise) -> list[Mistake]:
    if not ex.generic:
        return []
    ref = ex.reference
    found = [
        Mistake("the sign is flipped: your values are the negatives of the correct ones",
                lambda *a: -as_array(ref(*a))),
        Mistake("a factor 1/2 is missing: your values are twice the correct ones",
                lambda *a: 2 * as_array(ref(*a))),
        Mistake("an extra factor 1/2: your values are half the correct ones",
                lambda *a: 0.5 * as_array(ref(*a))),
    ]
    return found


def _batch_sum_mistake(ex: Exercise, case: Case, got: np.ndarray, want: np.ndarray
                       ) -> bool:
    return (ex.output == "scalar" and case.batch is not None and case.batch > 1
            and close(got, want * case.batch, 1e-4, 1e-6))


def _diagnose_values(ex: Exercise, fn: Callable[..., Any], cases: Sequence[Case],
                     got: list[np.ndarray], want: list[np.ndarray]) -> str:
    """The message for outputs of the right shapes but wrong values."""
    for mistake in (*ex.mistakes, *_generic_mistakes(ex)):
        try:
            wrong = [_squeeze_scalar(as_array(mistake.wrong(*copy.deepcopy(c.args))))
                     for c in cases]
        except Exception:  # noqa: BLE001,S112 -- a mistake undefined on a case cannot match
            continue
        if all(close(g, w, ex.rtol * 10, ex.atol * 10) for g, w in zip(got, wrong, strict=True)):
            return mistake.message
    if all(_batch_sum_mistake(ex, c, g, w) for c, g, w in zip(cases, got, want, strict=True)):
        return ("you summed over the batch where the mean belongs (your loss grows with "
                "the batch size): use .mean() over the examples")
    pairs = [(g, w) for g, w in zip(got, want, strict=True) if np.all(np.isfinite(w))]
    finite = [bool(np.all(np.isfinite(g))) for g, _ in pairs]
    if not all(finite):
        index = finite.index(False)
        case = [c for c, w in zip(cases, want, strict=True) if np.all(np.isfinite(w))][index]
        return ("returned NaN or infinity where the correct value is finite "
                f"(inputs: {case.label}): the computation is numerically unstable, e.g. "
                "log of an exp that under- or overflows; use torch.logsumexp, "
                "F.logsigmoid or F.softplus")
    ratios = np.concatenate([(g / w).reshape(-1) for g, w in pairs
                             if np.all(np.abs(w) > 1e-6)] or [np.array([])])
    if ratios.size and np.allclose(ratios, ratios[0], rtol=1e-3) and not np.isclose(
            ratios[0], 1.0):
        return (f"your values are {ratios[0]:.4g} times the correct ones on every input: "
                "a constant factor is wrong")
    offsets = np.concatenate([(g - w).reshape(-1) for g, w in pairs] or [np.array([])])
    if offsets.size and np.allclose(offsets, offsets[0], rtol=1e-3, atol=1e-5):
        return (f"your values differ from the correct ones by the constant {offsets[0]:.5g} "
                "on every input: a constant term is missing or extra")
    for case, g, w in zip(cases, got, want, strict=True):
        if not close(g, w, ex.rtol, ex.atol):
            diff = np.nanmax(np.abs(g - w)) if g.shape == w.shape else float("nan")
            return (f"wrong values (inputs: {case.label}): expected {_fmt(w)}, got "
                    f"{_fmt(g)}, largest difference {diff:.3g}. None of the usual mistakes "
                    "explains it; compare each term with the formula in the chapter")
    return "wrong values"  # pragma: no cover -- only reached when nothing differs


def run_check(ex: Exercise, fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn`` against the exercise's reference; never raises for the student's errors."""
    if not callable(fn):
        return CheckResult(ex.id, ERROR, f"expected a function, got {type(fn).__name__}")
    cases = list(ex.cases())
    try:
        raw = [call(fn, c) for c in cases]
    except _Raised as raised:
        if isinstance(raised.error, NotImplementedError):
            return CheckResult(ex.id, NOT_IMPLEMENTED, not_implemented_message(ex))
        name = type(raised.error).__name__
        return CheckResult(ex.id, ERROR, f"your function raised {name}: {raised.error} "
                                         f"(inputs: {raised.case.label})")
    try:
        got = [as_array(r) for r in raw]
    except TypeError as err:
        return CheckResult(ex.id, FAILED, f"your function {err}")
    want = [as_array(ex.reference(*copy.deepcopy(c.args))) for c in cases]
    if ex.output == "scalar":
        got = [_squeeze_scalar(g) for g in got]
    for case, g, w in zip(cases, got, want, strict=True):
        if g.shape != w.shape:
            return CheckResult(ex.id, FAILED, _shape_message(ex, case, g, w))
    values_differ = not all(close(g, w, ex.rtol, ex.atol)
                            for g, w in zip(got, want, strict=True))
    if ex.compare_values and values_differ:
        return CheckResult(ex.id, FAILED, _diagnose_values(ex, fn, cases, got, want))
    if ex.extra_check is not None:
        try:
            problem = ex.extra_check(fn)
        except Exception as error:  # noqa: BLE001 -- the student's function raised
            return CheckResult(ex.id, ERROR, f"your function raised "
                                             f"{type(error).__name__}: {error}")
        if problem:
            return CheckResult(ex.id, FAILED, problem)
    extra = f" {ex.confirmation}" if ex.confirmation else ""
    if not ex.compare_values:
        return CheckResult(ex.id, PASSED, f"correct.{extra}")
    shapes = "; ".join(c.label for c in cases)
    return CheckResult(ex.id, PASSED,
                       f"correct: matches the reference on {len(cases)} inputs ({shapes}).{extra}")


def not_implemented_message(ex: Exercise) -> str:
    return (f"not yet implemented: write the body of `{ex.function_name}` (replace the "
            "`raise NotImplementedError(...)` line), then run the cell again")
