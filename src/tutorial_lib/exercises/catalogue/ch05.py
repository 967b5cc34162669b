"""Chapter 5's exercises: the importance-weighted (IWAE) bound, free bits, and the
normalized importance weights."""

from __future__ import annotations

import math

import torch

from tutorial_lib.exercises.catalogue.common import log_weight_cases, seeded
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
                                    "K": float(log_weights.shape[0]),
                                    "B": float(log_weights.shape[1])},
    terms=(
        Term("log sum_k w_k (torch.logsumexp over the K samples, axis 0)",
             lambda q: torch.logsumexp(q["log_weights"], 0),
             alternatives=(("the max-shift trick without adding the max back: log sum_k "
                            "exp(log w_k - m) needs + m, where m = max_k log w_k",
                            _shift_without_max),)),
        Term("-log K", lambda q: math.log(q["K"]), -1.0, constant=True, alternatives=(
            ("log B, of the batch size (axis 1), where log K, of the number of samples "
             "(axis 0), belongs", lambda q: math.log(q["B"])),)),
    ),
)


IWAE = Exercise(
    id="ch05.iwae_from_log_weights",
    title="the importance-weighted bound from log-weights",
    signature="iwae_from_log_weights(log_weights) -> (B,)",
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


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL term with free bits (Kingma et al., 2016): sum_j max(lambda, mean_b KL_bj).

    Each latent dimension's KL, averaged over the batch, is clamped from below at
    ``free_bits`` nats, so that a dimension below the floor gets no gradient pushing it
    further to the prior. kl_per_dim: (B, d_z) -> scalar.
    """
    return kl_per_dim.mean(0).clamp_min(free_bits).sum()


def _cases_free_bits() -> list[Case]:
    gen, out = seeded(51), []
    for (b, d), floor in zip(((6, 5), (9, 4), (4, 8)), (0.5, 0.25, 1.0), strict=True):
        kl = torch.rand(b, d, generator=gen) * 2 * floor  # some dimensions below the floor
        out.append(Case((kl, floor), f"kl_per_dim ({b}, {d}), free_bits = {floor}", b))
    return out


FREE_BITS = Exercise(
    id="ch05.free_bits_kl",
    title="the KL term with free bits",
    signature="free_bits_kl(kl_per_dim, free_bits) -> scalar",
    reference=free_bits_kl,
    cases=_cases_free_bits,
    output="scalar",
    grad_args=(0,),
    mistakes=(
        Mistake("the floor is applied to each example before the batch mean: free bits clamp "
                "each dimension's KL averaged over the batch, max(lambda, mean_b KL_bj)",
                lambda kl, fb: kl.clamp_min(fb).mean(0).sum()),
        Mistake("min where max belongs: the floor keeps the KL of a dimension from going "
                "below lambda, max(lambda, KL_j)", lambda kl, fb: kl.mean(0).clamp_max(fb).sum()),
        Mistake("one floor for the whole KL, max(lambda, sum_j KL_j): free bits give each "
                "latent dimension its own floor",
                lambda kl, fb: kl.mean(0).sum().clamp_min(fb)),
        Mistake("a mean over the latent dimensions where the sum belongs",
                lambda kl, fb: kl.mean(0).clamp_min(fb).mean()),
        Mistake("the floor is subtracted (a hinge, max(0, KL_j - lambda)): free bits replace "
                "the KL below lambda by lambda itself",
                lambda kl, fb: (kl.mean(0) - fb).clamp_min(0).sum()),
    ),
    confirmation="Dimensions below the floor get no gradient.",
)


def importance_weights(log_weights: torch.Tensor) -> torch.Tensor:
    """The normalized importance weights w_k / sum_j w_j over the K samples, from
    log-weights: (K, B) -> (K, B), each column summing to 1 (a softmax over axis 0)."""
    return torch.softmax(log_weights, dim=0)


IMPORTANCE_WEIGHTS = Exercise(
    id="ch05.importance_weights",
    title="the normalized importance weights",
    signature="importance_weights(log_weights) -> (K, B)",
    reference=importance_weights,
    cases=_cases_iwae,
    output="array",
    grad_args=(0,),
    unstable_hint=("exp underflows: log-weights of images are hundreds of nats below zero, "
                   "where exp(.) is 0 and 0 / 0 is NaN; subtract the max over the K samples "
                   "first, or use torch.softmax(log_w, dim=0)"),
    generic=False,
    mistakes=(
        Mistake("normalized over the wrong axis: each example's K weights must sum to 1, "
                "a softmax over axis 0 (the K samples), not over the B examples",
                lambda lw: torch.softmax(lw, dim=1)),
        Mistake("not normalized: divide the weights by their sum over the K samples",
                lambda lw: torch.exp(lw - lw.max(0).values)),
        Mistake("you returned the log of the normalized weights (log_softmax): return the "
                "weights themselves", lambda lw: torch.log_softmax(lw, dim=0)),
        Mistake("divided by K, not by the sum of the weights: that is the uniform weight 1/K "
                "only when the weights are equal", lambda lw: torch.exp(lw - lw.max(0).values)
                / len(lw)),
    ),
)
