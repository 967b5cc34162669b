"""Paired translation (pix2pix; Isola et al., 2017): data, objective, steps, loop, measures.

The pairs come from a known transform of the digits: x_A is the digit averaged over
``factor`` x ``factor`` blocks (7 x 7 for factor 4) and blown back up to 28 x 28, x_B the
digit itself, so that G(x_A) is a 4x super-resolution. Many digits share one 7 x 7
average, so the output is uncertain: the situation in which a pixel loss alone blurs.

The objective (eq. 4 of the paper): D maximizes the conditional GAN value, G minimizes
the non-saturating adversarial loss plus ``lam`` times the L1 distance, averaged over
pixels as the paper's code does. The PatchGAN's logits are a map (B, 1, P, P); each
entry is a classifier of one patch, and the losses average over patches and batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.device import get_device
from tutorial_lib.gan.losses import discriminator_loss, generator_loss_nonsaturating
from tutorial_lib.training import Budget, DivergenceGuard, ProgressBar, record
from tutorial_lib.translation.models import PatchDiscriminator, UNetGenerator
from tutorial_lib.validation import check_images, check_number, check_positive_int, check_tensor


def downsample_pair(x: torch.Tensor, factor: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The paired data: (x_A, x_B) with x_A each ``factor`` x ``factor`` block of x replaced
    by its mean (average pooling, then nearest-neighbour upsampling) and x_B = x.
    x: (B, C, H, W) in [0, 1], H and W divisible by factor -> two tensors of x's shape."""
    check_images(x, "x")
    check_positive_int(factor, "factor")
    if x.shape[2] % factor or x.shape[3] % factor:
        raise ValueError(f"factor: expected a divisor of the image side, got {factor} for "
                         f"images of shape {tuple(x.shape)}")
    blocks = F.avg_pool2d(x, factor)  # (B, C, H/f, W/f)
    x_a = F.interpolate(blocks, scale_factor=factor, mode="nearest")  # -> (B, C, H, W)
    return x_a, x


def _patch_logits(logits: torch.Tensor, name: str) -> torch.Tensor:
    check_tensor(logits, name, ndim=4, nonempty=True)
    return logits.reshape(-1)  # every patch of every image: one binary classifier each


def patch_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor
                             ) -> torch.Tensor:
    """The PatchGAN's loss: binary cross-entropy of each patch's logit, real pairs labelled
    1 and generated pairs 0, averaged over patches and batch (real and fake halves summed).
    real_logits, fake_logits: (B, 1, P, P) -> scalar. Pass detached generator outputs."""
    return discriminator_loss(_patch_logits(real_logits, "real_logits"),
                              _patch_logits(fake_logits, "fake_logits"))


def pix2pix_generator_loss(fake_logits: torch.Tensor, fake: torch.Tensor,
                           target: torch.Tensor, lam: float) -> dict[str, torch.Tensor]:
    """G's loss: -E log D(x_A, G(x_A)) over patches plus lam E |x_B - G(x_A)| over pixels.
    fake_logits: (B, 1, P, P); fake, target: (B, 1, H, W). Returns the terms and their sum
    ("loss"); with ``fake_logits`` None, the L1 term alone (the L1 baseline)."""
    check_number(lam, "lam", low=0)
    l1 = (fake - target).abs().mean()
    if fake_logits is None:
        return {"loss": lam * l1, "l1": l1}
    adversarial = generator_loss_nonsaturating(_patch_logits(fake_logits, "fake_logits"))
    return {"loss": adversarial + lam * l1, "adversarial": adversarial, "l1": l1}


@dataclass(frozen=True)
class Pix2PixConfig:
    """How to train pix2pix or its L1-only baseline (one field per knob)."""

    adversarial: bool = True  # False: the L1 baseline (no discriminator)
    lam: float = 100.0  # the L1 term's weight (the paper's 100, with the mean over pixels)
    steps: int = 1_500  # parameter updates of G (and of D, one each per step)
    max_seconds: float | None = None  # wall-clock budget; stops at whichever comes first
    batch_size: int = 64
    lr: float = 2e-4  # Adam, both networks, as in the paper
    betas: tuple[float, float] = (0.5, 0.999)
    factor: int = 4  # the paired transform: block averages of factor x factor pixels
    seed: int = 0


