"""Mode-collapse metrics on 2-D mixtures (Srivastava et al., 2017, VEEGAN; Lin et al., 2018).

A sample is *high quality* when it lies within three standard deviations of the nearest
mode. A mode is *captured* when it is the nearest mode of at least one high-quality sample.
The literature reports both on 2,500 generated samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tutorial_lib.data.toy import GaussianMixture2D
from tutorial_lib.validation import check_number, check_tensor


@dataclass(frozen=True)
class ModeCoverage:
    modes_captured: int  # number of modes with at least one high-quality sample
    n_modes: int  # number of modes of the target
    high_quality: float  # percentage of samples within 3 std of their nearest mode
    samples_per_mode: tuple[int, ...]  # high-quality samples assigned to each mode

    def __str__(self) -> str:
        return (f"{self.modes_captured}/{self.n_modes} modes, "
                f"{self.high_quality:.1f}% high-quality samples")


def mode_coverage(samples: torch.Tensor, target: GaussianMixture2D,
                  n_std: float = 3.0) -> ModeCoverage:
    """Modes captured and percentage of high-quality samples; samples (N, 2), N >= 1,
    finite (a NaN sample is refused, not counted as far from every mode)."""
    check_tensor(samples, "samples", ndim=2, last_dims=(2,), nonempty=True, finite=True)
    if not isinstance(target, GaussianMixture2D):
        raise TypeError(f"target: expected a GaussianMixture2D, got {type(target).__name__}")
    check_number(n_std, "n_std", low=0, low_open=True)
    means = target.means_tensor().to(samples)
    dist, nearest = torch.cdist(samples.float(), means.float()).min(1)
    good = dist <= n_std * target.std
    counts = torch.bincount(nearest[good], minlength=target.n_modes)
    return ModeCoverage(
        modes_captured=int((counts > 0).sum()),
        n_modes=target.n_modes,
        high_quality=100.0 * float(good.float().mean()),
        samples_per_mode=tuple(int(c) for c in counts),
    )
