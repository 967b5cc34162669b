"""Mistakes derived from how a reference is built, not listed one by one.

A reference written as a :class:`Formula`, a reduction of a weighted sum of named terms,

    reduce( sum_i c_i * term_i(quantities(args)) ),

yields its likely mistakes mechanically (:func:`derived_changes`): each term dropped, its
sign flipped, its factor doubled or halved, its square missing, its two distributions
swapped, it alone reduced the wrong way (summed where the others are averaged); a
constant added once instead of once per dimension; the reduction's sum taken as a mean;
and, for a Gaussian given by its log-variance, the log-variance, the variance and the
standard deviation confused for one another (a change of a quantity the formula does not
read is a no-op, and never matches a wrong answer). Every change names the term, the axis
or the parameter it touched, so that the message says *where* the mistake is. Two changes at once
(:func:`pairs`) cover the student who made two slips.

Terms and quantities work on torch tensors or NumPy arrays alike: the formula only adds,
multiplies and calls the functions it is given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

Quantities = Mapping[str, Any]


@dataclass(frozen=True)
class Term:
    """One additive term ``coefficient * value(q)`` of a formula, before its reduction."""

    name: str  # how messages name it, e.g. "-1/2 log(2 pi)"
    value: Callable[[Quantities], Any]  # from the named quantities (a number for a constant)
    coefficient: float = 1.0
    constant: bool = False  # the same for every element (log 2 pi, -1): also tried "once"
    unsquared: Callable[[Quantities], Any] | None = None  # the same term without its square
    alternatives: tuple[tuple[str, Callable[[Quantities], Any]], ...] = ()  # known wrong forms


@dataclass(frozen=True)
class Formula:
    """A reference as ``reduce(sum_i c_i term_i)``, with what its mistakes are made of.

    ``gaussians`` names the suffixes ``s`` of the Gaussians in ``quantities``: each has the
    keys ``log_var{s}``, ``var{s}`` and ``std{s}`` (see :func:`gaussian`). ``swap`` names two
    suffixes (``("_q", "_p")``) whose quantities a term may have exchanged.
    """

    quantities: Callable[..., Quantities]  # the arguments -> the named quantities
    terms: tuple[Term, ...]
    reduce: Callable[[Any], Any] | None = None  # e.g. a sum over the last axis; None: none
    reduced_over: str = ""  # what ``reduce`` sums over, e.g. "the d dimensions"
    wrong_reductions: tuple[tuple[str, Callable[[Any], Any]], ...] = ()  # (message, reduce)
    # wrong reductions of one term alone (the formula's own are tried on each term, too)
    term_reductions: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    gaussians: tuple[str, ...] = ()
    swap: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.terms or not all(isinstance(t, Term) for t in self.terms):
            raise TypeError(f"terms: expected a non-empty tuple of Term, got {self.terms!r}")
        if self.swap is not None and (len(self.swap) != 2 or self.swap[0] == self.swap[1]):
            raise ValueError(f"swap: expected two different suffixes, got {self.swap!r}")
        if (self.reduce is not None and any(t.constant for t in self.terms)
                and not self.reduced_over):
            raise ValueError("reduced_over: a formula with a reduction and a constant term "
                             "must say what the reduction sums over, e.g. 'the d dimensions'")

    def __call__(self, *args: Any) -> Any:
        return evaluate(self, Change("", ""), args)


@dataclass(frozen=True)
class Change:
    """One way of getting the formula wrong, and what to say about it."""

    message: str
    target: str  # what it changes (a term, a Gaussian, the reduction): pairs differ in it
    coefficients: Mapping[int, float] = field(default_factory=dict)  # term index -> c
    values: Mapping[int, Callable[[Quantities], Any]] = field(default_factory=dict)
    once: frozenset[int] = frozenset()  # constant terms added once, outside the reduction
    swapped: frozenset[int] = frozenset()  # terms that read the other distribution's values
    edit: Callable[[dict], dict] | None = None  # changes the quantities (Gaussian mix-ups)
    reduce: Callable[[Any], Any] | None = None  # replaces the reduction
    reduced: Mapping[int, Callable[[Any], Any]] = field(default_factory=dict)  # term ->
    # its own (wrong) reduction, added outside the formula's reduction


def gaussian(log_var: Any, suffix: str = "") -> dict[str, Any]:
    """The three parameterizations of a Gaussian's spread, keyed for a :class:`Formula`."""
    return {f"log_var{suffix}": log_var, f"var{suffix}": log_var.exp(),
            f"std{suffix}": (0.5 * log_var).exp()}


