"""The exercise checker: run a student's function against the reference, say what is wrong.

An :class:`Exercise` holds a reference implementation, a few input cases of different
shapes (including the extreme ones the chapter warns about, such as logits of size 100),
its structure as a :class:`~tutorial_lib.exercises.formula.Formula` where it has one, and
a few hand-written :class:`Mistake` s for the slips no structure predicts (KL(p || q) for
KL(q || p), the saturating generator loss). The checker

1. runs the student's function on every case (on copies of the inputs); an exception, or
   a result of the wrong type (a tuple, a NumPy array, a Python float, None), becomes a
   message that names it;
2. compares shapes, naming the axis reduced by mistake, then values with the reference's;
3. when the values differ, looks for the explanation: correct except at the extreme
   inputs (numerical instability); a hand-written mistake; one or two of the mistakes
   derived from the formula's structure (a term dropped, a sign flipped, a mean for a sum,
   the log-variance for the variance, ...); a batch sum for a mean; zeros; NaN; a
   constant factor or offset; and only then says the values differ, with an example;
4. when the values agree, checks that the result carries the reference's gradient to the
   inputs the exercise names (no ``.item()``, ``.detach()`` or ``torch.no_grad()``), then
   runs the exercise's own ``extra_check`` (randomness, detach, penalties).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tutorial_lib.exercises.formula import Formula, derived_changes, evaluate, pairs
from tutorial_lib.exercises.integrity import (
    NUMBER,
    TENSOR,
    as_array,
    exception_hint,
    gradient_problem,
    type_problem,
)

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"


@dataclass(frozen=True)
class Case:
    """One input to an exercise: the positional arguments and, for messages, a label."""

    args: tuple
    label: str  # e.g. "mu, log_var of shape (3, 5)"
    batch: int | None = None  # the batch size B, for the batch-reduction diagnosis
    extreme: bool = False  # inputs where a naive formula over- or underflows


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

    def _ipython_display_(self) -> None:
        """Nothing: :func:`~tutorial_lib.exercises.check` has printed this result's line
        already, and a notebook cell that ends with ``check(...)`` would show it twice."""


@dataclass(frozen=True)
class Exercise:
    """A code exercise: the reference, the inputs it is checked on, the mistakes it knows."""

    id: str  # "ch04.kl_to_standard_normal": chapter, then the function's name
    title: str  # one line, for reports
    signature: str  # e.g. "kl_to_standard_normal(mu, log_var) -> (B,)"
    reference: Callable[..., Any]
    cases: Callable[[], Sequence[Case]]  # builds the inputs (seeded, deterministic)
    mistakes: tuple[Mistake, ...] = ()
    output: str = "per_example"  # "per_example" (one value per row, (B,)), "scalar", or
    # "array" (the shape of an input: a sample, an updated parameter, weights)
    extra_check: Callable[[Callable[..., Any]], str | None] | None = None
    confirmation: str = ""  # added to "correct" when the check passes
    rtol: float = 1e-4
    atol: float = 1e-5
    generic: bool = True  # also try the generic mistakes (sign, factor 2, batch reduction)
    compare_values: bool = True  # False: random outputs (shape only)
    formula: Formula | None = None  # the reference's structure: derived mistakes
    diagnosis_cases: Callable[[], Sequence[Case]] | None = None  # where mistakes are told
    # apart (e.g. positive log-variances, where log(log_var) is defined); default: the
    # cases that are not extreme
    returns: str = TENSOR  # TENSOR (a loss, a sample: must stay a tensor) or NUMBER
    grad_args: tuple[int, ...] = ()  # arguments whose gradient must match the reference's
    axes: tuple[str, ...] = ()  # names of the first argument's axes, for shape messages
    unstable_hint: str = ""  # what to say when only the extreme cases go wrong

    def __post_init__(self) -> None:
        if self.output not in ("per_example", "scalar", "array"):
            raise ValueError("output: expected 'per_example', 'scalar' or 'array', got "
                             f"{self.output!r}")
        if self.returns not in (TENSOR, NUMBER):
            raise ValueError(f"returns: expected {TENSOR!r} or {NUMBER!r}, got {self.returns!r}")

    @property
    def function_name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def argument_names(self) -> list[str]:
        """The names in the signature, e.g. ["mu", "log_var"]."""
        inside = re.search(r"\((.*?)\)", self.signature)
        return [a.strip() for a in inside.group(1).split(",")] if inside else []


class _Raised(Exception):
    """The student's function raised: carries the original exception and the case."""

    def __init__(self, error: BaseException, case: Case) -> None:
        super().__init__(str(error))
        self.error, self.case = error, case


