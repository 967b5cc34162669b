"""Ancestral sampling: run the decoder's chain from z_T ~ N(0, I) down to x.

For t = T, ..., 2: z_{t-1} = mu_theta(z_t, t) + sigma_t eps_t with eps_t ~ N(0, I); then
x = mu_theta(z_1, 1), the decoder's mean at the last step, without noise (Ho et al. 2020,
Algorithm 2). With a schedule from :func:`~tutorial_lib.diffusion.schedule.respace` the same
network samples in fewer steps.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from tutorial_lib.diffusion.losses import EpsModel, reverse_variances
from tutorial_lib.diffusion.process import model_mean
from tutorial_lib.diffusion.schedule import NoiseSchedule
from tutorial_lib.validation import check_positive_int

__all__ = ["ancestral_sample"]


@torch.no_grad()
def ancestral_sample(eps_model: EpsModel, shape: tuple[int, ...], schedule: NoiseSchedule, *,
                     sigma: str = "beta", generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu", keep: int = 0,
                     progress: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Draw ``shape[0]`` samples of the model.

    Args:
        shape: (B, ...) the shape of a batch of data, e.g. (1000, 2) or (64, 1, 28, 28).
        sigma: the step variances, as in :func:`~tutorial_lib.diffusion.losses.elbo_terms`.
        keep: also return this many snapshots of the chain, evenly spaced from z_T to x
            (for pictures of the reverse process); 0 for none.
    Returns:
        (x, snapshots): x of ``shape`` on the CPU; snapshots a list of CPU tensors.
    """
    if not isinstance(shape, tuple) or len(shape) < 2:
        raise ValueError(f"shape: expected a tuple (B, ...) with the batch first, got {shape!r}")
    for n in shape:
        check_positive_int(n, "shape entries")
    check_positive_int(keep, "keep", allow_zero=True)
    variances = reverse_variances(schedule, sigma)
    z = torch.randn(shape, generator=generator).to(device)
    marks = set(torch.linspace(schedule.T, 1, keep).round().long().tolist()) if keep else set()
    snapshots = []
    for t in tqdm(range(schedule.T, 0, -1), desc="sampling", disable=not progress):
        if t in marks:
            snapshots.append(z.cpu())
        tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
        mean = model_mean(z, tt, eps_model(z, schedule.steps[t].expand(shape[0]).to(device)),
                          schedule)
        if t > 1:
            noise = torch.randn(shape, generator=generator).to(device)
            z = mean + variances[t].sqrt().item() * noise
        else:
            z = mean
    if keep:
        snapshots.append(z.cpu())
    return z.cpu(), snapshots
