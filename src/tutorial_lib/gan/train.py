"""Training a GAN: alternating discriminator (critic) and generator steps.

One iteration = ``n_critic`` discriminator steps, then one generator step. The loss
variant decides the losses, the penalty and the optimizer settings. The loop keeps a
history of plain floats, optional snapshots of generator samples on a fixed batch of z,
an optional exponential moving average of the generator's weights, and stops with
:class:`GANDiverged` when a loss becomes NaN or explodes, restoring the last good state.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from tutorial_lib.gan import losses as L
from tutorial_lib.gan.diffaugment import diff_augment
from tutorial_lib.gan.models import Discriminator, Generator
from tutorial_lib.progress import finish_early
from tutorial_lib.snapshot import LastGoodState

VARIANTS = ("minimax", "nonsaturating", "wgan-clip", "wgan-gp", "hinge", "r1")


class GANDiverged(RuntimeError):
    """A loss became NaN or exploded; the networks hold their last good state."""


@dataclass
class GANTrainConfig:
    """How to train (one field per knob)."""

    variant: str = "nonsaturating"  # one of VARIANTS
    steps: int = 2000  # generator steps
    max_seconds: float | None = None  # wall-clock budget: stop at whichever of ``steps``
    #   and ``max_seconds`` comes first; the learning-rate decay then follows the larger
    #   of the two fractions done (used to compare models at equal training time)
    batch_size: int = 256
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam; DCGAN uses beta1 = 0.5
    n_critic: int | None = None  # discriminator steps per generator step (None: by variant)
    gp_weight: float = 10.0  # lambda of the gradient penalty
    r1_gamma: float = 1.0  # gamma of the R1 penalty
    clip: float = 0.01  # weight clipping limit (wgan-clip)
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
        if self.n_critic is not None:
            return self.n_critic
        return 5 if self.variant in ("wgan-clip", "wgan-gp") else 1


@dataclass
class GANRun:
    """What training returns: history, snapshots and (optionally) the averaged generator."""

    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    ema_generator: Generator | None = None


def _losses(variant: str, d: Discriminator, real: torch.Tensor, fake: torch.Tensor,
            config: GANTrainConfig, y_real=None, y_fake=None) -> torch.Tensor:
    real_out, fake_out = d(real, y_real), d(fake, y_fake)
    if variant in ("minimax", "nonsaturating", "r1"):
        loss = L.discriminator_loss(real_out, fake_out)
        if variant == "r1":
            loss = loss + config.r1_gamma / 2 * L.r1_penalty(lambda x: d(x, y_real), real)
        return loss
    if variant == "hinge":
        return L.discriminator_loss_hinge(real_out, fake_out)
    loss = L.critic_loss_wasserstein(real_out, fake_out)
    if variant == "wgan-gp":
        loss = loss + config.gp_weight * L.gradient_penalty(lambda x: d(x, y_real), real, fake)
    return loss


def _generator_loss(variant: str, fake_out: torch.Tensor) -> torch.Tensor:
    if variant == "minimax":
        return L.generator_loss_saturating(fake_out)
    if variant in ("nonsaturating", "r1"):
        return L.generator_loss_nonsaturating(fake_out)
    if variant == "hinge":
        return L.generator_loss_hinge(fake_out)
    return L.generator_loss_wasserstein(fake_out)


def ema_decay(ema: float, step: int) -> float:
    """The moving average's decay after generator step ``step`` (1, 2, ...)."""
    return min(ema, (1 + step) / (10 + step))


def _decay(config: GANTrainConfig) -> Callable[[float], float]:
    """Learning-rate factor after ``done`` generator steps (or their equivalent in time
    under ``max_seconds``): 1, then linear to 0."""
    start = config.steps if config.decay_from is None else round(config.decay_from * config.steps)

    def factor(done: float) -> float:
        if done <= start:
            return 1.0
        return max(0.0, (config.steps - done) / max(1, config.steps - start))

    return factor


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
    """
    from tutorial_lib.device import get_device

    config = config or GANTrainConfig()
    if config.variant not in VARIANTS:
        raise ValueError(f"unknown variant {config.variant!r}; expected one of {VARIANTS}")
    device = get_device() if device is None else torch.device(device)
    g.to(device)
    d.to(device)
    torch.manual_seed(config.seed)
    opt_g = torch.optim.Adam(g.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr_d, betas=config.betas)
    conditional = g.config.num_classes > 0
    fixed_z = g.sample_latent(config.snapshot_z, torch.Generator().manual_seed(config.seed))
    fixed_y = (torch.arange(config.snapshot_z, device=device) % g.config.num_classes
               if conditional else None)
    ema = copy.deepcopy(g).eval() if config.ema else None
    lr_factor = _decay(config)
    history: dict[str, list[float]] = {"step": [], "loss_d": [], "loss_g": []}
    run = GANRun(history, [], ema)
    good = LastGoodState(g, d)

    def real_batch():
        batch = sample_real(config.batch_size)
        if isinstance(batch, tuple):
            return batch[0].to(device), batch[1].to(device)
        return batch.to(device), None

    def augment(x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, config.augment) if config.augment else x

    bar = tqdm(range(1, config.steps + 1), desc=f"train GAN ({config.variant})",
               disable=not progress,  # under a time budget the step count is unknown
               total=float("inf") if config.max_seconds is not None else None)
    start = time.perf_counter()
    for step in bar:
        for _ in range(config.critic_steps()):  # discriminator_step
            real, y_real = real_batch()
            z = g.sample_latent(len(real))
            with torch.no_grad():
                fake = g(z, y_real)  # the same labels for fakes when conditional
            loss_d = _losses(config.variant, d, augment(real), augment(fake), config,
                             y_real, y_real)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            if config.variant == "wgan-clip":
                L.clip_weights(d, config.clip)
        real, y = real_batch()  # generator_step
        fake = g(g.sample_latent(len(real)), y)
        loss_g = _generator_loss(config.variant, d(augment(fake), y))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        ld, lg = loss_d.item(), loss_g.item()
        if not (math.isfinite(ld) and math.isfinite(lg)) or max(abs(ld), abs(lg)) > config.explode:
            good.restore()
            raise GANDiverged(
                f"training diverged at step {step} (discriminator loss {ld:.3g}, generator "
                f"loss {lg:.3g}); both networks were restored to their state at step "
                f"{step - 1}. Try a lower learning rate or another loss variant."
            )
        good.save()
        if ema is not None:
            with torch.no_grad():
                beta = ema_decay(config.ema, step)
                for pe, p in zip(ema.parameters(), g.parameters(), strict=True):
                    pe.lerp_(p, 1 - beta)
                for be, b in zip(ema.buffers(), g.buffers(), strict=True):
                    be.copy_(b)
        done: float = step  # steps done, or their equivalent in time if that is further
        if config.max_seconds is not None:
            elapsed = (time.perf_counter() - start) / config.max_seconds
            done = max(step, min(1.0, elapsed) * config.steps)
        for opt, base in ((opt_g, config.lr_g), (opt_d, config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * lr_factor(done)
        history["step"].append(float(step))
        history["loss_d"].append(ld)
        history["loss_g"].append(lg)
        if config.snapshot_every and (step % config.snapshot_every == 0 or step == 1):
            g.eval()
            with torch.no_grad():
                run.snapshots.append((step, g(fixed_z, fixed_y).cpu()))
            g.train()
        if callback is not None:
            callback(step, g, d)
        if step % 50 == 0:
            bar.set_postfix(loss_d=f"{ld:.3f}", loss_g=f"{lg:.3f}")
        if done >= config.steps:
            finish_early(bar, step)
            break
    g.eval()
    return run