def call(fn: Callable[..., Any], case: Case) -> Any:
    """``fn(*case.args)`` on deep copies of the arguments (so no call can change a case)."""
    try:
        return fn(*copy.deepcopy(case.args))
    except Exception as error:  # noqa: BLE001 -- any error of student code is reported
        raise _Raised(error, case) from error


def _outputs(fn: Callable[..., Any], cases: Sequence[Case], ex: Exercise
             ) -> list[np.ndarray] | None:
    """``fn`` on ``cases`` as arrays, or None when it raises or returns the wrong type."""
    try:
        raw = [call(fn, c) for c in cases]
    except _Raised:
        return None
    if any(type_problem(r, ex.returns) for r in raw):
        return None
    out = [as_array(r) for r in raw]
    return [_squeeze_scalar(o) for o in out] if ex.output == "scalar" else out


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


def _wrong_axis(ex: Exercise, case: Case, got: np.ndarray, want: np.ndarray) -> str | None:
    """Name the axis reduced by mistake: the first argument's shape without axis i."""
    first = case.args[0] if case.args else None
    shape = tuple(getattr(first, "shape", ()))
    if len(shape) < 2 or len(ex.axes) != len(shape):
        return None
    kept = [i for i in range(len(shape)) if shape[:i] + shape[i + 1:] == tuple(want.shape)]
    wrong = [i for i in range(len(shape)) if shape[:i] + shape[i + 1:] == tuple(got.shape)]
    if kept and wrong:
        return (f"you reduced over the wrong axis: over {ex.axes[wrong[0]]} (axis {wrong[0]}) "
                f"where the reduction is over {ex.axes[kept[0]]} (axis {kept[0]}); expected "
                f"{_shape(want)}, got {_shape(got)}")
    return None


def _shape_message(ex: Exercise, case: Case, got: np.ndarray, want: np.ndarray) -> str:
    """Explain a shape mismatch, naming the batch reduction when that is what happened."""
    where = f" (inputs: {case.label})"
    axis = _wrong_axis(ex, case, got, want)
    if axis:
        return axis + where
    if ex.output == "per_example" and got.size == 1 and want.ndim == 1:
        value = float(got.reshape(()))
        if np.isclose(value, want.mean(), rtol=1e-4, atol=1e-6):
            return ("you averaged over the batch: return one value per example, "
                    f"{_shape(want)}, not their mean" + where)
        if np.isclose(value, want.sum(), rtol=1e-4, atol=1e-6):
            return ("you summed over the batch: return one value per example, "
                    f"{_shape(want)}, not their sum" + where)
        return (f"expected one value per example, {_shape(want)}; got a single number: a "
                "reduction over the batch (and more) happened, e.g. .mean() or .sum() over "
                "everything, or a loss function's default reduction=\"mean\"" + where)
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
    return [
        Mistake("the sign is flipped: your values are the negatives of the correct ones",
                lambda *a: -as_array(ref(*a))),
        Mistake("a factor 1/2 is missing: your values are twice the correct ones",
                lambda *a: 2 * as_array(ref(*a))),
        Mistake("an extra factor 1/2: your values are half the correct ones",
                lambda *a: 0.5 * as_array(ref(*a))),
    ]


def _batch_sum_mistake(ex: Exercise, case: Case, got: np.ndarray, want: np.ndarray
                       ) -> bool:
    return (ex.output == "scalar" and case.batch is not None and case.batch > 1
            and close(got, want * case.batch, 1e-4, 1e-6))


def _matches(ex: Exercise, wrong: Callable[..., Any], cases: Sequence[Case],
             got: Sequence[np.ndarray]) -> bool:
    """Does ``wrong`` give the student's outputs on every case (NaN where they have NaN)?"""
    for case, g in zip(cases, got, strict=True):
        try:
            w = _squeeze_scalar(as_array(wrong(*copy.deepcopy(case.args))))
        except Exception:  # noqa: BLE001 -- a mistake undefined on a case cannot match
            return False
        if not close(g, w, ex.rtol * 10, ex.atol * 10):
            return False
    return True


