"""The losses of neural style transfer (Gatys, Ecker and Bethge, 2016), as pure functions.

A feature map ``(B, C, H, W)`` holds, for each image, the matrix Phi (C, M) of the book's
equation with one column per position, M = H W. The Gram matrix here is divided by M (the
second moments of the feature vectors over positions), so that the style loss of a layer,
``|G(x) - G(x_s)|_F^2 / (4 C^2)``, is exactly Gatys et al.'s
``|Phi Phi^T - Phi_s Phi_s^T|_F^2 / (4 C^2 M^2)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from tutorial_lib.validation import check_finite


def _check_maps(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected a float feature map of shape (B, C, H, W), got "
                         f"{shape}")
    if x.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty feature map, got {tuple(x.shape)}")
    return check_finite(x, name)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = Phi Phi^T / M per image, M = H W: the second moments of the feature vectors over
    positions. features: (B, C, H, W) -> (B, C, C)."""
    b, c, h, w = _check_maps(features, "features").shape
    phi = features.reshape(b, c, h * w)  # (B, C, M): one column per position
    return phi @ phi.transpose(1, 2) / (h * w)


def style_loss_layer(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """One layer's style loss, |G(x) - G_s|_F^2 / (4 C^2), averaged over the batch.
    features: (B, C, H, W); target_gram: (C, C) or (B, C, C) -> scalar."""
    gram = gram_matrix(features)  # (B, C, C)
    c = gram.shape[-1]
    if target_gram.shape[-2:] != (c, c):
        raise ValueError(f"target_gram: expected ({c}, {c}) Gram matrices for features with "
                         f"{c} channels, got {tuple(target_gram.shape)}")
    return ((gram - target_gram) ** 2).sum(dim=(1, 2)).mean() / (4 * c**2)


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """Gatys et al.'s style loss, sum_l w_l |G_l(x) - G_l(x_s)|_F^2 / (4 C_l^2), over the
    layers named in ``target_grams`` (weights default to 1 / number of layers).
    features: {layer: (B, C_l, H_l, W_l)}; target_grams: {layer: (C_l, C_l)} -> scalar."""
    if not target_grams:
        raise ValueError("target_grams: expected at least one layer, got none")
    missing = sorted(set(target_grams) - set(features))
    if missing:
        raise ValueError(f"features: no feature map for the style layers {missing}; "
                         f"have {sorted(features)}")
    weights = weights or {name: 1 / len(target_grams) for name in target_grams}
    return sum(weights[name] * style_loss_layer(features[name], gram)
               for name, gram in target_grams.items())


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gatys et al.'s content loss, |Phi(x) - Phi(x_c)|_F^2 / 2, averaged over the batch.
    features: (B, C, H, W); target: (C, H, W) or (B, C, H, W) -> scalar."""
    _check_maps(features, "features")
    if target.shape[-3:] != features.shape[1:]:
        raise ValueError(f"target: expected a feature map of shape {tuple(features.shape[1:])}, "
                         f"got {tuple(target.shape)}")
    return 0.5 * ((features - target) ** 2).sum(dim=(1, 2, 3)).mean()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """The squared total variation (Mahendran and Vedaldi, 2015, with beta = 2): the sum
    of the squared differences between vertical and horizontal neighbours, averaged over
    the batch. x: (B, C, H, W) -> scalar."""
    _check_maps(x, "x")
    dv = x[:, :, 1:, :] - x[:, :, :-1, :]  # (B, C, H-1, W)
    dh = x[:, :, :, 1:] - x[:, :, :, :-1]  # (B, C, H, W-1)
    return (dv**2).sum(dim=(1, 2, 3)).mean() + (dh**2).sum(dim=(1, 2, 3)).mean()


def gram_mmd2(phi: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """The squared MMD between the columns of two feature maps with the quadratic kernel
    k(a, b) = (a^T b)^2, V-statistic (all pairs, a column with itself included); Li et al.
    (2017). phi: (C, M), psi: (C, N), one feature vector per column -> scalar.
    With M = N it equals |Phi Phi^T / M - Psi Psi^T / M|_F^2."""
    for name, f in (("phi", phi), ("psi", psi)):
        if not isinstance(f, torch.Tensor) or f.ndim != 2:
            raise ValueError(f"{name}: expected a (C, M) matrix of feature vectors, got "
                             f"{tuple(f.shape) if isinstance(f, torch.Tensor) else f!r}")
    if phi.shape[0] != psi.shape[0]:
        raise ValueError(f"phi and psi: expected the same number of channels, got "
                         f"{phi.shape[0]} and {psi.shape[0]}")

    def mean_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a.T @ b) ** 2).mean()  # the average of k(a_k, b_k') over all pairs

    return mean_kernel(phi, phi) + mean_kernel(psi, psi) - 2 * mean_kernel(phi, psi)

