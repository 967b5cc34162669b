"""Training a GAN: alternating discriminator (critic) and generator steps.

One iteration = ``n_critic`` calls of :func:`discriminator_step`, then one of
:func:`generator_step`. The loss variant (a row of :data:`~tutorial_lib.gan.losses.OBJECTIVES`)
decides the losses, the penalty and the number of critic steps. :func:`train_gan` adds
what every loop of the book has (:mod:`tutorial_lib.training`: a step or time budget, a
history of plain floats, a progress bar, and :class:`~tutorial_lib.training.TrainingDiverged`
when a loss or a parameter stops being finite, after restoring the last good state), and
what GANs use: a learning-rate decay, an exponential moving average of the generator's
weights (:func:`~tutorial_lib.training.ema_update`) and snapshots of samples on a fixed batch of z.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from tutorial_lib.device import get_device
from tutorial_lib.gan import losses as L
from tutorial_lib.gan.diffaugment import diff_augment
from tutorial_lib.gan.losses import LOSSES, OBJECTIVES
from tutorial_lib.gan.models import Discriminator, Generator
from tutorial_lib.training import (
    Budget,
    DivergenceGuard,
    ProgressBar,
    ema_decay,
    ema_update,
    record,
)
from tutorial_lib.validation import check_number, check_positive_int


@dataclass
class GANTrainConfig:
    """How to train (one field per knob)."""

    loss: str = "nonsaturating"  # a key of OBJECTIVES: both players' losses and the penalty
    steps: int = 2000  # generator steps
    max_seconds: float | None = None  # wall-clock budget: stop at whichever of ``steps``
    #   and ``max_seconds`` comes first; the learning-rate decay then follows the larger
    #   of the two fractions done (used to compare models at equal training time)
    batch_size: int = 256
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam; DCGAN uses beta1 = 0.5
    n_critic: int | None = None  # discriminator steps per generator step (None: by the loss)
    gp_weight: float = 10.0  # lambda of the gradient penalty
    r1_gamma: float = 1.0  # gamma of the R1 penalty
    clip: float = 0.01  # weight clipping limit (wgan-clip)
    critic_scale: float = 1.0  # both players see critic_scale * D(x): a fixed scale on the
    #   discriminator's output, penalties included. A spectrally normalized D is about
    #   1-Lipschitz; scale s lets its scores differ by s * distance (the hinge's margin)
    ema: float | None = None  # e.g. 0.999: keep a moving average of the generator; at
    #   step t the decay is min(ema, (1 + t) / (10 + t)), so early steps forget the
    #   initialization quickly (the warm-up of TensorFlow's ExponentialMovingAverage)
    decay_from: float | None = None  # e.g. 0.5: from this fraction of steps, both learning
    #   rates fall linearly to zero at the last step (None: constant learning rates)
    augment: str = ""  # DiffAugment policy for images, e.g. "translation,cutout": what the
    #   discriminator sees, real or fake, in both players' steps ("" for none)
    snapshot_every: int | None = None  # save generator samples every this many steps
    explode: float = 1e6  # |loss| above this counts as divergence
    seed: int = 0
    snapshot_z: int = 512  # how many fixed z to decode at each snapshot

    def critic_steps(self) -> int:
        """Discriminator steps per generator step: ``n_critic``, or the loss's own."""
        if self.n_critic is not None:
            return self.n_critic
        return OBJECTIVES[self.loss].critic_steps

    def check(self) -> None:
        """Raise ValueError for a setting training cannot start with."""
        if self.loss not in OBJECTIVES:
            raise ValueError(f"unknown loss {self.loss!r}; expected one of {LOSSES}")
        check_positive_int(self.steps, "steps")
        check_positive_int(self.batch_size, "batch_size")
        if self.n_critic is not None:
            check_positive_int(self.n_critic, "n_critic")
        check_number(self.critic_scale, "critic_scale", low=0, low_open=True)


@dataclass
class GANRun:
    """What training returns: history, snapshots and (optionally) the averaged generator."""

    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    ema_generator: Generator | None = None


@dataclass(frozen=True)
class DiscriminatorTerms:
    """What one discriminator step reports (plain floats)."""

    loss: float  # the discriminator's loss, penalty included
    gp: float | None = None  # the gradient penalty E (||grad f(x_hat)|| - 1)^2 (wgan-gp)
    r1: float | None = None  # the R1 value E ||grad_x D(x)||^2 (r1)

    def penalties(self) -> dict[str, float]:
        """The penalties this step computed, by name: {"gp": ...}, {"r1": ...} or {}."""
        return {name: value for name, value in (("gp", self.gp), ("r1", self.r1))
                if value is not None}