def _swap_keys(q: Quantities, a: str, b: str) -> dict:
    out = dict(q)
    for key in q:
        if key.endswith(a) and key[: -len(a)] + b in q:
            out[key], out[key[: -len(a)] + b] = q[key[: -len(a)] + b], q[key]
    return out


def mean_for_sum(over: str, why: str = "", axis: int | tuple[int, ...] = -1
                 ) -> tuple[str, Callable[[Any], Any]]:
    """The wrong reduction "a mean over ``over`` where the sum belongs", for a Formula."""
    return (f"a mean over {over} where the sum belongs" + (f": {why}" if why else ""),
            lambda t: t.mean(axis))


def evaluate(formula: Formula, change: Change, args: tuple) -> Any:
    """The formula on ``args`` with ``change`` applied."""
    q = dict(formula.quantities(*args))
    if change.edit is not None:
        q = change.edit(q)
    inside, outside = 0.0, 0.0
    for i, term in enumerate(formula.terms):
        c = change.coefficients.get(i, term.coefficient)
        if c == 0:
            continue
        qi = _swap_keys(q, *formula.swap) if i in change.swapped and formula.swap else q
        v = c * change.values.get(i, term.value)(qi)
        if i in change.reduced:
            outside = outside + change.reduced[i](v)
        elif i in change.once:
            outside = outside + v
        else:
            inside = inside + v
    reduce = change.reduce or formula.reduce
    return (reduce(inside) if reduce is not None else inside) + outside


def _gaussian_changes(s: str) -> list[Change]:
    sigma, named = f"sigma{s}", f" log_var{s}" if s else ""

    def set_(**pairs: Callable[[dict], Any]) -> Callable[[dict], dict]:
        def edit(q: dict) -> dict:
            new = dict(q)
            new.update({f"{k}{s}": f(q) for k, f in pairs.items()})
            return new
        return edit

    lv, var, std = f"log_var{s}", f"var{s}", f"std{s}"
    return [
        Change(f"the log-variance{named} is used as the variance throughout: {sigma}^2 "
               f"= exp(log_var{s}) and log {sigma}^2 = log_var{s}", f"gaussian{s}",
               edit=set_(var=lambda q: q[lv], std=lambda q: q[lv] ** 0.5,
                         log_var=lambda q: _log(q[lv]))),
        Change(f"the log-variance{named} is used as the variance where {sigma}^2 = "
               f"exp(log_var{s}) belongs", f"gaussian{s}", edit=set_(var=lambda q: q[lv])),
        Change(f"the standard deviation {sigma} is used where the variance {sigma}^2 "
               f"belongs", f"gaussian{s}", edit=set_(var=lambda q: q[std])),
        Change(f"the variance {sigma}^2 is used where log {sigma}^2 = log_var{s} belongs",
               f"gaussian{s}", edit=set_(log_var=lambda q: q[var])),
        Change(f"the variance exp(log_var{s}) is used where the standard deviation {sigma} "
               f"= exp(log_var{s} / 2) belongs", f"gaussian{s}", edit=set_(std=lambda q: q[var])),
        Change(f"the log-variance{named} is used as the standard deviation where {sigma} = "
               f"exp(log_var{s} / 2) belongs", f"gaussian{s}", edit=set_(std=lambda q: q[lv])),
        Change(f"the variance exp(log_var{s}) is used as the standard deviation (as the "
               f"scale of a Normal): {sigma} = exp(log_var{s} / 2)", f"gaussian{s}",
               edit=set_(std=lambda q: q[var], var=lambda q: q[var] ** 2,
                         log_var=lambda q: 2 * q[lv])),
    ]


