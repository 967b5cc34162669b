"""GAN losses as pure functions of the discriminator's (critic's) outputs.

Conventions: ``real_logits`` and ``fake_logits`` are the discriminator's raw outputs
D(x) before any sigmoid, shape (B,) or (B, 1) with B >= 1; every loss returns a scalar
to MINIMIZE, averaged over the batch. The losses do not refuse NaN or infinite outputs:
they pass them on to the loss, where the training loop's divergence guard sees them.
With sigma the sigmoid, D(x) = sigma(logit) is the probability that x is real.

- Minimax / cross-entropy (Goodfellow et al., 2014, eq. 1): the discriminator maximizes
  E log D(x) + E log(1 - D(G(z))); the generator minimizes E log(1 - D(G(z)))
  ("saturating") or, in practice, maximizes E log D(G(z)) ("non-saturating", section 3).
- Wasserstein (Arjovsky et al., 2017): the critic maximizes E f(x) - E f(G(z)) over
  1-Lipschitz f; the generator minimizes -E f(G(z)). Lipschitz by weight clipping or by
  the gradient penalty (Gulrajani et al., 2017), which samples the interpolation weight
  eps ~ U[0, 1].
- Hinge (Lim & Ye, 2017; Miyato et al., 2018): E relu(1 - f(x)) + E relu(1 + f(G(z))).
- R1 (Mescheder et al., 2018): gamma/2 * E ||grad_x D(x)||^2 on real data.

:data:`OBJECTIVES` puts them together: one row per loss variant of the book, giving
each player's loss, the penalty added to the discriminator's, and how many
discriminator steps come before each generator step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tutorial_lib.validation import check_number, check_tensor


def _flat(logits: torch.Tensor, name: str) -> torch.Tensor:
    check_tensor(logits, name, ndim=(1, 2), nonempty=True)
    if logits.ndim == 2 and logits.shape[1] != 1:
        raise ValueError(f"{name}: expected one output per example, (B,) or (B, 1), got "
                         f"shape {tuple(logits.shape)}")
    return logits.reshape(-1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy: -[E log sigma(D(x)) + E log(1 - sigma(D(G(z))))].

    Pass ``fake_logits`` computed from *detached* generator samples, so this step does not
    update the generator.
    """
    real, fake = _flat(real_logits, "real_logits"), _flat(fake_logits, "fake_logits")
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax generator loss E log(1 - sigma(D(G(z)))) (to minimize).

    Its gradient vanishes when the discriminator confidently rejects the samples
    (sigma(D) near 0): the reason for the non-saturating loss.
    """
    fake = _flat(fake_logits, "fake_logits")
    return -F.softplus(fake).mean()  # log(1 - sigmoid(l)) = -softplus(l)


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss -E log sigma(D(G(z))) (to minimize)."""
    fake = _flat(fake_logits, "fake_logits")
    return F.softplus(-fake).mean()  # -log sigmoid(l) = softplus(-l)


def critic_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor
                            ) -> torch.Tensor:
    """-(E f(x) - E f(G(z))): the negative of the Wasserstein-1 dual estimate."""
    return _flat(fake_scores, "fake_scores").mean() - _flat(real_scores, "real_scores").mean()


def generator_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E f(G(z))."""
    return -_flat(fake_scores, "fake_scores").mean()


def discriminator_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor
                             ) -> torch.Tensor:
    """E relu(1 - f(x)) + E relu(1 + f(G(z)))."""
    real, fake = _flat(real_scores, "real_scores"), _flat(fake_scores, "fake_scores")
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def generator_loss_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E f(G(z)) (the generator side of the hinge loss)."""
    return -_flat(fake_scores, "fake_scores").mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """E (||grad f(x_hat)||_2 - 1)^2 with x_hat = eps x + (1 - eps) x_fake, eps ~ U[0, 1].

    One interpolation weight per example, drawn uniformly as in Gulrajani et al. (2017),
    Algorithm 1. ``fake`` should be detached. The graph is kept (create_graph) so the
    penalty can be back-propagated into the critic. Returns a scalar (multiply by lambda,
    10 in the paper).
    """
    check_tensor(real, "real", nonempty=True)
    check_tensor(fake, "fake", nonempty=True)
    if real.shape != fake.shape:
        raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} must match")
    shape = (len(real),) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor
               ) -> torch.Tensor:
    """E ||grad_x D(x)||^2 on real data (multiply by gamma / 2)."""
    check_tensor(real, "real", nonempty=True)
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@torch.no_grad()
def clip_weights(module: torch.nn.Module, limit: float = 0.01) -> None:
    """Weight clipping (Arjovsky et al., 2017): clamp every parameter to [-limit, limit]."""
    check_number(limit, "limit", low=0, low_open=True)
    for p in module.parameters():
        p.clamp_(-limit, limit)


@dataclass(frozen=True)
class GANObjective:
    """One loss variant: what each player minimizes, and the discriminator's schedule."""

    discriminator_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # of D(x),
    #   D(G(z)): the discriminator's (critic's) loss, without its penalty
    generator_loss: Callable[[torch.Tensor], torch.Tensor]  # of D(G(z))
    penalty: str | None = None  # "gp": + lambda * gradient_penalty; "r1": + gamma/2 *
    #   r1_penalty (also the name of its history entry); None: no penalty
    critic_steps: int = 1  # discriminator steps per generator step
    clip_weights: bool = False  # clamp the critic's weights after each of its steps


OBJECTIVES: dict[str, GANObjective] = {
    "minimax": GANObjective(discriminator_loss, generator_loss_saturating),
    "nonsaturating": GANObjective(discriminator_loss, generator_loss_nonsaturating),
    "wgan-clip": GANObjective(critic_loss_wasserstein, generator_loss_wasserstein,
                              critic_steps=5, clip_weights=True),
    "wgan-gp": GANObjective(critic_loss_wasserstein, generator_loss_wasserstein,
                            penalty="gp", critic_steps=5),
    "hinge": GANObjective(discriminator_loss_hinge, generator_loss_hinge),
    "r1": GANObjective(discriminator_loss, generator_loss_nonsaturating, penalty="r1"),
}
LOSSES = tuple(OBJECTIVES)  # the names of the loss variants
