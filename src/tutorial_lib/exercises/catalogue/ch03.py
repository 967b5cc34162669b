"""Chapter 3's exercise: the Monte Carlo ELBO from samples of q."""

from __future__ import annotations

import math

import torch

from tutorial_lib.exercises.catalogue.common import log_weight_cases
from tutorial_lib.exercises.checker import Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term


def elbo_from_samples(log_joint: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """The Monte Carlo ELBO: mean over K samples of log p(x, z_k) - log q(z_k | x).

    Args:
        log_joint, log_q: (K, B), sample k of example b.
    Returns:
        (B,).
    """
    return (log_joint - log_q).mean(0)


FORMULA = Formula(
    quantities=lambda log_joint, log_q: {"log_joint": log_joint, "log_q": log_q},
    terms=(Term("log p(x, z)", lambda q: q["log_joint"]),
           Term("-log q(z | x) (the entropy term)", lambda q: q["log_q"], -1.0)),
    reduce=lambda t: t.mean(0),
    wrong_reductions=(("a sum over the K samples where the Monte Carlo estimate averages "
                       "(mean over axis 0)", lambda t: t.sum(0)),),
)


ELBO_SAMPLES = Exercise(
    id="ch03.elbo_from_samples",
    title="the ELBO from samples of q",
    signature="elbo_from_samples(log_joint, log_q) -> (B,)",
    reference=elbo_from_samples,
    cases=lambda: log_weight_cases(big=False),
    formula=FORMULA,
    grad_args=(0, 1),
    axes=("the K samples", "the B examples"),
    mistakes=(
        Mistake("the sign is flipped: the ELBO is E_q[log p(x, z) - log q(z | x)]; you "
                "computed the mean of log q - log p (the negative ELBO)",
                lambda lj, lq: (lq - lj).mean(0)),
        Mistake("you computed log(mean(exp(.))), the importance-weighted bound of "
                "chapter 5; the ELBO averages the log-weights",
                lambda lj, lq: torch.logsumexp(lj - lq, 0) - math.log(len(lj))),
    ),
)
