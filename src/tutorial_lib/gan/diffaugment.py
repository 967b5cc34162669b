"""Differentiable augmentation for GANs on small data sets (Zhao et al., 2020).

With 4,000 training images the discriminator can memorize them: it then tells real from
fake by recognizing the very images it has seen, and its gradients stop teaching the
generator. DiffAugment applies the *same kind* of random transformation T to every image
the discriminator sees, real or generated, in both players' steps, so the game becomes
matching the distribution of T(x) to that of T(G(z)). Because T is differentiable, the
generator's gradient passes through it. Augmenting only the real images would instead
teach the generator to draw augmented (shifted, cut) digits.

Transforms here act on images in the generator's range [-1, 1], filling with the
background value -1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tutorial_lib.validation import check_tensor

POLICIES = ("translation", "cutout")


def translate(x: torch.Tensor, max_shift: int, fill: float = -1.0,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image (B, C, H, W) by random whole pixels in [-max_shift, max_shift]
    along each axis, filling the uncovered border with ``fill``; differentiable in x."""
    check_tensor(x, "x", ndim=4)
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), value=fill)
    offsets = torch.randint(0, 2 * s + 1, (b, 2), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device)[None, :] + offsets[:, :1]  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + offsets[:, 1:]  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B,H,W,C)
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, size: int, fill: float = -1.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Set a random size x size square of each image (B, C, H, W) to ``fill`` (the square
    may hang over the border); differentiable in x (the kept pixels pass gradients)."""
    check_tensor(x, "x", ndim=4)
    if size <= 0:
        return x
    b, _, h, w = x.shape
    centre = torch.stack([torch.randint(0, h, (b,), generator=generator),
                          torch.randint(0, w, (b,), generator=generator)], 1).to(x.device)
    r = torch.arange(h, device=x.device)[None, :] - centre[:, :1] + size // 2  # (B, H)
    c = torch.arange(w, device=x.device)[None, :] - centre[:, 1:] + size // 2  # (B, W)
    inside = (((r >= 0) & (r < size))[:, :, None] & ((c >= 0) & (c < size))[:, None, :])
    return torch.where(inside[:, None], torch.full_like(x, fill), x)


def diff_augment(x: torch.Tensor, policy: tuple[str, ...] | str,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the transforms named in ``policy`` (any of ``POLICIES``) in order to images
    (B, C, H, W) in [-1, 1]: translation by up to 1/8 of the side, cutout of a square of
    1/4 of the side. 2-D (non-image) data pass through unchanged only for an empty policy.
    """
    names = tuple(p for p in (policy.split(",") if isinstance(policy, str) else policy) if p)
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; expected some of {POLICIES}")
    if not names:
        return x
    if x.ndim != 4:
        raise ValueError(f"augmentation {names} applies to images (B, C, H, W), got a "
                         f"tensor of shape {tuple(x.shape)}")
    side = x.shape[-1]
    for name in names:
        if name == "translation":
            x = translate(x, max(1, side // 8), generator=generator)
        else:
            x = cutout(x, max(1, side // 4), generator=generator)
    return x