def discriminator_step(generator: UNetGenerator, discriminator: PatchDiscriminator,
                       opt: torch.optim.Optimizer, x_a: torch.Tensor, x_b: torch.Tensor
                       ) -> float:
    """One update of D on real pairs (x_A, x_B) against generated pairs (x_A, G(x_A))."""
    with torch.no_grad():
        fake = generator(x_a)  # (B, 1, 28, 28), no gradient into G
    loss = patch_discriminator_loss(discriminator(x_a, x_b), discriminator(x_a, fake))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def generator_step(generator: UNetGenerator, discriminator: PatchDiscriminator | None,
                   opt: torch.optim.Optimizer, x_a: torch.Tensor, x_b: torch.Tensor,
                   lam: float) -> dict[str, float]:
    """One update of G: the L1 term, plus the adversarial term when D is given."""
    fake = generator(x_a)
    fake_logits = None if discriminator is None else discriminator(x_a, fake)
    losses = pix2pix_generator_loss(fake_logits, fake, x_b, lam)
    opt.zero_grad(set_to_none=True)
    losses["loss"].backward()
    opt.step()
    return {f"g_{name}": value.item() for name, value in losses.items()}


@dataclass
class Pix2PixRun:
    """A trained translator: the generator, the discriminator (None for the L1 baseline),
    the history (``step``, ``seconds``, ``d_loss``, ``g_loss``, ``g_l1``, ...)."""

    generator: UNetGenerator
    discriminator: PatchDiscriminator | None
    history: dict[str, list[float]]
    config: Pix2PixConfig


def train_pix2pix(x_train: torch.Tensor, config: Pix2PixConfig | None = None,
                  generator: UNetGenerator | None = None,
                  discriminator: PatchDiscriminator | None = None,
                  device: torch.device | str | None = None,
                  progress: bool = True) -> Pix2PixRun:
    """Train a translator x_A -> x_B on the pairs ``downsample_pair(x_train)``.

    x_train: (N, 1, 28, 28) in [0, 1]. Each step draws a minibatch of pairs, updates D
    once (pix2pix only) and G once. Both networks are built from ``config.seed`` unless
    given.

    Raises:
        TrainingDiverged: a loss or parameter stopped being finite; the networks hold
            their state after the last good step.
    """
    config = config or Pix2PixConfig()
    check_images(x_train, "x_train", nonempty=True)
    check_positive_int(config.steps, "steps")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device(device)
    torch.manual_seed(config.seed)
    generator = (generator or UNetGenerator()).to(device).train()
    modules: list[nn.Module] = [generator]
    if config.adversarial:
        discriminator = (discriminator or PatchDiscriminator()).to(device).train()
        modules.append(discriminator)
    else:
        discriminator = None
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=config.betas)
    opt_d = (torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=config.betas)
             if discriminator is not None else None)
    x_a_all, x_b_all = downsample_pair(x_train, config.factor)
    gen = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"step": [], "seconds": []}
    guard = DivergenceGuard(*modules, history=history)
    budget = Budget(config.steps, config.max_seconds)
    name = "pix2pix" if config.adversarial else "L1 only"
    with ProgressBar(f"train {name}", budget.total, progress) as bar:
        for step in range(1, config.steps + 1):
            i = torch.randint(len(x_train), (config.batch_size,), generator=gen)
            x_a, x_b = x_a_all[i].to(device), x_b_all[i].to(device)
            losses = {}
            if discriminator is not None:
                losses["d_loss"] = discriminator_step(generator, discriminator, opt_d, x_a, x_b)
            losses.update(generator_step(generator, discriminator, opt_g, x_a, x_b, config.lam))
            guard.check(step, losses)
            record(history, step=float(step), seconds=budget.tick(step), **losses)
            bar.advance(losses if step % 50 == 0 else None)
            if budget.spent:
                break
    generator.eval()
    if discriminator is not None:
        discriminator.eval()
    return Pix2PixRun(generator, discriminator, history, config)


def translate(generator: UNetGenerator, x_a: torch.Tensor, batch_size: int = 500
              ) -> torch.Tensor:
    """G(x_A) in eval mode (dropout off: the mean network), on the CPU.
    x_a: (N, 1, 28, 28) in [0, 1] -> (N, 1, 28, 28)."""
    check_images(x_a, "x_a", nonempty=True)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        out = [generator(x_a[i:i + batch_size].to(device)).cpu()
               for i in range(0, len(x_a), batch_size)]
    generator.train(was_training)
    return torch.cat(out)


def grey_fraction(x: torch.Tensor, low: float = 0.1, high: float = 0.9) -> float:
    """The fraction of pixels strictly between ``low`` and ``high``: neither ink nor
    background, the mark of a blurred image (chapter 10's thresholds). x: (N, C, H, W) in
    [0, 1]."""
    check_images(x, "x", nonempty=True)
    check_number(low, "low", low=0, high=1)
    check_number(high, "high", low=low, high=1)
    return float(((x > low) & (x < high)).float().mean())
