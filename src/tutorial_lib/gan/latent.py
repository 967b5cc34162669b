"""Paths through the generator's latent space.

For z ~ N(0, I_{d_z}) the norm concentrates near sqrt(d_z), so the midpoint of a straight
line between two independent codes is atypically short (about sqrt(d_z / 2)). Spherical
interpolation (slerp) moves along the great circle instead: between two codes of equal
norm, every point of the path has that norm.
"""

from __future__ import annotations

import torch

from tutorial_lib.validation import check_tensor


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between codes z0, z1 (d_z,) at times t (T,) -> (T, d_z).

    z_t = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1, with w the angle between z0
    and z1; falls back to the straight line when the two are (nearly) parallel.
    """
    check_tensor(z0, "z0", ndim=1)
    check_tensor(z1, "z1", ndim=1, last_dims=tuple(z0.shape))
    check_tensor(t, "t", ndim=1)
    t = t.to(z0)[:, None]
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolate_latents(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10,
                        spherical: bool = True) -> torch.Tensor:
    """``steps`` codes from z0 to z1 (both included), (steps, d_z): slerp or straight."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    t = torch.linspace(0, 1, steps)
    if spherical:
        return slerp(z0, z1, t)
    check_tensor(z1, "z1", ndim=1, last_dims=tuple(z0.shape))
    t = t.to(z0)[:, None]
    return (1 - t) * z0 + t * z1
