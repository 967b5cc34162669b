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
    and z1, computed as 2 atan2(|u0 - u1|, |u0 + u1|) for the unit vectors u0, u1 (accurate
    at every angle, where arccos of the cosine is not near 0 and pi). Two cases divide by
    sin(w) ~ 0:

    - nearly parallel codes (w < 1e-4): the straight line, which differs from the arc by
      O(w^2);
    - nearly opposite codes (sin(w) < 1e-3, w near pi): no unique great circle joins
      them, the formula's 1/sin(w) amplifies rounding, and with unequal norms it grows
      without bound. The path turns by pi through a fixed unit vector v perpendicular to
      u0, at the interpolated norm: z_t = ((1 - t)|z0| + t|z1|)(cos(t pi) u0 + sin(t pi) v)
      + t (z1 + |z1| u0). The last term, of norm t |z1| sin(w) / sin(w/2) (under about
      1e-3 |z1|), makes the path end exactly at z1.
    """
    check_tensor(z0, "z0", ndim=1)
    check_tensor(z1, "z1", ndim=1, last_dims=tuple(z0.shape))
    check_tensor(t, "t", ndim=1)
    t = t.to(z0)[:, None]
    r0, r1 = z0.norm(), z1.norm()
    u0, u1 = z0 / r0.clamp_min(1e-12), z1 / r1.clamp_min(1e-12)
    omega = 2 * torch.atan2((u0 - u1).norm(), (u0 + u1).norm())
    if omega < 1e-4:
        return (1 - t) * z0 + t * z1
    if omega > torch.pi / 2 and torch.sin(omega) < 1e-3:  # omega near pi: opposite codes
        v = _unit_perpendicular(u0)
        circle = torch.cos(t * torch.pi) * u0 + torch.sin(t * torch.pi) * v
        return ((1 - t) * r0 + t * r1) * circle + t * (z1 + r1 * u0)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _unit_perpendicular(u: torch.Tensor) -> torch.Tensor:
    """A fixed unit vector orthogonal to the unit vector u (d,), d >= 2: the coordinate axis
    least aligned with u, with its component along u removed."""
    if len(u) < 2:
        raise ValueError("opposite codes in one dimension have no great circle between them; "
                         "expected codes of dimension at least 2")
    e = torch.zeros_like(u)
    e[u.abs().argmin()] = 1.0
    v = e - torch.dot(e, u) * u
    return v / v.norm()


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