def _listed(ex: Exercise, cases: Sequence[Case], got: Sequence[np.ndarray]) -> str | None:
    """The hand-written, then the generic mistake that explains ``got``."""
    return next((m.message for m in (*ex.mistakes, *_generic_mistakes(ex))
                 if _matches(ex, m.wrong, cases, got)), None)


def _derived(ex: Exercise, cases: Sequence[Case], got: Sequence[np.ndarray]) -> str | None:
    """One, then two of the mistakes derived from the formula, that explain ``got``."""
    if ex.formula is None:
        return None
    formula, single = ex.formula, derived_changes(ex.formula)
    for group in (single, pairs(single)):
        for change in group:
            if _matches(ex, lambda *a, c=change: evaluate(formula, c, a), cases, got):
                return change.message
    return None


def _nonfinite(ex: Exercise, cases: Sequence[Case], got: Sequence[np.ndarray],
               want: Sequence[np.ndarray]) -> str | None:
    for case, g, w in zip(cases, got, want, strict=True):
        bad = ~np.isfinite(g) & np.isfinite(w)
        if bad.any():
            kind = "NaN" if np.isnan(g[bad]).any() else "infinity"
            hint = f": {ex.unstable_hint}" if ex.unstable_hint else (
                ": somewhere a log of 0 or of a negative number, a division by 0, or an exp "
                "that overflows")
            extreme = " (at the extreme inputs the chapter warns about)" if case.extreme else ""
            return (f"returned {kind} where the correct value is finite{extreme} (inputs: "
                    f"{case.label}){hint}")
    return None


def _diagnosis_outputs(ex: Exercise, fn: Callable[..., Any], ordinary: list[Case],
                       got: list[np.ndarray]) -> tuple[list[Case], list[np.ndarray]]:
    """The inputs mistakes are told apart on, and the student's outputs there: the
    exercise's diagnosis cases when the function runs on them with the reference's shapes,
    else the ordinary cases."""
    if ex.diagnosis_cases is not None:
        diagnosis = list(ex.diagnosis_cases())
        seen, want = _outputs(fn, diagnosis, ex), _outputs(ex.reference, diagnosis, ex)
        if seen is not None and want is not None and all(
                g.shape == w.shape for g, w in zip(seen, want, strict=True)):
            return diagnosis, seen
    return ordinary, got


def _diagnose_values(ex: Exercise, fn: Callable[..., Any], cases: Sequence[Case],
                     got: list[np.ndarray], want: list[np.ndarray]) -> str:
    """The message for outputs of the right shapes but wrong values."""
    ordinary = [i for i, c in enumerate(cases) if not c.extreme]
    if len(ordinary) < len(cases) and all(close(got[i], want[i], ex.rtol, ex.atol)
                                          for i in ordinary):
        return _extreme_message(ex, cases, got, want)
    diagnosis, seen = _diagnosis_outputs(ex, fn, [cases[i] for i in ordinary],
                                         [got[i] for i in ordinary])
    found = _listed(ex, diagnosis, seen)
    if found:
        return found
    if all(_batch_sum_mistake(ex, c, g, w) for c, g, w in zip(cases, got, want, strict=True)):
        return ("you summed over the batch where the mean belongs (your loss grows with "
                "the batch size): use .mean() over the examples")
    found = _derived(ex, diagnosis, seen)
    if found:
        return found
    nonfinite = _nonfinite(ex, cases, got, want)
    if nonfinite:
        return nonfinite
    if all(np.all(g == 0) for g in got):
        return ("returned zeros on every input, where the correct values are not zero: is "
                "the computation finished, and is the result returned (not a placeholder)?")
    ratios = np.concatenate([(g / w).reshape(-1) for g, w in zip(got, want, strict=True)
                             if np.all(np.abs(w) > 1e-6)] or [np.array([])])
    if ratios.size and np.allclose(ratios, ratios[0], rtol=1e-3) and not np.isclose(
            ratios[0], 1.0):
        return (f"your values are {ratios[0]:.4g} times the correct ones on every input: "
                f"{_factor_meaning(float(ratios[0]))}")
    offsets = np.concatenate([(g - w).reshape(-1) for g, w in zip(got, want, strict=True)]
                             or [np.array([])])
    if offsets.size and np.allclose(offsets, offsets[0], rtol=1e-3, atol=1e-5):
        return (f"your values differ from the correct ones by the constant {offsets[0]:.5g} "
                "on every input: a constant term is missing or extra")
    for case, g, w in zip(cases, got, want, strict=True):
        if not close(g, w, ex.rtol, ex.atol):
            diff = np.nanmax(np.abs(g - w))
            return (f"wrong values (inputs: {case.label}): expected {_fmt(w)}, got "
                    f"{_fmt(g)}, largest difference {diff:.3g}. None of the usual mistakes "
                    "explains it; compare each term with the formula in the chapter")
    return "wrong values"  # pragma: no cover -- only reached when nothing differs


