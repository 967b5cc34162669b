"""Style transfer by optimizing the pixels (Gatys, Ecker and Bethge, 2016).

No network is trained: the image itself is the parameter. Each step computes the
features of the current image, the losses of :mod:`tutorial_lib.style.losses` against
the style image's Gram matrices and the content image's features, and moves the pixels
down their gradient with Adam or L-BFGS (the optimizer of Gatys et al.). The pixels are
kept in [0, 1]: the losses see them clamped, and each step ends by clamping them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from tutorial_lib.style.losses import content_loss, gram_matrix, style_loss, total_variation
from tutorial_lib.training import Budget, DivergenceGuard, ProgressBar, record
from tutorial_lib.validation import check_images, check_number, check_positive_int

Extractor = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]


@dataclass
class TransferConfig:
    steps: int = 300  # optimizer steps (L-BFGS: outer steps of several evaluations each)
    optimizer: str = "adam"  # "adam" or "lbfgs"
    lbfgs_evaluations: int = 20  # L-BFGS's max_iter: evaluations of the loss per step
    lr: float = 0.02  # Adam's step size on pixels in [0, 1]; L-BFGS uses lr = 1
    style_weight: float = 1.0  # lambda, the style loss's weight
    content_weight: float = 1.0  # the content loss's weight (0: texture synthesis)
    tv_weight: float = 0.0  # the total-variation regularizer's weight
    init: str = "content"  # start from "content" or from uniform "noise"
    seed: int = 0  # of the starting noise
    max_seconds: float | None = None  # stop earlier when this much time has passed


@dataclass
class StyleTransferResult:
    image: torch.Tensor  # (B, C, H, W) in [0, 1], on the CPU
    history: dict[str, list[float]] = field(default_factory=dict)  # per step: losses
    final: dict[str, float] = field(default_factory=dict)  # the losses of ``image``
    seconds: float = 0.0

    @property
    def style_reduction(self) -> float:
        """The style loss of the starting image divided by that of the final image."""
        return self.history["style"][0] / self.final["style"]


class Canvas(nn.Module):
    """The image being optimized: pixels (B, C, H, W), a parameter."""

    def __init__(self, start: torch.Tensor) -> None:
        super().__init__()
        self.pixels = nn.Parameter(start.clone())

    def forward(self) -> torch.Tensor:
        return self.pixels.clamp(0, 1)  # the losses see pixels in [0, 1]


def transfer_losses(features: Mapping[str, torch.Tensor], image: torch.Tensor,
                    style_grams: Mapping[str, torch.Tensor],
                    content_features: Mapping[str, torch.Tensor],
                    config: TransferConfig) -> dict[str, torch.Tensor]:
    """The terms of Gatys et al.'s objective for the current image's ``features``:
    content, style, total variation, and their weighted sum ``total``."""
    style = style_loss(features, style_grams)
    content = sum((content_loss(features[name], target)
                   for name, target in content_features.items()), torch.zeros(()))
    tv = total_variation(image)
    total = (config.content_weight * content + config.style_weight * style
             + config.tv_weight * tv)
    return {"total": total, "content": content, "style": style, "tv": tv}


def _start(content: torch.Tensor | None, style: torch.Tensor, config: TransferConfig
           ) -> torch.Tensor:
    if config.init == "content":
        if content is None:
            raise ValueError("init='content' needs a content image; use init='noise' for "
                             "texture synthesis")
        return content.clone()
    gen = torch.Generator().manual_seed(config.seed)
    shape = content.shape if content is not None else style.shape
    return torch.rand(shape, generator=gen)


def style_transfer(extractor: Extractor, style: torch.Tensor,
                   content: torch.Tensor | None = None, *, style_layers: Sequence[str],
                   content_layers: Sequence[str] = (), config: TransferConfig | None = None,
                   device: torch.device | str | None = None,
                   progress: bool = True) -> StyleTransferResult:
    """Optimize images so that their features have the Gram matrices of ``style`` on
    ``style_layers`` and the features of ``content`` on ``content_layers``.

    Args:
        extractor: images (B, C, H, W) in [0, 1] -> {layer: (B, C_l, H_l, W_l)}.
        style: (B, C, H, W) or (1, C, H, W) in [0, 1], one style image per output image
            or one for all.
        content: (B, C, H, W) in [0, 1], or None (texture synthesis: no content term,
            B = style's batch, start from noise).
        style_layers, content_layers: names of the extractor's layers.
        config: the steps, the optimizer and the weights.

    Returns:
        The images and the history: per step, the total, content, style and
        total-variation losses (averages over the batch) of the image before the step.

    Raises:
        TrainingDiverged: a loss or a pixel stopped being finite (lower the lr).
    """
    config = config or TransferConfig()
    check_images(style, "style", nonempty=True)
    check_positive_int(config.steps, "steps")
    check_positive_int(config.lbfgs_evaluations, "lbfgs_evaluations")
    check_number(config.lr, "lr", low=0.0)
    if config.optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"optimizer: expected 'adam' or 'lbfgs', got {config.optimizer!r}")
    if config.init not in ("content", "noise"):
        raise ValueError(f"init: expected 'content' or 'noise', got {config.init!r}")
    if not style_layers:
        raise ValueError("style_layers: expected at least one layer name")
    if content is not None:
        check_images(content, "content", nonempty=True)
        if content.shape[1:] != style.shape[1:] or len(style) not in (1, len(content)):
            raise ValueError(f"style {tuple(style.shape)} and content {tuple(content.shape)}: "
                             f"expected the same image shape and one style image or one "
                             f"per content image")
    elif content_layers:
        raise ValueError("content_layers given without a content image")
    device = torch.device(device) if device is not None else style.device
    style = style.to(device)
    with torch.no_grad():
        style_features = extractor(style)
        style_grams = {name: gram_matrix(style_features[name]) for name in style_layers}
        content_features = {}
        if content is not None:
            content = content.to(device)
            maps = extractor(content)
            content_features = {name: maps[name] for name in content_layers}
    canvas = Canvas(_start(content, style, config).to(device))
    if config.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(canvas.parameters(), lr=config.lr)
    else:
        opt = torch.optim.LBFGS(canvas.parameters(), lr=1.0, max_iter=config.lbfgs_evaluations,
                                history_size=50, line_search_fn="strong_wolfe")
    history: dict[str, list[float]] = {}
    guard = DivergenceGuard(canvas, history=history, hint="Lower the learning rate.")
    budget = Budget(config.steps, config.max_seconds)

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        image = canvas()
        losses = transfer_losses(extractor(image), image, style_grams, content_features,
                                 config)
        losses["total"].backward()
        closure.last = {k: v.item() for k, v in losses.items()}  # type: ignore[attr-defined]
        return losses["total"]

    with ProgressBar("style transfer", budget.total, progress) as bar:
        for step in range(1, config.steps + 1):
            closure()  # the losses of the image before this step (and its gradient)
            losses = dict(closure.last)  # type: ignore[attr-defined]
            opt.step(closure if config.optimizer == "lbfgs" else None)
            with torch.no_grad():
                canvas.pixels.clamp_(0, 1)
            guard.check(step, losses)
            record(history, step=float(step), **losses)
            bar.advance({"style": losses["style"], "content": losses["content"]})
            budget.tick(step)
            if budget.spent:
                break
    closure()  # the losses of the final image
    image = canvas().detach().cpu()
    return StyleTransferResult(image, history, dict(closure.last),  # type: ignore[attr-defined]
                               budget.seconds)
