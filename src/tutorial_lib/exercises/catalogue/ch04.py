"""Chapter 4's exercises, the VAE: the KL term, the reparameterized sample and the
ELBO of a Bernoulli decoder."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from tutorial_lib.exercises.catalogue.common import (
    SHAPES,
    UNSTABLE_LOGITS,
    extreme_logits,
    randn,
    seeded,
    uniform,
)
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.exercises.formula import Formula, Term, gaussian, mean_for_sum
from tutorial_lib.exercises.integrity import TENSOR, type_problem
from tutorial_lib.vae.gaussian import kl_to_standard_normal, reparameterize
from tutorial_lib.vae.models import VAE, VAEConfig


def _cases_mu_log_var() -> list[Case]:
    gen, out = seeded(4), []
    for b, d in SHAPES:
        out.append(Case((randn(gen, b, d), uniform(gen, b, d, low=-2.0, high=1.5)),
                        f"mu, log_var of shape ({b}, {d})", b))
    return out


def _diagnosis_cases() -> list[Case]:
    """Positive log-variances, where log(log_var) is defined (see chapter 1's)."""
    gen = seeded(104)
    return [Case((randn(gen, b, d), uniform(gen, b, d, low=0.2, high=1.5)),
                 f"mu, log_var > 0 of shape ({b}, {d})", b) for b, d in SHAPES]


KL_FORMULA = Formula(
    quantities=lambda mu, log_var: {"mu": mu, **gaussian(log_var)},
    terms=(
        Term("mu^2", lambda q: q["mu"] ** 2, 0.5, unsquared=lambda q: q["mu"]),
        Term("sigma^2 = exp(log_var)", lambda q: q["var"], 0.5),
        Term("-log sigma^2 = -log_var", lambda q: q["log_var"], -0.5),
        Term("-1", lambda q: 1.0, -0.5, constant=True),
    ),
    reduce=lambda t: t.sum(-1),
    wrong_reductions=(mean_for_sum("latent dimensions", "the KL between diagonal Gaussians "
                                   "is the sum of d_z one-dimensional KLs"),),
    reduced_over="the d_z latent dimensions",
    gaussians=("",),
)


KL_STD = Exercise(
    id="ch04.kl_to_standard_normal",
    title="the KL term of the VAE, KL(q(z|x) || N(0, I))",
    signature="kl_to_standard_normal(mu, log_var) -> (B,)",
    reference=kl_to_standard_normal,
    cases=_cases_mu_log_var,
    formula=KL_FORMULA,
    diagnosis_cases=_diagnosis_cases,
    grad_args=(0, 1),
    confirmation="The KL is 0 exactly when mu = 0 and log_var = 0.",
)


def _check_reparameterize(fn: Callable) -> str | None:
    n = 20_000
    mu = torch.tensor([[0.5, -1.0, 2.0]]).repeat(n, 1).requires_grad_(True)
    log_var = torch.tensor([[-1.0, 0.7, 1.6]]).repeat(n, 1).requires_grad_(True)
    z = fn(mu, log_var)
    problem = type_problem(z, TENSOR)
    if problem:
        return f"your function {problem}"
    if z.shape != mu.shape:
        return f"expected z with the shape of mu, {tuple(mu.shape)}; got {tuple(z.shape)}"
    if not torch.isfinite(z).all():
        return ("z contains NaN: the log-variance log_var is used as a variance or a standard "
                "deviation under a square root, but it can be negative; sigma = "
                "exp(log_var / 2)")
    if not z.requires_grad:
        return ("no gradient flows from z to mu and log_var: build z = mu + sigma * eps "
                "from the inputs (not torch.normal(...), .sample(), detach or no_grad)")
    grads = torch.autograd.grad(z.sum(), (mu, log_var), allow_unused=True)
    if grads[0] is None:
        return ("the mean mu is not added (no gradient reaches mu): "
                "z = mu + exp(log_var / 2) * eps")
    if grads[1] is None or not grads[1].abs().sum() > 0:
        return ("no gradient reaches log_var: scale the noise by sigma = exp(log_var / 2), "
                "computed from log_var")
    z = z.detach()
    again = fn(mu.detach(), log_var.detach())
    if isinstance(again, torch.Tensor) and torch.equal(again.detach(), z):
        return ("two calls on the same input return the same z: the function seeds the "
                "random generator (torch.manual_seed) or reuses a fixed eps; draw fresh noise "
                "on every call")
    lv = log_var[0].detach()
    want_mean, want_std = mu[0].detach(), (0.5 * lv).exp()
    if float((z - want_mean).abs().max()) < 1e-6:
        return "z does not vary: the noise eps is missing (draw it with torch.randn_like(mu))"
    if float(z.std(0).max()) < 1e-6:
        return ("every row of z is the same: one noise draw is shared across the batch; draw "
                "an independent eps for every entry, with the shape of mu (torch.randn_like)")
    return _spread_problem(z, want_mean, want_std, lv)


def _spread_problem(z: torch.Tensor, want_mean: torch.Tensor, want_std: torch.Tensor,
                    lv: torch.Tensor) -> str | None:
    """Mean, spread, shape of the noise and independence of 20,000 draws (3 coordinates)."""
    mean, std = z.mean(0), z.std(0)

    def near(a: torch.Tensor, b: torch.Tensor, tol: float) -> bool:
        return bool(torch.all((a - b).abs() <= tol * b.abs().clamp_min(0.1)))

    eps = (z - want_mean) / want_std
    if float(eps.min()) >= 0 and float(eps.max()) <= 1:
        return ("the noise is uniform on [0, 1) (torch.rand_like): eps must be standard "
                "normal, torch.randn_like(mu)")
    if not near(std, want_std, 0.05):
        if near(std, lv.exp(), 0.05):
            return ("the noise is scaled by exp(log_var), the variance: the standard "
                    "deviation is sigma = exp(log_var / 2) (a factor 1/2 is missing)")
        if near(std, lv.abs(), 0.05):
            return ("the log-variance is used as the standard deviation: sigma = "
                    "exp(log_var / 2)")
        if near(std, torch.ones_like(std), 0.05):
            return "the noise is not scaled: z = mu + sigma * eps with sigma = exp(log_var / 2)"
        return (f"the spread of z is wrong: sample standard deviations {std.tolist()}, "
                f"expected exp(log_var / 2) = {want_std.tolist()}")
    if not near(mean, want_mean, 0.05):
        if float(mean.abs().max()) < 0.05:
            return "the mean mu is not added: z = mu + sigma * eps"
        return f"the mean of z is wrong: got {mean.tolist()}, expected mu = {want_mean.tolist()}"
    corr = torch.corrcoef(z[:2000].T - want_mean[:, None])
    if float((corr - torch.eye(3)).abs().max()) > 0.2:
        return ("the coordinates of z are correlated: draw an independent eps for every "
                "entry, with the shape of mu")
    return None


REPARAMETERIZE = Exercise(
    id="ch04.reparameterize",
    title="the reparameterized sample z = mu + sigma * eps",
    signature="reparameterize(mu, log_var) -> (B, d_z)",
    reference=reparameterize,
    cases=_cases_mu_log_var,
    compare_values=False,
    extra_check=_check_reparameterize,
    confirmation="Checked on 20,000 draws: mean, standard deviation, independence, "
                 "and gradients to mu and log_var.",
)


def bernoulli_elbo(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
                   log_var: torch.Tensor) -> torch.Tensor:
    """The one-sample ELBO of a Bernoulli decoder: log p(x | z) - KL(q(z | x) || p(z)).

    Args:
        x: (B, 1, H, W) binary images; logits: (B, 1, H, W), the decoder's output at z.
        mu, log_var: (B, d_z), the encoder's output.
    Returns:
        (B,).
    """
    log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    return log_px - kl_to_standard_normal(mu, log_var)


def _cases_elbo() -> list[Case]:
    gen, out = seeded(5), []
    for b, side, d in ((3, 4, 5), (7, 3, 4), (5, 5, 11)):
        x = (torch.rand(b, 1, side, side, generator=gen) < 0.3).float()
        logits = randn(gen, b, 1, side, side, scale=2.0)
        mu, log_var = randn(gen, b, d), uniform(gen, b, d, low=-2.0, high=1.0)
        out.append(Case((x, logits, mu, log_var),
                        f"x, logits of shape ({b}, 1, {side}, {side}), mu, log_var ({b}, {d})",
                        b))
    x = (torch.rand(4, 1, 3, 3, generator=gen) < 0.5).float()
    out.append(Case((x, extreme_logits(gen, 4, 1, 3, 3), randn(gen, 4, 3),
                     uniform(gen, 4, 3, low=-2.0, high=1.0)),
                    "logits of size 25 to 120, both signs, shape (4, 1, 3, 3)", 4, extreme=True))
    return out


def _bce_sum(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)


def _log_px(q: dict) -> torch.Tensor:
    return -F.binary_cross_entropy_with_logits(q["logits"], q["x"], reduction="none").flatten(1)


ELBO_FORMULA = Formula(
    quantities=lambda x, logits, mu, log_var: {"x": x, "logits": logits, "mu": mu,
                                               "log_var": log_var},
    terms=(
        Term("log p(x | z) (the sum over pixels of -BCE)", lambda q: _log_px(q).sum(1),
             alternatives=(
                 ("binary_cross_entropy_with_logits with its default reduction=\"mean\", "
                  "one number for the whole batch: pass reduction=\"none\" and sum over the "
                  "pixels of each image", lambda q: _log_px(q).mean()),
                 ("a mean over pixels where the sum belongs: pixels are independent given z, "
                  "so log p(x | z) is a sum over pixels", lambda q: _log_px(q).mean(1)),
                 ("the input and the target of binary_cross_entropy_with_logits are swapped: "
                  "the logits come first, then the data x",
                  lambda q: _log_px({"logits": q["x"], "x": q["logits"]}).sum(1)),
                 ("sigmoid applied twice: binary_cross_entropy_with_logits takes the logits "
                  "themselves, not sigmoid(logits)",
                  lambda q: _log_px({**q, "logits": torch.sigmoid(q["logits"])}).sum(1)),
             )),
        Term("-KL(q(z | x) || p(z))", lambda q: kl_to_standard_normal(q["mu"], q["log_var"]),
             -1.0, alternatives=(
                 ("a mean over latent dimensions in the KL where the sum belongs",
                  lambda q: kl_to_standard_normal(q["mu"], q["log_var"]) / q["mu"].shape[-1]),
             )),
    ),
    # one term alone reduced over the batch (both at once change the shape: checked before)
    term_reductions=(("averaged over the batch, where the ELBO is one value per example "
                       "(average the ELBO over the batch only in the training loss)",
                       lambda t: t.mean(0)),
                      ("summed over the batch, where the ELBO is one value per example",
                       lambda t: t.sum(0))),
)


ELBO = Exercise(
    id="ch04.bernoulli_elbo",
    title="the VAE's ELBO with a Bernoulli decoder",
    signature="bernoulli_elbo(x, logits, mu, log_var) -> (B,)",
    reference=bernoulli_elbo,
    cases=_cases_elbo,
    formula=ELBO_FORMULA,
    mistakes=(
        Mistake("the KL term is added: the ELBO is log p(x | z) MINUS KL(q || p)",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1) + kl_to_standard_normal(mu, lv)),
    ),
    grad_args=(1, 2, 3),
    unstable_hint=UNSTABLE_LOGITS,
    confirmation="Stable at logits of size 120, where sigmoid rounds to 0 or 1.",
)