_FACTORS = ((2.0, "a factor 1/2 is missing in front (you have twice the value)"),
            (0.5, "an extra factor 1/2 (you have half the value)"),
            (1.0, "the right size"))


def _factor_meaning(ratio: float) -> str:
    """What a constant ratio ``got / want`` says: a factor 1/2 missing or extra, a sign."""
    sign = "; and the sign is flipped" if ratio < 0 else ""
    for factor, meaning in _FACTORS:
        if math.isclose(abs(ratio), factor, rel_tol=1e-3):
            if factor == 1.0:
                return "the sign is flipped: the whole expression has the wrong sign"
            return meaning + sign
    return "a constant factor is wrong" + sign


def _extreme_message(ex: Exercise, cases: Sequence[Case], got: Sequence[np.ndarray],
                     want: Sequence[np.ndarray]) -> str:
    """Right on ordinary inputs, wrong on the extreme ones: numerical instability."""
    case, g, w = next((c, g, w) for c, g, w in zip(cases, got, want, strict=True)
                      if not close(g, w, ex.rtol, ex.atol))
    what = "NaN or infinity" if not np.all(np.isfinite(g)) else f"{_fmt(g)}"
    return (f"right on ordinary inputs, but wrong at the extreme inputs the chapter warns "
            f"about ({case.label}): expected {_fmt(w)}, got {what}"
            + (f": {ex.unstable_hint}" if ex.unstable_hint else ""))


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
        return CheckResult(ex.id, ERROR, _raised_message(raised.error, raised.case))
    for case, r in zip(cases, raw, strict=True):
        problem = type_problem(r, ex.returns)
        if problem:
            return CheckResult(ex.id, FAILED, f"your function {problem} (inputs: {case.label})")
    got = [as_array(r) for r in raw]
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
    try:
        problem = _integrity_problem(ex, fn, cases)
    except Exception as error:  # noqa: BLE001 -- the student's function raised
        return CheckResult(ex.id, ERROR, _raised_message(error, None))
    if problem:
        return CheckResult(ex.id, FAILED, problem)
    extra = f" {ex.confirmation}" if ex.confirmation else ""
    if not ex.compare_values:
        return CheckResult(ex.id, PASSED, f"correct.{extra}")
    shapes = "; ".join(c.label for c in cases)
    return CheckResult(ex.id, PASSED,
                       f"correct: matches the reference on {len(cases)} inputs ({shapes}).{extra}")


def _integrity_problem(ex: Exercise, fn: Callable[..., Any], cases: Sequence[Case]
                       ) -> str | None:
    """The gradient on every ordinary case, then the exercise's own extra check."""
    if ex.grad_args:
        for case in cases:
            if not case.extreme:
                problem = gradient_problem(fn, ex.reference, case.args, ex.grad_args,
                                           ex.argument_names)
                if problem:
                    return problem
    return ex.extra_check(fn) if ex.extra_check is not None else None


def _raised_message(error: BaseException, case: Case | None) -> str:
    where = f" (inputs: {case.label})" if case is not None else ""
    return (f"your function raised {type(error).__name__}: {error}{where}"
            f"{exception_hint(error)}")


def not_implemented_message(ex: Exercise) -> str:
    return (f"not yet implemented: write the body of `{ex.function_name}` (replace the "
            "`raise NotImplementedError(...)` line), then run the cell again")
