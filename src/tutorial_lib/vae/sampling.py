"""Looking at a trained VAE: samples, reconstructions, interpolations, the latent map."""

from __future__ import annotations

import torch
from torch import distributions as dist

from tutorial_lib.vae.models import VAE
from tutorial_lib.validation import check_positive_int


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def sample_images(model: VAE, n: int, y: torch.Tensor | int | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Decode z ~ N(0, I): the mean images E[x | z], (n, C, H, W) on the CPU.

    For a conditional VAE pass ``y``: one label for all, or labels (n,).
    """
    check_positive_int(n, "n")
    model.eval()
    z = torch.randn(n, model.latent_dim, generator=generator).to(_device(model))
    if isinstance(y, int):
        y = torch.full((n,), y, dtype=torch.long)
    yb = None if y is None else y.to(_device(model))
    return model.mean_image(model.decode(z, yb)).cpu()


@torch.no_grad()
def reconstruct(model: VAE, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """E[x | z = mu(x)]: decode each image's posterior mean; (B, C, H, W) on the CPU."""
    model.eval()
    yb = None if y is None else y.to(_device(model))
    return model(x.to(_device(model)), yb).cpu()


@torch.no_grad()
def interpolate(model: VAE, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10,
                y: torch.Tensor | None = None) -> torch.Tensor:
    """Decode z_t = (1 - t) mu(x_a) + t mu(x_b) for t in [0, 1]; (steps, C, H, W).

    x_a, x_b: single images (C, H, W) or (1, C, H, W).
    """
    check_positive_int(steps, "steps")
    model.eval()
    dev = _device(model)
    x_a = x_a.reshape(1, *model.config.image_shape).to(dev)
    x_b = x_b.reshape(1, *model.config.image_shape).to(dev)
    yb = None if y is None else y.reshape(1).to(dev)
    z_a, _ = model.encode(x_a, yb)
    z_b, _ = model.encode(x_b, yb)
    t = torch.linspace(0, 1, steps, device=dev)[:, None]
    z = (1 - t) * z_a + t * z_b
    ys = None if yb is None else yb.expand(steps)
    return model.mean_image(model.decode(z, ys)).cpu()


@torch.no_grad()
def latent_grid(model: VAE, n: int = 15, quantile: float = 0.05,
                dims: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Decode a regular grid over two latent dimensions (the others at 0); (n*n, C, H, W).

    The grid is evenly spaced in probability under N(0, 1) (from ``quantile`` to
    1 - ``quantile``), as in Kingma & Welling's latent-manifold figures. Rows run from
    high to low z_2, columns from low to high z_1.
    """
    check_positive_int(n, "n")
    model.eval()
    probs = torch.linspace(quantile, 1 - quantile, n)
    values = dist.Normal(0.0, 1.0).icdf(probs)
    z = torch.zeros(n * n, model.latent_dim)
    rows, cols = torch.meshgrid(values.flip(0), values, indexing="ij")
    z[:, dims[0]] = cols.reshape(-1)
    z[:, dims[1]] = rows.reshape(-1)
    return model.mean_image(model.decode(z.to(_device(model)))).cpu()