def _log(x: Any) -> Any:
    return x.log() if hasattr(x, "log") else math.log(x)


def _term_changes(formula: Formula, i: int) -> list[list[Change]]:
    """The changes of term ``i``, by kind: missing, sign, factor, then its own forms."""
    t = formula.terms[i]
    c, name = t.coefficient, t.name
    missing = [Change(f"the term {name} is missing", name, coefficients={i: 0.0})
               ] if any(not u.constant for j, u in enumerate(formula.terms) if j != i) else []
    sign = [Change(f"the term {name} has the wrong sign", name, coefficients={i: -c})]
    factor = [Change(f"a factor 1/2 is missing in front of the term {name}: you have it "
                     "twice", name, coefficients={i: 2 * c}),
              Change(f"an extra factor 1/2 in front of the term {name}: you have half of it",
                     name, coefficients={i: 0.5 * c})]
    form = [Change(message, name, values={i: wrong}) for message, wrong in t.alternatives]
    if t.unsquared is not None:  # as written (signed), and as its absolute value
        unsquared = t.unsquared
        form += [Change(f"in the term {name}, the square is missing: it must be squared",
                        name, values={i: unsquared}),
                 Change(f"in the term {name}, the square is missing (an absolute value or a "
                        "norm where the square belongs): it must be squared", name,
                        values={i: lambda q: abs(unsquared(q))})]
    if formula.swap is not None and not t.constant:
        a, b = formula.swap
        form.append(Change(f"in the term {name}, the two distributions are swapped (the "
                           f"{a.strip('_')} parameters where the {b.strip('_')} ones belong, or "
                           "the other way round)", name, swapped=frozenset({i})))
    if not t.constant and len(formula.terms) > 1:
        form += [Change(f"the term {name} alone is reduced differently from the others: "
                        f"{message}", name, reduced={i: wrong})
                 for message, wrong in formula.wrong_reductions + formula.term_reductions]
    if t.constant and formula.reduce is not None:
        form.append(Change(f"the constant {name} is added once; it belongs inside the sum over "
                           f"{formula.reduced_over}, once for each", name, once=frozenset({i})))
    return [missing, sign, factor, form]


def derived_changes(formula: Formula) -> list[Change]:
    """The single mistakes the formula's structure suggests, each with its message: every
    term's missing first, then the signs, the factors, the terms' own wrong forms, the
    reductions and the Gaussians' parameters (the first that explains an answer names it)."""
    by_term = [_term_changes(formula, i) for i in range(len(formula.terms))]
    out = [change for kind in zip(*by_term, strict=True) for changes in kind
           for change in changes]
    out.extend(Change(message, "reduction", reduce=wrong)
               for message, wrong in formula.wrong_reductions)
    for s in formula.gaussians:
        out.extend(_gaussian_changes(s))
    return out


def _compose(a: Callable[[dict], dict] | None, b: Callable[[dict], dict] | None
             ) -> Callable[[dict], dict] | None:
    if a is None or b is None:
        return a or b
    return lambda q: b(a(q))


def combine(a: Change, b: Change) -> Change:
    """Both changes at once (they touch different targets)."""
    return replace(
        a, message=f"two mistakes: {a.message}; and {b.message}", target=f"{a.target}+{b.target}",
        coefficients={**a.coefficients, **b.coefficients}, values={**a.values, **b.values},
        once=a.once | b.once, swapped=a.swapped | b.swapped, edit=_compose(a.edit, b.edit),
        reduced={**a.reduced, **b.reduced},
        reduce=b.reduce or a.reduce)


def pairs(changes: list[Change]) -> Iterator[Change]:
    """Every two changes of different targets, combined."""
    for a, b in itertools.combinations(changes, 2):
        if a.target != b.target:
            yield combine(a, b)
