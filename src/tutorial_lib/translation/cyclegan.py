"""Unpaired translation between two digit domains with CycleGAN (Zhu et al., 2017).

Domain A: scikit-learn's 8x8 digits, (B, 1, 8, 8) in [0, 1] (16 grey levels / 16).
Domain B: the 28x28 MNIST digits, (B, 1, 28, 28) in [0, 1].

Two generators change the resolution, G_AB: 8x8 -> 28x28 and G_BA: 28x28 -> 8x8, and a
discriminator in each domain scores patches of its images. Each step has the paper's
two phases (section 4 and appendix 7.1):

1. the generators descend the least-squares adversarial loss in both directions plus
   lam times the cycle-consistency loss (eq. 2), an L1 distance between each image and
   its round trip;
2. each discriminator descends the least-squares loss (Mao et al., 2017) on real images of
   its domain against translated ones.

The measures of the chapter: how often a digit's class survives the translation (read by
a classifier of the target domain), the cycle error, and the digits that come back
whole although their translation changed class.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tutorial_lib.device import get_device
from tutorial_lib.training import Budget, DivergenceGuard, ProgressBar, record
from tutorial_lib.validation import (
    check_images,
    check_labels,
    check_number,
    check_positive_int,
    check_tensor,
)

SMALL, LARGE = 8, 28  # the sides of domain A's and domain B's images


# --- the losses -------------------------------------------------------------------------

def lsgan_discriminator_loss(real_scores: torch.Tensor,
                             fake_scores: torch.Tensor) -> torch.Tensor:
    """The least-squares discriminator loss (Mao et al., 2017, eq. 2 with a=0, b=1),
    as CycleGAN uses it: 1/2 E (D(x) - 1)^2 + 1/2 E D(G(y))^2.

    real_scores, fake_scores: the discriminator's raw scores, any shape (a PatchGAN gives
    one per patch, (B, 1, h, w)); every score is one term of the mean. Returns a scalar.
    """
    check_tensor(real_scores, "real_scores", nonempty=True)
    check_tensor(fake_scores, "fake_scores", nonempty=True)
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def lsgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """The least-squares generator loss (Mao et al., 2017, eq. 2 with c=1): E (D(G(y)) - 1)^2.
    fake_scores: any shape, (B, 1, h, w) for a PatchGAN. Returns a scalar."""
    check_tensor(fake_scores, "fake_scores", nonempty=True)
    return ((fake_scores - 1) ** 2).mean()


def cycle_consistency_loss(x_a: torch.Tensor, x_a_cycled: torch.Tensor,
                           x_b: torch.Tensor, x_b_cycled: torch.Tensor) -> torch.Tensor:
    """CycleGAN's cycle-consistency loss (Zhu et al., 2017, eq. 2), with the L1 norm
    averaged over the pixels as the authors' code does (nn.L1Loss):
    E |G_BA(G_AB(x_a)) - x_a| + E |G_AB(G_BA(x_b)) - x_b|.

    x_a, x_a_cycled: (B, 1, 8, 8); x_b, x_b_cycled: (B', 1, 28, 28). Returns a scalar.
    """
    for x, cycled, name in ((x_a, x_a_cycled, "x_a"), (x_b, x_b_cycled, "x_b")):
        if x.shape != cycled.shape:
            raise ValueError(f"{name}_cycled: expected the shape of {name}, "
                             f"{tuple(x.shape)}, got {tuple(cycled.shape)}")
    return (x_a_cycled - x_a).abs().mean() + (x_b_cycled - x_b).abs().mean()


# --- the networks -----------------------------------------------------------------------

@dataclass(frozen=True)
class CycleGANConfig:
    """Architecture and objective of the digit CycleGAN."""

    channels: int = 16  # width of the first layer of every network; the next has twice
    lam_cycle: float = 10.0  # lambda, the cycle-consistency weight (the paper's 10)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)  # the paper's normalization


class UpGenerator(nn.Module):
    """G_AB: an 8x8 digit (B, 1, 8, 8) in [0, 1] -> a 28x28 digit (B, 1, 28, 28) in [0, 1]."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, 2 * c, 3, padding=1), _norm(2 * c), nn.ReLU(),            # 8x8
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), _norm(2 * c), nn.ReLU(),        # 8x8
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), _norm(c), nn.ReLU(),            # -> 16x16
            nn.ConvTranspose2d(c, c, 4, 2, 3), _norm(c), nn.ReLU(),                # -> 28x28
            nn.Conv2d(c, 1, 3, padding=1), nn.Sigmoid(),                           # 28x28
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, 8, 8) -> (B, 1, 28, 28)


