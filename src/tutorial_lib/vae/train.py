"""Training a VAE: minibatch steps on the (beta-weighted) negative ELBO.

One epoch = one pass of :func:`vae_step` over the training images, dynamically binarized
for a Bernoulli likelihood. After each epoch the ELBO on held-out validation images
decides early stopping; the best state is restored at the end. KL annealing ramps beta
from 0 up to its target over the first epochs (Bowman et al., 2016); free bits floor the
KL per latent dimension (Kingma et al., 2016). A loss or parameter that stops being finite
stops training with :class:`~tutorial_lib.training.TrainingDiverged`, after restoring the
state at the end of the last good epoch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch

from tutorial_lib.data.images import DeviceLoader, binarize, make_loader, random_shift
from tutorial_lib.device import get_device
from tutorial_lib.training import Budget, DivergenceGuard, ProgressBar, record
from tutorial_lib.vae.models import VAE
from tutorial_lib.vae.objectives import ELBOTerms, elbo, evaluate_elbo, iwae_bound
from tutorial_lib.validation import check_images, check_positive_int


@dataclass
class VAETrainConfig:
    """How to train (comments give the meaning of each field)."""

    epochs: int = 100  # upper bound on passes over the training images
    max_seconds: float | None = None  # wall-clock budget; stops after the epoch that crosses it
    batch_size: int = 100
    lr: float = 1e-3  # Adam learning rate
    lr_decay: float = 1.0  # multiply lr by this after every epoch
    weight_decay: float = 0.0
    beta: float = 1.0  # KL weight (1: the ELBO)
    warmup_epochs: int = 0  # KL annealing: beta grows linearly from 0 over these epochs
    free_bits: float = 0.0  # nats per latent dimension (0: off)
    iwae_k: int = 1  # > 1: train on the IWAE bound (ignores beta, warm-up and free bits)
    shift: int = 0  # data augmentation: translate training images by up to this many pixels
    binarization: str | None = "dynamic"  # for Bernoulli likelihoods; None for grey levels
    patience: int | None = 10  # early stopping: epochs without validation improvement
    seed: int = 0


def beta_at(config: VAETrainConfig, epoch: int) -> float:
    """KL weight in epoch ``epoch`` (0-based): linear warm-up, then ``config.beta``."""
    if config.warmup_epochs <= 0:
        return config.beta
    return config.beta * min(1.0, (epoch + 1) / config.warmup_epochs)


def vae_step(model: VAE, opt: torch.optim.Optimizer, x: torch.Tensor,
             y: torch.Tensor | None, beta: float, config: VAETrainConfig
             ) -> tuple[float, ELBOTerms]:
    """One gradient step on a batch x (B, C, H, W) (labels y (B,) or None): descend the
    negative beta-ELBO (with free bits), or with ``config.iwae_k`` > 1 the negative IWAE
    bound. Returns the loss and the ELBO's terms (detached)."""
    if config.iwae_k > 1:
        loss = -iwae_bound(model, x, config.iwae_k, y).mean()
        with torch.no_grad():
            terms = elbo(model, x, y)
    else:
        terms = elbo(model, x, y, beta=beta, free_bits=config.free_bits)
        loss = terms.loss
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item(), terms


def train_vae(
    model: VAE,
    x_train: torch.Tensor,
    x_val: torch.Tensor | None = None,
    *,
    y_train: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    config: VAETrainConfig | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` in place; return a history of plain floats, one entry per epoch.

    Args:
        x_train: (N, C, H, W) grey levels in [0, 1] (binarized on the fly if asked).
        x_val: held-out images for early stopping (fixed binarization), or None.
        y_train, y_val: labels for a conditional VAE.

    History keys: ``epoch``, ``seconds``, ``beta``, ``train_loss``, ``train_elbo``,
    ``train_kl``, and with validation data ``val_elbo``, ``val_kl``, ``val_reconstruction``.

    Raises:
        TrainingDiverged: a loss or parameter stopped being finite; the model holds its
            state at the end of the last good epoch, ``err.history`` the epochs before.
    """
    config = config or VAETrainConfig()
    check_images(x_train, "x_train")
    check_positive_int(config.epochs, "epochs")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device(device)
    model.to(device)
    loader, x_val = _training_data(model, x_train, y_train, x_val, config, device)
    y_val = y_val if model.config.num_classes > 0 else None
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_decay)
    history: dict[str, list[float]] = {}
    guard = DivergenceGuard(model, history=history, unit="epoch")
    best_val, best_state, stale = -math.inf, None, 0
    budget = Budget(config.epochs, config.max_seconds)
    with ProgressBar("train VAE", budget.total, progress) as bar:
        for epoch in range(1, config.epochs + 1):
            beta = beta_at(config, epoch - 1)
            means = _epoch(model, opt, loader, beta, config, guard, epoch)
            sched.step()
            guard.check(epoch, {"loss": means["loss"]})
            record(history, epoch=epoch, seconds=budget.elapsed(), beta=beta,
                   train_loss=means["loss"], train_elbo=means["elbo"], train_kl=means["kl"])
            postfix = {"elbo": f"{means['elbo']:.1f}"}
            if x_val is not None:
                v = evaluate_elbo(model, x_val, y_val)
                record(history, val_elbo=v["elbo"], val_kl=v["kl"],
                       val_reconstruction=v["reconstruction"])
                postfix["val"] = f"{v['elbo']:.1f}"
                # early stopping compares the true ELBO (beta = 1), and only once the KL
                # weight has reached its target
                if beta >= config.beta and v["elbo"] > best_val:
                    best_val, best_state, stale = v["elbo"], copy.deepcopy(model.state_dict()), 0
                elif beta >= config.beta:
                    stale += 1
            bar.advance(postfix)
            budget.tick(epoch)
            if budget.spent or (x_val is not None and config.patience is not None
                                and stale >= config.patience):
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def _training_data(model: VAE, x_train: torch.Tensor, y_train: torch.Tensor | None,
                   x_val: torch.Tensor | None, config: VAETrainConfig, device: torch.device
                   ) -> tuple[DeviceLoader, torch.Tensor | None]:
    """The loader of training batches (binarized afresh each epoch for a Bernoulli
    likelihood) and the validation images (binarized once, with a fixed seed)."""
    binary = getattr(model.likelihood, "binary", False)
    binarization = config.binarization if binary else None
    if binary and binarization is None:
        check_images(x_train, "x_train", binary=True)
    if x_val is not None and binarization is not None:
        x_val = binarize(x_val, "fixed", seed=config.seed + 1)
    loader = make_loader(x_train, y_train, batch_size=config.batch_size,
                         binarization=binarization, device=device, seed=config.seed)
    return loader, x_val


def _epoch(model: VAE, opt: torch.optim.Optimizer, loader: DeviceLoader, beta: float,
           config: VAETrainConfig, guard: DivergenceGuard, epoch: int) -> dict[str, float]:
    """One pass of :func:`vae_step` over the loader; the means per image of the loss, the
    ELBO and the KL term."""
    model.train()
    conditional = model.config.num_classes > 0
    sums, n = {"loss": 0.0, "elbo": 0.0, "kl": 0.0}, 0
    for xb, yb in loader:
        xb = random_shift(xb, config.shift) if config.shift else xb
        loss, terms = vae_step(model, opt, xb, yb if conditional else None, beta, config)
        guard.check(epoch, {"loss": loss}, save=False)
        sums["loss"] += loss * len(xb)
        sums["elbo"] += float(terms.elbo.detach().sum())
        sums["kl"] += float(terms.kl.detach().sum())
        n += len(xb)
    return {name: total / n for name, total in sums.items()}

