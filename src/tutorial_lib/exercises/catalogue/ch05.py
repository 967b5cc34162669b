"""Chapter 5's exercise: the importance-weighted (IWAE) bound from log-weights."""

from __future__ import annotations

import math

import torch

from tutorial_lib.exercises.catalogue.common import log_weight_cases
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term
from tutorial_lib.vae.objectives import log_mean_exp


def _cases_iwae() -> list[Case]:
    small = [Case((lj - lq,), c.label.replace("log_joint, log_q", "log_weights"), c.batch)
             for c in log_weight_cases(big=False) for lj, lq in [c.args]]
    big = log_weight_cases(big=True)[0]
    lj, lq = big.args
    return [*small, Case((lj - lq,), "log_weights near -800, of shape (K=4, B=3)", 3,
                         extreme=True)]


def _shift_without_max(q: dict) -> torch.Tensor:
    lw = q["log_weights"]
    return torch.logsumexp(lw - lw.max(0).values, 0)


FORMULA = Formula(
    quantities=lambda log_weights: {"log_weights": log_weights,
                                    "K": float(log_weights.shape[0])},
    terms=(
        Term("log sum_k w_k (torch.logsumexp over the K samples, axis 0)",
             lambda q: torch.logsumexp(q["log_weights"], 0),
             alternatives=(("the max-shift trick without adding the max back: log sum_k "
                            "exp(log w_k - m) needs + m, where m = max_k log w_k",
                            _shift_without_max),)),
        Term("-log K", lambda q: math.log(q["K"]), -1.0, constant=True),
    ),
)


IWAE = Exercise(
    id="ch05.iwae_bound",
    title="the importance-weighted bound from log-weights",
    signature="iwae_bound(log_weights) -> (B,)",
    reference=log_mean_exp,
    cases=_cases_iwae,
    formula=FORMULA,
    grad_args=(0,),
    axes=("the K samples", "the B examples"),
    unstable_hint=("exp underflows: log-weights of images are hundreds of nats below zero, "
                   "where exp(.) is 0 in floating point; use torch.logsumexp(log_w, 0) - "
                   "log K, or shift by the max and add it back"),
    mistakes=(
        Mistake("you averaged the log-weights: that is the ELBO; the IWAE bound is the log "
                "of the average weight, log (1/K) sum_k exp(log w_k)",
                lambda lw: lw.mean(0)),
        Mistake("log K divides: log((1/K) sum_k w_k) = logsumexp(log w) - log K, not "
                "logsumexp(log w) / K", lambda lw: torch.logsumexp(lw, 0) / len(lw)),
    ),
    confirmation="Stable even for log-weights near -800, where exp underflows to 0.",
)
