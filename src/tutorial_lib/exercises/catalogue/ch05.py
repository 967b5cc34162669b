"""Chapter 5's exercise: the importance-weighted (IWAE) bound from log-weights."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import log_weight_cases
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.vae.objectives import log_mean_exp


def _cases_iwae() -> list[Case]:
    small = [Case((lj - lq,), c.label.replace("log_joint, log_q", "log_weights"), c.batch)
             for c in log_weight_cases(big=False) for lj, lq in [c.args]]
    big = log_weight_cases(big=True)[0]
    lj, lq = big.args
    return [*small, Case((lj - lq,), "log_weights near -800, of shape (K=4, B=3)", 3)]


IWAE = Exercise(
    id="ch05.iwae_bound",
    title="the importance-weighted bound from log-weights",
    signature="iwae_bound(log_weights) -> (B,)",
    reference=log_mean_exp,
    cases=_cases_iwae,
    mistakes=(
        Mistake("you averaged the log-weights: that is the ELBO; the IWAE bound is the log "
                "of the average weight, log (1/K) sum_k exp(log w_k)",
                lambda lw: lw.mean(0)),
        Mistake("the -log K is missing: the bound is log of the MEAN weight, "
                "logsumexp(log_w) - log K",
                lambda lw: torch.logsumexp(lw, 0)),
        Mistake("exp underflows: log-weights of images are in the hundreds below zero, "
                "where exp(.) is 0 in floating point; use torch.logsumexp",
                lambda lw: torch.log(lw.exp().mean(0))),
    ),
    confirmation="Stable even for log-weights near -800, where exp underflows to 0.",
)
