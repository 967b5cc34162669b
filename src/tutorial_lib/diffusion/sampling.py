"""Ancestral sampling: run the decoder's chain from z_T ~ N(0, I) down to x.

For t = T, ..., 2: z_{t-1} = mu_theta(z_t, t) + sigma_t eps_t with eps_t ~ N(0, I); then
x = mu_theta(z_1, 1), the decoder's mean at the last step, without noise (Ho et al. 2020,
Algorithm 2). With a schedule from :func:`~tutorial_lib.diffusion.schedule.respace` the same
network samples in fewer steps.

For data in a known range (images in [-1, 1]) the sampler can clip: the image that the
predicted noise implies, x^ = (z_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t),
is clipped to the range, and the step's mean is the encoder's posterior mean
mu~_t(z_t, x^) (x^ itself at t = 1). Without clipping this is exactly mu_theta(z_t, t); with
it, an early step whose 1 / sqrt(alpha_t) is large cannot blow a small error of the noise
prediction up into pixel values far outside the data (Ho et al.'s and Nichol & Dhariwal's
samplers clip the same way). The ELBO is computed without clipping.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from tutorial_lib.diffusion.losses import EpsModel, reverse_variances
from tutorial_lib.diffusion.process import model_mean, posterior, predicted_x
from tutorial_lib.diffusion.schedule import NoiseSchedule
from tutorial_lib.validation import check_positive_int

__all__ = ["ancestral_sample"]


@torch.no_grad()
def ancestral_sample(eps_model: EpsModel, shape: tuple[int, ...], schedule: NoiseSchedule, *,
                     sigma: str = "beta", generator: torch.Generator | None = None,
                     device: torch.device | str = "cpu", keep: int = 0,
                     clip: tuple[float, float] | None = None,
                     progress: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Draw ``shape[0]`` samples of the model.

    Args:
        shape: (B, ...) the shape of a batch of data, e.g. (1000, 2) or (64, 1, 28, 28).
        sigma: the step variances, as in :func:`~tutorial_lib.diffusion.losses.elbo_terms`.
        keep: also return this many snapshots of the chain, evenly spaced from z_T to x
            (for pictures of the reverse process); 0 for none.
        clip: (low, high), the data's range: clip the implied image at every step (see the
            module's docstring); None for unbounded data such as the 2-D mixtures.
    Returns:
        (x, snapshots): x of ``shape`` on the CPU; snapshots a list of CPU tensors.
    """
    if not isinstance(shape, tuple) or len(shape) < 2:
        raise ValueError(f"shape: expected a tuple (B, ...) with the batch first, got {shape!r}")
    for n in shape:
        check_positive_int(n, "shape entries")
    check_positive_int(keep, "keep", allow_zero=True)
    if clip is not None and not (isinstance(clip, tuple) and len(clip) == 2
                                 and float(clip[0]) < float(clip[1])):
        raise ValueError(f"clip: expected (low, high) with low < high, or None, got {clip!r}")
    variances = reverse_variances(schedule, sigma)
    z = torch.randn(shape, generator=generator).to(device)
    marks = set(torch.linspace(schedule.T, 1, keep).round().long().tolist()) if keep else set()
    snapshots = []
    for t in tqdm(range(schedule.T, 0, -1), desc="sampling", disable=not progress):
        if t in marks:
            snapshots.append(z.cpu())
        tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
        eps_hat = eps_model(z, schedule.steps[t].expand(shape[0]).to(device))
        if clip is None:
            mean = model_mean(z, tt, eps_hat, schedule)
        else:
            x_hat = predicted_x(z, tt, eps_hat, schedule).clamp(*clip)
            mean = x_hat if t == 1 else posterior(z, x_hat, tt, schedule)[0]
        if t > 1:
            noise = torch.randn(shape, generator=generator).to(device)
            z = mean + variances[t].sqrt().item() * noise
        else:
            z = mean
    if keep:
        snapshots.append(z.cpu())
    return z.cpu(), snapshots
