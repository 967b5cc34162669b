"""Class conditioning shared by the conditional VAE and the conditional GAN."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def append_label(h: torch.Tensor, y: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """Concatenate the one-hot code of labels y (B,) to features h (B, F); (B, F + classes).

    With ``num_classes == 0`` the network is unconditional: h is returned unchanged and a
    label is an error. Otherwise y must be integer labels of shape (B,) in 0..classes-1.
    """
    if num_classes == 0:
        if y is not None:
            raise ValueError("this model is not conditional (num_classes=0) but a label y "
                             "was given")
        return h
    batch = len(h)
    if y is None:
        raise ValueError(f"this conditional model needs labels y (B,) in 0..{num_classes - 1}")
    if y.dtype not in (torch.int64, torch.int32) or y.shape != (batch,):
        raise ValueError(f"y: expected integer labels of shape ({batch},), got "
                         f"{y.dtype} {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y: labels must be in 0..{num_classes - 1}")
    return torch.cat([h, F.one_hot(y.long(), num_classes).to(h.dtype)], 1)