def discriminator_step(g: Generator, d: Discriminator, opt_d: torch.optim.Optimizer,
                       real: torch.Tensor, y: torch.Tensor | None,
                       config: GANTrainConfig) -> DiscriminatorTerms:
    """One update of D on real data x and as many fakes G(z): descend the variant's
    L_D(D(x), D(G(z))), plus lambda * GP (wgan-gp) or gamma / 2 * R1 (r1).

    real: (B, *data_shape); y: (B,) labels, given to the fakes too, or None.
    """
    objective = OBJECTIVES[config.loss]
    with torch.no_grad():  # G is held fixed in this step
        fake = g(g.sample_latent(len(real)), y)
    real, fake = diff_augment(real, config.augment), diff_augment(fake, config.augment)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return config.critic_scale * d(x, y)

    loss = objective.discriminator_loss(critic(real), critic(fake))
    gp = r1 = None
    if objective.penalty == "gp":  # Gulrajani et al. (2017), Algorithm 1
        gp = L.gradient_penalty(critic, real, fake)
        loss = loss + config.gp_weight * gp
    if objective.penalty == "r1":  # Mescheder et al. (2018), eq. (9)
        r1 = L.r1_penalty(critic, real)
        loss = loss + config.r1_gamma / 2 * r1
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    if objective.clip_weights:  # the WGAN's Lipschitz constraint (Arjovsky et al., 2017)
        L.clip_weights(d, config.clip)
    return DiscriminatorTerms(loss.item(), None if gp is None else gp.item(),
                              None if r1 is None else r1.item())


def generator_step(g: Generator, d: Discriminator, opt_g: torch.optim.Optimizer, n: int,
                   y: torch.Tensor | None, config: GANTrainConfig) -> float:
    """One update of G on n fresh samples G(z): descend the variant's L_G(D(G(z))), e.g.
    the non-saturating -E log D(G(z)). y: (n,) labels or None. Returns the loss."""
    fake = g(g.sample_latent(n), y)
    scores = config.critic_scale * d(diff_augment(fake, config.augment), y)
    loss = OBJECTIVES[config.loss].generator_loss(scores)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return loss.item()


def learning_rate_factor(config: GANTrainConfig) -> Callable[[float], float]:
    """The learning rates' factor after ``done`` generator steps (or their equivalent in
    time under ``max_seconds``): 1 up to ``decay_from * steps``, then linear to 0."""
    start = config.steps if config.decay_from is None else round(config.decay_from * config.steps)

    def factor(done: float) -> float:
        if done <= start:
            return 1.0
        return max(0.0, (config.steps - done) / max(1, config.steps - start))

    return factor


@torch.no_grad()
def _samples(g: Generator, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """G(z) in eval mode, on the CPU (a snapshot)."""
    g.eval()
    x = g(z, y).cpu()
    g.train()
    return x


def train_gan(
    g: Generator,
    d: Discriminator,
    sample_real: Callable[[int], torch.Tensor | tuple[torch.Tensor, torch.Tensor]],
    config: GANTrainConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    callback: Callable[[int, Generator, Discriminator], None] | None = None,
) -> GANRun:
    """Train ``g`` and ``d`` in place.

    Args:
        sample_real: returns a batch of real data, (B, *data_shape) (in the generator's
            output range), or (data, labels) for conditional networks.
        callback: called as callback(step, g, d) after every generator step (e.g. to
            record the discriminator's decision surface).

    Raises:
        TrainingDiverged: a loss or parameter stopped being finite; ``g`` and ``d`` hold
            their last good state, ``err.partial`` the run so far (history, EMA generator).
    """
    config = config or GANTrainConfig()
    config.check()
    device = get_device(device)
    g.to(device)
    d.to(device)
    torch.manual_seed(config.seed)
    opt_g = torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=config.betas)
    fixed_z = g.sample_latent(config.snapshot_z, torch.Generator().manual_seed(config.seed))
    fixed_y = (torch.arange(config.snapshot_z, device=device) % g.config.num_classes
               if g.config.num_classes > 0 else None)
    run = GANRun({"step": [], "loss_d": [], "loss_g": []},
                 ema_generator=copy.deepcopy(g).eval() if config.ema else None)
    guard = DivergenceGuard(g, d, history=run.history, partial=run, explode=config.explode,
                            hint="Try a lower learning rate or another loss variant.")
    lr_factor = learning_rate_factor(config)

    def real_batch() -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = sample_real(config.batch_size)
        if isinstance(batch, tuple):
            return batch[0].to(device), batch[1].to(device)
        return batch.to(device), None

    budget = Budget(config.steps, config.max_seconds)
    with ProgressBar(f"train GAN ({config.loss})", budget.total, progress) as bar:
        for step in range(1, config.steps + 1):
            for _ in range(config.critic_steps()):
                terms = discriminator_step(g, d, opt_d, *real_batch(), config)
            real, y = real_batch()  # for its size and labels
            loss_g = generator_step(g, d, opt_g, len(real), y, config)
            losses = {"loss_d": terms.loss, "loss_g": loss_g, **terms.penalties()}
            guard.check(step, losses)
            if run.ema_generator is not None:
                ema_update(run.ema_generator, g, ema_decay(config.ema, step))
            budget.tick(step)
            for opt, lr in ((opt_g, config.lr_g), (opt_d, config.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * lr_factor(budget.done)
            record(run.history, step=float(step), **losses)
            if config.snapshot_every and (step % config.snapshot_every == 0 or step == 1):
                run.snapshots.append((step, _samples(g, fixed_z, fixed_y)))
            if callback is not None:
                callback(step, g, d)
            bar.advance(losses if step % 50 == 0 else None)
            if budget.spent:
                break
    g.eval()
    return run