class DownGenerator(nn.Module):
    """G_BA: a 28x28 digit (B, 1, 28, 28) in [0, 1] -> an 8x8 digit (B, 1, 8, 8) in [0, 1]."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), _norm(c), nn.ReLU(),                    # 28x28
            nn.Conv2d(c, 2 * c, 4, 2, 3), _norm(2 * c), nn.ReLU(),                 # -> 16x16
            nn.Conv2d(2 * c, 2 * c, 4, 2, 1), _norm(2 * c), nn.ReLU(),             # -> 8x8
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), _norm(2 * c), nn.ReLU(),        # 8x8
            nn.Conv2d(2 * c, 1, 3, padding=1), nn.Sigmoid(),                       # 8x8
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 1, 28, 28) -> (B, 1, 8, 8)


class PatchDiscriminator(nn.Module):
    """A PatchGAN discriminator: images (B, 1, side, side) in [0, 1] -> one raw score per
    patch, (B, 1, side/4, side/4) for side 28 (patches of 18x18 pixels) or side 8 (each
    score sees the whole 8x8 image). Scores, not probabilities: the least-squares loss
    compares them with 1 (real) and 0 (translated). No normalization layer: an instance
    norm would let every score see the whole image through its statistics."""

    def __init__(self, side: int, channels: int = 16) -> None:
        super().__init__()
        if side not in (SMALL, LARGE):
            raise ValueError(f"side: expected {SMALL} or {LARGE}, got {side!r}")
        c, self.side = channels, side
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),                           # -> side/2
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2),                       # -> side/4
            nn.Conv2d(2 * c, 1, 3, padding=1),                                     # side/4
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(2 * x - 1)  # (B, 1, side, side) in [0, 1] -> (B, 1, side/4, side/4)


# --- the model and its steps ------------------------------------------------------------

class CycleGAN(nn.Module):
    """G_AB, G_BA and the discriminators D_A (8x8) and D_B (28x28) of the digit CycleGAN."""

    def __init__(self, config: CycleGANConfig = CycleGANConfig()) -> None:
        super().__init__()
        check_positive_int(config.channels, "channels")
        check_number(config.lam_cycle, "lam_cycle", low=0.0)
        self.config = config
        self.g_ab = UpGenerator(config.channels)
        self.g_ba = DownGenerator(config.channels)
        self.d_a = PatchDiscriminator(SMALL, config.channels)
        self.d_b = PatchDiscriminator(LARGE, config.channels)

    def make_optimizers(self, config: CycleGANTrainConfig) -> dict[str, torch.optim.Optimizer]:
        """Adam for the two generators together and for the two discriminators together."""
        gens = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        discs = list(self.d_a.parameters()) + list(self.d_b.parameters())
        return {"gen": torch.optim.Adam(gens, lr=config.lr, betas=config.betas),
                "disc": torch.optim.Adam(discs, lr=config.lr, betas=config.betas)}

    def generator_step(self, x_a: torch.Tensor, x_b: torch.Tensor,
                       opt: torch.optim.Optimizer) -> tuple[dict[str, float], torch.Tensor,
                                                            torch.Tensor]:
        """The generators descend L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lam L_cyc.
        Returns the losses and the translated batches (for the discriminator step)."""
        fake_b, fake_a = self.g_ab(x_a), self.g_ba(x_b)        # (B, 1, 28, 28), (B, 1, 8, 8)
        adv = lsgan_generator_loss(self.d_b(fake_b)) + lsgan_generator_loss(self.d_a(fake_a))
        cyc = cycle_consistency_loss(x_a, self.g_ba(fake_b), x_b, self.g_ab(fake_a))
        loss = adv + self.config.lam_cycle * cyc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"gen_adv": adv.item(), "cycle": cyc.item()}, fake_a.detach(), fake_b.detach()

    def discriminator_step(self, x_a: torch.Tensor, x_b: torch.Tensor, fake_a: torch.Tensor,
                           fake_b: torch.Tensor, opt: torch.optim.Optimizer) -> dict[str, float]:
        """Each discriminator descends the least-squares loss: its real images against the
        images translated into its domain."""
        loss_a = lsgan_discriminator_loss(self.d_a(x_a), self.d_a(fake_a))
        loss_b = lsgan_discriminator_loss(self.d_b(x_b), self.d_b(fake_b))
        opt.zero_grad(set_to_none=True)
        (loss_a + loss_b).backward()
        opt.step()
        return {"disc_a": loss_a.item(), "disc_b": loss_b.item()}

    def train_step(self, x_a: torch.Tensor, x_b: torch.Tensor,
                   optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
        """One update of the generators, then one of the discriminators."""
        losses, fake_a, fake_b = self.generator_step(x_a, x_b, optimizers["gen"])
        losses.update(self.discriminator_step(x_a, x_b, fake_a, fake_b, optimizers["disc"]))
        return losses


@dataclass(frozen=True)
class CycleGANTrainConfig:
    """How to train the digit CycleGAN (one field per knob)."""

    steps: int = 2_000  # parameter updates (each updates both generators, then both Ds)
    max_seconds: float | None = None  # wall-clock budget; stops at whichever comes first
    batch_size: int = 64  # images of each domain per step, drawn independently (unpaired)
    lr: float = 2e-4  # Adam, as in the paper
    betas: tuple[float, float] = (0.5, 0.999)
    explode: float = 1e6  # |loss| above this counts as divergence
    seed: int = 0


def train_cyclegan(model: CycleGAN, x_a: torch.Tensor, x_b: torch.Tensor,
                   config: CycleGANTrainConfig | None = None,
                   device: torch.device | str | None = None,
                   progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` in place on unpaired digits: x_a (N_A, 1, 8, 8) and x_b (N_B, 1, 28, 28)
    in [0, 1]. Each step draws a batch from each domain independently: no pairs are used.

    Returns:
        history: ``step``, ``seconds``, ``gen_adv``, ``cycle``, ``disc_a``, ``disc_b``.

    Raises:
        TrainingDiverged: a loss or parameter stopped being finite; the networks hold their
            state after the last good step.
    """
    config = config or CycleGANTrainConfig()
    _check_domain(x_a, "x_a", SMALL, nonempty=True)
    _check_domain(x_b, "x_b", LARGE, nonempty=True)
    check_positive_int(config.steps, "steps")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device(device)
    model.to(device).train()
    torch.manual_seed(config.seed)
    optimizers = model.make_optimizers(config)
    gen = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"step": [], "seconds": []}
    guard = DivergenceGuard(model, history=history, explode=config.explode)
    budget = Budget(config.steps, config.max_seconds)
    with ProgressBar("train CycleGAN", budget.total, progress) as bar:
        for step in range(1, config.steps + 1):
            i = torch.randint(len(x_a), (config.batch_size,), generator=gen)
            j = torch.randint(len(x_b), (config.batch_size,), generator=gen)  # independent
            losses = model.train_step(x_a[i].to(device), x_b[j].to(device), optimizers)
            guard.check(step, losses, save=step % 50 == 0)
            record(history, step=float(step), seconds=budget.tick(step), **losses)
            bar.advance(losses if step % 50 == 0 else None)
            if budget.spent:
                break
    model.eval()
    return history


