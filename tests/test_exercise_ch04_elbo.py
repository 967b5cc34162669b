"""Chapter 4's exercise 4.6, ``my_elbo(model, x)``: the ELBO of a whole Bernoulli VAE from
``model.encode`` and ``model.decode``, checked against realistic mistakes and correct
variants, as tests/test_exercise_mistakes.py does for the other exercises.

The check's models fix the random seed inside ``encode``, so a function that draws its
noise after encoding (``torch.randn_like(mu)``, ``torch.randn(mu.shape)``, ``rsample``)
draws the reference's noise and can be compared number by number.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from tutorial_lib.exercises import EXERCISES, FAILED, PASSED, run_check
from tutorial_lib.exercises.catalogue.ch04 import NOISE_SEED, my_elbo
from tutorial_lib.vae import elbo

TD = torch.distributions
E = "ch04.my_elbo"


def _bce_sum(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _kl(mu, lv):
    return 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(1)


def _student(*, std=None, z=None, rec=None, kl=None, kl_sign=-1.0, post=None):
    """A student's my_elbo with one thing changed (each keyword replaces one step)."""
    def fn(model, x):
        mu, lv = model.encode(x)
        eps = torch.randn_like(mu)
        sigma = (0.5 * lv).exp() if std is None else std(lv)
        sample = mu + sigma * eps if z is None else z(mu, sigma, eps)
        logits = model.decode(sample)
        log_px = -_bce_sum(logits, x) if rec is None else rec(logits, x)
        value = log_px + kl_sign * (_kl(mu, lv) if kl is None else kl(mu, lv))
        return value if post is None else post(value, log_px, mu, lv)
    return fn


def _naive_log_sigmoid(logits, x):
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)


def _under_no_grad(model, x):
    with torch.no_grad():
        return my_elbo(model, x)


# (what the student did, the function, words the message must contain; "" = only rejected)
MISTAKES: list[tuple[str, Callable, str]] = [
    ("z = mu + exp(log_var) * eps (exercise part 3)", _student(std=torch.exp), "variance"),
    ("log_var used as sigma", _student(std=lambda lv: lv), "standard deviation"),
    ("sigma = sqrt(log_var) (NaN for negative log_var)",
     _student(std=lambda lv: lv.clamp_min(0).sqrt()), ""),
    ("decoder on mu", _student(z=lambda mu, s, e: mu), "sees mu"),
    ("KL added", _student(kl_sign=1.0), "MINUS"),
    ("no 1/2 in the KL", _student(kl=lambda mu, lv: 2 * _kl(mu, lv)), "1/2"),
    ("-1 forgotten in the KL", _student(kl=lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv)
                                        .sum(1)), "-1"),
    ("sigma in the KL's variance term",
     _student(kl=lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1).sum(1)), "sigma"),
    ("KL averaged over latent dimensions",
     _student(kl=lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).mean(1)), "mean over"),
    ("BCE with its default reduction",
     _student(rec=lambda lg, x: -F.binary_cross_entropy_with_logits(lg, x)), "reduction"),
    ("BCE averaged over pixels",
     _student(rec=lambda lg, x: -F.binary_cross_entropy_with_logits(
         lg, x, reduction="none").flatten(1).mean(1)), "mean over the pixels"),
    ("BCE on sigmoid(logits)",
     _student(rec=lambda lg, x: -_bce_sum(torch.sigmoid(lg), x)), "sigmoid"),
    ("BCE's arguments swapped", _student(rec=lambda lg, x: -_bce_sum(x, lg)), "swapped"),
    ("naive log(sigmoid)", _student(rec=_naive_log_sigmoid), "logit"),
    ("binary_cross_entropy on sigmoid (caps the log at -100)",
     _student(rec=lambda lg, x: -F.binary_cross_entropy(torch.sigmoid(lg), x,
                                                        reduction="none").flatten(1).sum(1)),
     "logit"),
    ("returned the negative ELBO, the loss", _student(post=lambda v, r, mu, lv: -v), "sign"),
    ("returned the batch mean", _student(post=lambda v, r, mu, lv: v.mean()),
     "averaged over the batch"),
    ("returned (elbo, rec, kl) as in the page's first draft",
     _student(post=lambda v, r, mu, lv: (v, r, _kl(mu, lv))), "tuple"),
    ("returned a detached tensor", _student(post=lambda v, r, mu, lv: v.detach()), "gradient"),
    ("computed under torch.no_grad()", _under_no_grad, "gradient"),
    ("uniform noise (torch.rand_like)",
     _student(z=lambda mu, s, e: mu + s * torch.rand_like(mu)), ""),
]


