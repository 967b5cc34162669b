"""2-D toy distributions: seeded samplers and, for the mixtures, exact log-densities.

The two Gaussian mixtures are the standard test beds of the mode-collapse literature:

- ``ring8``: 8 equally weighted isotropic Gaussians with means on a circle of radius 2 and
  standard deviation 0.02 (the setting of Metz et al., 2017, *Unrolled GANs*).
- ``grid25``: 25 equally weighted isotropic Gaussians with means (-4 + 2i, -4 + 2j),
  i, j in 0..4, and standard deviation 0.05 (the 2-D grid of VEEGAN and PacGAN).

``swiss_roll`` and ``two_moons`` have no closed-form density; they test whether a model can
follow a thin curved manifold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import distributions as dist

from tutorial_lib.validation import check_positive_int, check_tensor


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equally weighted mixture of isotropic 2-D Gaussians with known parameters."""

    name: str
    means: tuple[tuple[float, float], ...]  # (K, 2) component means
    std: float  # standard deviation of every component, per axis

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def means_tensor(self) -> torch.Tensor:
        """Component means, shape (K, 2)."""
        return torch.tensor(self.means, dtype=torch.float32)

    def distribution(self) -> dist.MixtureSameFamily:
        """The mixture as a ``torch.distributions`` object (for checks and plots)."""
        means = self.means_tensor()
        components = dist.Independent(dist.Normal(means, torch.full_like(means, self.std)), 1)
        weights = dist.Categorical(probs=torch.full((self.n_modes,), 1.0 / self.n_modes))
        return dist.MixtureSameFamily(weights, components)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log-density log p(x) in nats; x: (N, 2) -> (N,).

        Computed with logsumexp over components:
        log p(x) = logsumexp_k [ log N(x; mu_k, s^2 I) ] - log K.
        """
        x = check_tensor(x, "x", ndim=2, last_dims=(2,))
        means = self.means_tensor().to(x)
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # (N, K)
        log_normal = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)
        return torch.logsumexp(log_normal, dim=1) - math.log(self.n_modes)

    def entropy_mc(self, n: int = 200_000, seed: int = 0) -> float:
        """Monte Carlo estimate of the differential entropy H(p) = -E_p[log p(x)] in nats."""
        x = self.sample(n, seed=seed)
        return float(-self.log_prob(x).mean())

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Draw n points, shape (n, 2). ``seed`` makes the draw reproducible."""
        check_positive_int(n, "n")
        g = _generator(seed)
        k = torch.randint(self.n_modes, (n,), generator=g)
        noise = torch.randn(n, 2, generator=g)
        return self.means_tensor()[k] + self.std * noise


def ring8(radius: float = 2.0, std: float = 0.02) -> GaussianMixture2D:
    """Ring of 8 Gaussians: means radius * (cos 2 pi k/8, sin 2 pi k/8)."""
    angles = [2 * math.pi * k / 8 for k in range(8)]
    means = tuple((radius * math.cos(a), radius * math.sin(a)) for a in angles)
    return GaussianMixture2D("ring8", means, std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """5x5 grid of 25 Gaussians: means (-2 s + s i, -2 s + s j), i, j in 0..4 (s = 2: -4..4)."""
    coords = [spacing * (i - 2) for i in range(5)]
    means = tuple((a, b) for a in coords for b in coords)
    return GaussianMixture2D("grid25", means, std)


def _generator(seed: int | None) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(int(seed))


def swiss_roll(n: int, seed: int | None = None, noise: float = 0.25) -> torch.Tensor:
    """The 2-D swiss roll (scikit-learn's, x and z coordinates, scaled by 1/4 to about [-3, 3]).

    Returns: (n, 2) float32.
    """
    from sklearn.datasets import make_swiss_roll

    check_positive_int(n, "n")
    rs = None if seed is None else np.random.RandomState(seed)
    x, _ = make_swiss_roll(n_samples=n, noise=noise, random_state=rs)
    return torch.from_numpy(x[:, [0, 2]] / 4.0).float()


def two_moons(n: int, seed: int | None = None, noise: float = 0.05) -> torch.Tensor:
    """Two interleaving half circles (scikit-learn's make_moons), centred and scaled by 2.

    Returns: (n, 2) float32.
    """
    from sklearn.datasets import make_moons

    check_positive_int(n, "n")
    rs = None if seed is None else np.random.RandomState(seed)
    x, _ = make_moons(n_samples=n, noise=noise, random_state=rs)
    return torch.from_numpy((x - np.array([0.5, 0.25])) * 2.0).float()


TOY_DATASETS = ("ring8", "grid25", "swiss_roll", "two_moons")


def toy_distribution(name: str) -> GaussianMixture2D | None:
    """The mixture object for ``ring8`` / ``grid25`` (exact density); None for the others."""
    if name == "ring8":
        return ring8()
    if name == "grid25":
        return grid25()
    if name in TOY_DATASETS:
        return None
    raise ValueError(f"unknown toy data set {name!r}; expected one of {', '.join(TOY_DATASETS)}")


def sample_toy(name: str, n: int, seed: int | None = None) -> torch.Tensor:
    """Draw n points, shape (n, 2), from the toy data set ``name`` (see ``TOY_DATASETS``)."""
    mixture = toy_distribution(name)
    if mixture is not None:
        return mixture.sample(n, seed=seed)
    return swiss_roll(n, seed) if name == "swiss_roll" else two_moons(n, seed)