def _check_domain(x: torch.Tensor, name: str, side: int, nonempty: bool = False) -> None:
    check_images(x, name, nonempty=nonempty)
    if tuple(x.shape[1:]) != (1, side, side):
        raise ValueError(f"{name}: expected digits of shape (B, 1, {side}, {side}), got "
                         f"{tuple(x.shape)}")


@torch.no_grad()
def translate(generator: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Apply a generator to x (N, 1, H, W) in batches, in eval mode, on the CPU output."""
    check_images(x, "x", nonempty=True)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    out = torch.cat([generator(x[k:k + batch_size].to(device)).cpu()
                     for k in range(0, len(x), batch_size)])
    generator.train(was_training)
    return out


# --- a hand-made translation, for comparison ---------------------------------------------

def resize_up(x_a: torch.Tensor) -> torch.Tensor:
    """The hand-made map A -> B: an 8x8 digit (B, 1, 8, 8) -> (B, 1, 28, 28), resized
    bilinearly to 20x20 and padded by 4 pixels of background, the layout of MNIST (digits in
    a 20x20 box inside the 28x28 frame; LeCun et al., 1998)."""
    _check_domain(x_a, "x_a", SMALL)
    return F.pad(F.interpolate(x_a, size=(20, 20), mode="bilinear", align_corners=False),
                 (4, 4, 4, 4))


def resize_down(x_b: torch.Tensor) -> torch.Tensor:
    """The hand-made map B -> A: the central 20x20 box of a 28x28 digit (B, 1, 28, 28),
    averaged down to (B, 1, 8, 8) like the 8x8 digits' 4x4-block counts (area averaging)."""
    _check_domain(x_b, "x_b", LARGE)
    return F.adaptive_avg_pool2d(x_b[:, :, 4:24, 4:24], (SMALL, SMALL))


# --- the measures -----------------------------------------------------------------------

def class_survival(predicted: torch.Tensor, source_labels: torch.Tensor) -> float:
    """The fraction of translated digits whose class, read by the target domain's
    classifier (``predicted``, (N,)), is the source digit's label (``source_labels``, (N,))."""
    check_labels(source_labels, "source_labels", len(source_labels))
    check_labels(predicted, "predicted", len(source_labels))
    if len(predicted) == 0:
        raise ValueError("predicted: expected at least one translated digit, got none")
    return float((predicted.cpu() == source_labels.cpu()).float().mean())


def hidden_class_change(labels: torch.Tensor, translated_pred: torch.Tensor,
                        cycled_pred: torch.Tensor) -> float:
    """The failure Zhu et al. (2017) warn about, counted: the fraction of all digits whose
    round trip is read as the source label (``cycled_pred == labels``) while their
    translation is read as another class (``translated_pred != labels``). All (N,) ints."""
    n = len(labels)
    check_labels(labels, "labels", n)
    check_labels(translated_pred, "translated_pred", n)
    check_labels(cycled_pred, "cycled_pred", n)
    if n == 0:
        raise ValueError("labels: expected at least one digit, got none")
    back = cycled_pred.cpu() == labels.cpu()
    changed = translated_pred.cpu() != labels.cpu()
    return float((back & changed).float().mean())


def cycle_errors(x: torch.Tensor, x_cycled: torch.Tensor) -> torch.Tensor:
    """Per-image cycle error, the mean absolute pixel difference: (N, 1, H, W) -> (N,)."""
    if x.shape != x_cycled.shape:
        raise ValueError(f"x_cycled: expected the shape of x, {tuple(x.shape)}, got "
                         f"{tuple(x_cycled.shape)}")
    return (x_cycled - x).abs().flatten(1).mean(1)


@dataclass
class DirectionReport:
    """What one direction of translation does to a set of labelled test digits."""

    survival: float  # fraction of translations read as the source label (target classifier)
    cycle_error: float  # mean per-pixel |round trip - source|
    round_trip_kept: float  # fraction of round trips read as the source label (source clf)
    hidden_change: float  # fraction of digits whose round trip keeps the class while the
    #                       translation is read as another class: cycle consistent, class lost
    error_changed: float  # mean cycle error of the digits whose translation changed class
    error_kept: float  # mean cycle error of the digits whose translation kept it


def direction_report(labels: torch.Tensor, translated_pred: torch.Tensor,
                     cycled_pred: torch.Tensor, errors: torch.Tensor) -> DirectionReport:
    """Summarize a direction from the source labels (N,), the target classifier's reading of
    the translations (N,), the source classifier's reading of the round trips (N,) and the
    per-image cycle errors (N,)."""
    n = len(labels)
    check_labels(translated_pred, "translated_pred", n)
    check_labels(cycled_pred, "cycled_pred", n)
    check_tensor(errors, "errors", ndim=1)
    kept = translated_pred.cpu() == labels.cpu()
    back = cycled_pred.cpu() == labels.cpu()
    errors = errors.cpu()
    nan = float("nan")
    return DirectionReport(
        survival=class_survival(translated_pred, labels),
        cycle_error=float(errors.mean()),
        round_trip_kept=float(back.float().mean()),
        hidden_change=hidden_class_change(labels, translated_pred, cycled_pred),
        error_changed=float(errors[~kept].mean()) if (~kept).any() else nan,
        error_kept=float(errors[kept].mean()) if kept.any() else nan,
    )


def evaluate_cyclegan(model: CycleGAN, classifier_a: nn.Module, classifier_b: nn.Module,
                      x_a: torch.Tensor, y_a: torch.Tensor, x_b: torch.Tensor,
                      y_b: torch.Tensor) -> dict[str, DirectionReport]:
    """Both directions on labelled test digits x_a (N, 1, 8, 8), x_b (M, 1, 28, 28):
    ``"A->B"`` translates the 8x8 digits and reads them with ``classifier_b``, and back;
    ``"B->A"`` the other way. The labels are used only here, never in training."""
    _check_domain(x_a, "x_a", SMALL, nonempty=True)
    _check_domain(x_b, "x_b", LARGE, nonempty=True)
    check_labels(y_a, "y_a", len(x_a))
    check_labels(y_b, "y_b", len(x_b))
    reports = {}
    for name, x, y, there, back, clf_there, clf_back in (
            ("A->B", x_a, y_a, model.g_ab, model.g_ba, classifier_b, classifier_a),
            ("B->A", x_b, y_b, model.g_ba, model.g_ab, classifier_a, classifier_b)):
        translated = translate(there, x)
        cycled = translate(back, translated)
        reports[name] = direction_report(y, _predict(clf_there, translated),
                                         _predict(clf_back, cycled), cycle_errors(x, cycled))
    return reports


@torch.no_grad()
def _predict(classifier: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    out = torch.cat([classifier(x[k:k + batch_size].to(device)).argmax(1).cpu()
                     for k in range(0, len(x), batch_size)])
    classifier.train(was_training)
    return out
