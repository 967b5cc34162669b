"""Chapter 2's exercise: the KL divergence between two diagonal Gaussians."""

from __future__ import annotations

import torch

from tutorial_lib.exercises.catalogue.common import SHAPES, randn, seeded, uniform
from tutorial_lib.exercises.checker import Case, Exercise, Mistake


def kl_diag_gaussians(mu_q: torch.Tensor, log_var_q: torch.Tensor, mu_p: torch.Tensor,
                      log_var_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, diag e^{log_var_q}) || N(mu_p, diag e^{log_var_p})) per row: (B, d) -> (B,)."""
    return 0.5 * (log_var_p - log_var_q
                  + (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp() - 1.0).sum(-1)


def _cases_kl_two() -> list[Case]:
    gen, out = seeded(2), []
    for b, d in SHAPES:
        args = (randn(gen, b, d), uniform(gen, b, d, low=-1.5, high=1.5),
                randn(gen, b, d), uniform(gen, b, d, low=0.3, high=1.5))
        out.append(Case(args, f"four tensors of shape ({b}, {d})", b))
    return out


KL_TWO = Exercise(
    id="ch02.kl_diag_gaussians",
    title="KL divergence between two diagonal Gaussians",
    signature="kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p) -> (B,)",
    reference=kl_diag_gaussians,
    cases=_cases_kl_two,
    mistakes=(
        Mistake("you computed KL(p || q), with the two Gaussians swapped: KL is not "
                "symmetric; the first argument q is the one the expectation is under",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mp, lp, mq, lq)),
        Mistake("the log-variances are used as variances: sigma^2 = exp(log_var)",
                lambda mq, lq, mp, lp: 0.5 * (torch.log(lp / lq)
                                              + (lq + (mq - mp) ** 2) / lp - 1).sum(-1)),
        Mistake("the -1 inside the sum is missing (check: KL(q || q) must be 0)",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mq, lq, mp, lp) + 0.5 * mq.shape[-1]),
        Mistake("the sign of the log-variance term is flipped: the term is "
                "log(sigma_p^2 / sigma_q^2) = log_var_p - log_var_q",
                lambda mq, lq, mp, lp: 0.5 * (lq - lp + ((lq.exp() + (mq - mp) ** 2)
                                                         / lp.exp()) - 1).sum(-1)),
        Mistake("a mean over dimensions where the sum belongs: for independent "
                "coordinates the KL is the sum of the per-dimension KLs",
                lambda mq, lq, mp, lp: kl_diag_gaussians(mq, lq, mp, lp) / mq.shape[-1]),
    ),
    confirmation="Compare with torch.distributions.kl_divergence on two Independent Normals.",
)