# ------------------------------------------------------------------ my_elbo(model, x)
NOISE_SEED = 1234  # the seed the checked models' encode() sets, so the noise is shared


class _SameNoiseVAE(VAE):
    """A small VAE whose ``encode`` seeds torch's global generator before it returns.

    ``my_elbo`` draws its noise with ``torch.randn_like(mu)`` after encoding, so the
    student's function and the reference then draw the same eps, and their one-sample ELBOs
    can be compared number by number (side effect: the global generator is reseeded).
    """

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        out = super().encode(x, y)
        torch.manual_seed(NOISE_SEED)
        return out


def _small_vae(seed: int, side: int, latent_dim: int, logit_bias: float | None = None
               ) -> VAE:
    """A seeded 16- or 9-pixel MLP VAE; ``logit_bias``: decoder logits near +-logit_bias."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = _SameNoiseVAE(VAEConfig(image_shape=(1, side, side), latent_dim=latent_dim,
                                        hidden=(8,)))
    if logit_bias is not None:
        last = model.decoder.net[-1]
        with torch.no_grad():
            last.weight.mul_(0.01)
            signs = torch.ones(last.bias.shape)
            signs[1::2] = -1.0
            last.bias.copy_(signs * logit_bias)
    return model


def my_elbo(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """The one-sample ELBO of a Bernoulli VAE per image, from ``model.encode`` and
    ``model.decode``: log p(x | z) - KL(q(z | x) || N(0, I)) with z = mu + sigma * eps.

    Args:
        model: a VAE with a Bernoulli decoder (``decode`` returns logits (B, 1, H, W)).
        x: (B, 1, H, W) binary images.
    Returns:
        (B,).
    """
    mu, log_var = model.encode(x)
    z = mu + (0.5 * log_var).exp() * torch.randn_like(mu)
    log_px = -F.binary_cross_entropy_with_logits(model.decode(z), x,
                                                 reduction="none").flatten(1).sum(1)
    return log_px - 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)


def _cases_my_elbo() -> list[Case]:
    gen, out = seeded(46), []
    for i, (b, side, d) in enumerate(((3, 4, 5), (7, 3, 4), (5, 4, 2))):
        x = (torch.rand(b, 1, side, side, generator=gen) < 0.4).float()
        out.append(Case((_small_vae(460 + i, side, d), x),
                        f"a VAE with d_z = {d}, x of shape ({b}, 1, {side}, {side})", b))
    x = (torch.rand(4, 1, 3, 3, generator=gen) < 0.5).float()  # half the pixels surprise
    out.append(Case((_small_vae(469, 3, 3, logit_bias=60.0), x),
                    "a VAE whose decoder outputs logits near +-60, x (4, 1, 3, 3)", 4,
                    extreme=True))
    return out


def _parts(model: VAE, x: torch.Tensor, z_of: Callable | None = None) -> tuple:
    """mu, log_var, and the logits at z (z = mu + sigma * eps unless ``z_of`` says)."""
    mu, log_var = model.encode(x)
    eps = torch.randn_like(mu)
    z = mu + (0.5 * log_var).exp() * eps if z_of is None else z_of(mu, log_var, eps)
    return mu, log_var, model.decode(z)


def _kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)


def _rec(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _with(z_of: Callable | None = None, rec: Callable = _rec, kl: Callable = _kl,
          kl_sign: float = -1.0) -> Callable:
    def wrong(model: VAE, x: torch.Tensor) -> torch.Tensor:
        mu, log_var, logits = _parts(model, x, z_of)
        return rec(logits, x) + kl_sign * kl(mu, log_var)
    return wrong


MY_ELBO = Exercise(
    id="ch04.my_elbo",
    title="the ELBO of a whole VAE, from encode and decode",
    signature="my_elbo(model, x) -> (B,)",
    reference=my_elbo,
    cases=_cases_my_elbo,
    grad_args=(0,),
    unstable_hint=UNSTABLE_LOGITS,
    mistakes=(
        Mistake("the noise is scaled by exp(log_var), the variance: the standard deviation "
                "is sigma = exp(log_var / 2), so z = mu + exp(0.5 * log_var) * eps",
                _with(z_of=lambda mu, lv, eps: mu + lv.exp() * eps)),
        Mistake("the log-variance is used as the standard deviation: sigma = "
                "exp(log_var / 2), so z = mu + exp(0.5 * log_var) * eps",
                _with(z_of=lambda mu, lv, eps: mu + lv * eps)),
        Mistake("the decoder sees mu, not the sample z = mu + sigma * eps: the "
                "reconstruction term is an expectation over q(z | x), estimated at a sample",
                _with(z_of=lambda mu, lv, eps: mu)),
        Mistake("the KL term is added: the ELBO is log p(x | z) MINUS KL(q || p)",
                _with(kl_sign=1.0)),
        Mistake("the factor 1/2 of the KL is missing: KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - "
                "log sigma_j^2 - 1)", _with(kl=lambda mu, lv: 2 * _kl(mu, lv))),
        Mistake("the -1 in the KL is missing (your ELBO is d_z / 2 too low): KL = 1/2 sum_j "
                "(mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)",
                _with(kl=lambda mu, lv: _kl(mu, lv) + 0.5 * mu.shape[1])),
        Mistake("sigma where sigma^2 belongs in the KL: its variance term is sigma_j^2 = "
                "exp(log_var), not exp(log_var / 2)",
                _with(kl=lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1).sum(1))),
        Mistake("a mean over latent dimensions in the KL where the sum belongs",
                _with(kl=lambda mu, lv: _kl(mu, lv) / mu.shape[1])),
        Mistake("a mean over the pixels where the sum belongs: pixels are independent given "
                "z, so log p(x | z) is a sum over pixels (pass reduction=\"none\", then sum "
                "over each image's pixels)",
                _with(rec=lambda lg, x: _rec(lg, x) / x[0].numel())),
        Mistake("binary_cross_entropy_with_logits with its default reduction=\"mean\", one "
                "number for the whole batch: pass reduction=\"none\" and sum over the pixels "
                "of each image",
                _with(rec=lambda lg, x: -F.binary_cross_entropy_with_logits(lg, x))),
        Mistake("sigmoid applied twice: model.decode returns logits, which "
                "binary_cross_entropy_with_logits takes as they are, not sigmoid(logits)",
                _with(rec=lambda lg, x: _rec(torch.sigmoid(lg), x))),
        Mistake("the input and the target of binary_cross_entropy_with_logits are swapped: "
                "the logits come first, then the data x",
                _with(rec=lambda lg, x: _rec(x, lg))),
    ),
    confirmation=("Checked with the book's noise: the models' encode() fixes the random seed, "
                  "so draw eps after encoding, with torch.randn_like(mu). Stable at logits "
                  "of size 60."),
)