def _rsample(model, x):
    mu, lv = model.encode(x)
    q = TD.Normal(mu, (0.5 * lv).exp())
    z = q.rsample()
    log_px = TD.Bernoulli(logits=model.decode(z)).log_prob(x).flatten(1).sum(1)
    kl = TD.kl_divergence(q, TD.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1)
    return log_px - kl


def _library(model, x):
    return elbo(model, x).elbo


def _pytorch_examples(model, x):
    mu, log_var = model.encode(x)
    std = torch.exp(0.5 * log_var)
    z = mu + std * torch.randn(mu.shape)
    bce = torch.stack([F.binary_cross_entropy_with_logits(a, b, reduction="sum")
                       for a, b in zip(model.decode(z), x, strict=True)])
    return -bce + 0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)


def _softplus(model, x):
    mu, lv = model.encode(x)
    z = torch.addcmul(mu, lv.mul(0.5).exp(), torch.empty_like(mu).normal_())
    a = model.decode(z).view(len(x), -1)
    return (x.view(len(x), -1) * a - F.softplus(a)).sum(-1) - _kl(mu, lv)


def _loop_of_n(model, x, n=1):
    """The page's solution, with its loop over n samples (n = 1 here)."""
    mu, log_var = model.encode(x)
    rec = 0.0
    for _ in range(n):
        z = mu + (0.5 * log_var).exp() * torch.randn_like(mu)
        rec = rec - _bce_sum(model.decode(z), x)
    return rec / n - _kl(mu, log_var)


CORRECT: list[tuple[str, Callable]] = [
    ("the reference", my_elbo),
    ("torch.distributions: rsample, Bernoulli, kl_divergence", _rsample),
    ("the library's elbo(model, x).elbo", _library),
    ("the pytorch/examples form, BCE summed per image in a loop", _pytorch_examples),
    ("x a - softplus(a), addcmul and normal_", _softplus),
    ("the page's solution with n = 1", _loop_of_n),
]


@pytest.mark.parametrize("what, fn, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_every_mistake_is_rejected_and_named(what, fn, words) -> None:
    result = run_check(EXERCISES[E], fn)
    assert result.status == FAILED, result.message
    assert words.lower() in result.message.lower(), result.message


def test_most_mistakes_are_named() -> None:
    named = sum(bool(w) for _, _, w in MISTAKES)
    assert named >= 0.7 * len(MISTAKES)


@pytest.mark.parametrize("what, fn", CORRECT, ids=[c[0] for c in CORRECT])
def test_no_correct_variant_is_refused(what, fn) -> None:
    result = run_check(EXERCISES[E], fn)
    assert result.status == PASSED, result.message


def test_each_catalogued_mistake_is_named() -> None:
    ex = EXERCISES[E]
    assert len(ex.mistakes) >= 8
    for mistake in ex.mistakes:
        assert run_check(ex, mistake.wrong).message == mistake.message


def test_the_reference_is_the_librarys_elbo_with_the_same_noise() -> None:
    """With the seed the check's models set, my_elbo and elbo(model, x) draw the same eps."""
    case = EXERCISES[E].cases()[0]
    model, x = case.args
    assert torch.allclose(my_elbo(model, x), elbo(model, x).elbo, atol=1e-5)
    torch.manual_seed(NOISE_SEED + 1)
    first = my_elbo(model, x)  # encode reseeds: the noise does not depend on the state before
    assert torch.equal(first, my_elbo(model, x))


def test_unfinished_is_not_implemented() -> None:
    def stub(model, x):
        raise NotImplementedError("write my_elbo")
    assert run_check(EXERCISES[E], stub).status == "not implemented"
