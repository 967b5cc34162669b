"""Chapter 4's exercises, the VAE: the KL term, the reparameterized sample and the
ELBO of a Bernoulli decoder."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise, Mistake
from tutorial_lib.vae.gaussian import kl_to_standard_normal, reparameterize


def _cases_mu_log_var() -> list[Case]:
    gen, out = seeded(4), []
    for b, d in SHAPES:
        out.append(Case((randn(gen, b, d), uniform(gen, b, d, low=-2.0, high=1.5)),
                        f"mu, log_var of shape ({b}, {d})", b))
    return out


KL_STD = Exercise(
    id="ch04.kl_to_standard_normal",
    title="the KL term of the VAE, KL(q(z|x) || N(0, I))",
    signature="kl_to_standard_normal(mu, log_var) -> (B,)",
    reference=kl_to_standard_normal,
    cases=_cases_mu_log_var,
    mistakes=(
        Mistake("the log-variance is used as the variance: sigma^2 = exp(log_var) and "
                "log sigma^2 = log_var",
                lambda mu, lv: 0.5 * (mu ** 2 + lv - torch.log(lv) - 1).sum(-1)),
        Mistake("you used sigma = exp(log_var / 2) where the variance sigma^2 = "
                "exp(log_var) belongs",
                lambda mu, lv: 0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1).sum(-1)),
        Mistake("the sign of the log-variance term is flipped: the KL has - log sigma^2",
                lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() + lv - 1).sum(-1)),
        Mistake("the -1 inside the sum is missing (check: the KL of N(0, I) to itself "
                "must be 0)",
                lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv).sum(-1)),
        Mistake("a mean over latent dimensions where the sum belongs: the KL between "
                "diagonal Gaussians is the sum of d_z one-dimensional KLs",
                lambda mu, lv: kl_to_standard_normal(mu, lv) / mu.shape[-1]),
    ),
    confirmation="The KL is 0 exactly when mu = 0 and log_var = 0.",
)


def _check_reparameterize(fn: Callable) -> str | None:
    n = 20_000
    mu = torch.tensor([[0.5, -1.0, 2.0]]).repeat(n, 1).requires_grad_(True)
    log_var = torch.tensor([[-1.0, 0.7, 1.6]]).repeat(n, 1).requires_grad_(True)
    z = fn(mu, log_var)
    if not isinstance(z, torch.Tensor):
        return f"expected a tensor z, got {type(z).__name__}"
    if z.shape != mu.shape:
        return f"expected z with the shape of mu, {tuple(mu.shape)}; got {tuple(z.shape)}"
    if not torch.isfinite(z).all():
        return ("z contains NaN: log_var can be negative, so it cannot be a variance or a "
                "standard deviation under a square root; sigma = exp(log_var / 2)")
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
    mean, std = z.mean(0), z.std(0)
    lv = log_var[0].detach()
    want_mean, want_std = mu[0].detach(), (0.5 * lv).exp()

    def near(a: torch.Tensor, b: torch.Tensor, tol: float) -> bool:
        return bool(torch.all((a - b).abs() <= tol * b.abs().clamp_min(0.1)))

    if float(std.max()) < 1e-6:
        return "z does not vary: the noise eps is missing (draw it with torch.randn_like(mu))"
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
        if near(mean, torch.zeros_like(mean) + 0.0, 0.05) or float(mean.abs().max()) < 0.05:
            return "the mean mu is not added: z = mu + sigma * eps"
        return f"the mean of z is wrong: got {mean.tolist()}, expected mu = {want_mean.tolist()}"
    corr = torch.corrcoef(z[:2000].T - want_mean[:, None])
    if float((corr - torch.eye(3)).abs().max()) > 0.2:
        return ("the coordinates of z are correlated: draw an independent eps for every "
                "entry, with the shape of mu")
    again = fn(mu.detach()[:50], log_var.detach()[:50])
    if torch.allclose(_as_tensor(again), z[:50]):
        return "two calls return the same z: do not seed the generator inside the function"
    return None


def _as_tensor(x) -> torch.Tensor:
    return x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(x)


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
    return out


def _bce_sum(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)


ELBO = Exercise(
    id="ch04.bernoulli_elbo",
    title="the VAE's ELBO with a Bernoulli decoder",
    signature="bernoulli_elbo(x, logits, mu, log_var) -> (B,)",
    reference=bernoulli_elbo,
    cases=_cases_elbo,
    mistakes=(
        Mistake("you returned the loss, -ELBO: the sign is flipped",
                lambda x, lg, mu, lv: -bernoulli_elbo(x, lg, mu, lv)),
        Mistake("the KL term is added: the ELBO is log p(x | z) MINUS KL(q || p)",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1) + kl_to_standard_normal(mu, lv)),
        Mistake("a mean over pixels where the sum belongs: pixels are independent given z, "
                "so log p(x | z) is a sum over pixels",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).mean(1) - kl_to_standard_normal(mu, lv)),
        Mistake("a mean over latent dimensions in the KL where the sum belongs",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1)
                - kl_to_standard_normal(mu, lv) / mu.shape[-1]),
        Mistake("sigmoid applied twice: binary_cross_entropy_with_logits takes the logits "
                "themselves, not sigmoid(logits)",
                lambda x, lg, mu, lv: -_bce_sum(torch.sigmoid(lg), x).sum(1)
                - kl_to_standard_normal(mu, lv)),
        Mistake("the factor 1/2 of the KL is missing",
                lambda x, lg, mu, lv: -_bce_sum(lg, x).sum(1) - 2 * kl_to_standard_normal(mu, lv)),
    ),
)
