"""Watching the 2-D game: the discriminator's decision surface over training.

:class:`SurfaceRecorder` is a ``train_gan`` callback: at the snapshot steps it evaluates
the discriminator on a grid, so each snapshot of generator samples has the surface the
generator was chasing at that moment. :func:`plot_game_state` draws one moment: the
true density, D's surface as contours, and the generator's samples.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from tutorial_lib.data.toy import GaussianMixture2D
from tutorial_lib.plotting import plot_density_2d
from tutorial_lib.validation import check_tensor


class SurfaceRecorder:
    """Callback(step, g, d): record D on a (resolution x resolution) grid every ``every``
    steps and at step 1, the same steps as ``GANTrainConfig.snapshot_every``.

    ``surfaces`` holds (step, array (resolution, resolution)): D(x) = sigmoid(logit) for
    the cross-entropy variants, the raw critic score otherwise (``probabilities=False``).
    """

    def __init__(self, bounds: tuple[float, float, float, float], every: int,
                 resolution: int = 80, probabilities: bool = True) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        if resolution < 2:
            raise ValueError(f"resolution must be at least 2, got {resolution}")
        self.bounds, self.every = bounds, every
        self.probabilities = probabilities
        xs = torch.linspace(bounds[0], bounds[1], resolution)
        ys = torch.linspace(bounds[2], bounds[3], resolution)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (R*R, 2)
        self.shape = (resolution, resolution)
        self.surfaces: list[tuple[int, np.ndarray]] = []

    def __call__(self, step: int, g, d) -> None:
        if step != 1 and step % self.every:
            return
        device = next(d.parameters()).device
        was_training = d.training
        d.eval()
        with torch.no_grad():
            out = d(self.grid.to(device)).cpu()
        d.train(was_training)
        if self.probabilities:
            out = torch.sigmoid(out)
        self.surfaces.append((step, out.reshape(self.shape).numpy()))


def plot_game_state(target: GaussianMixture2D, samples: torch.Tensor,
                    surface: np.ndarray | None, bounds: tuple[float, float, float, float],
                    ax: Axes | None = None, title: str | None = None,
                    probabilities: bool = True) -> Axes:
    """One moment of the game: true density (blue), D's surface (contours: D = 0.5 in
    black when ``probabilities``), generator samples (N, 2) in orange."""
    check_tensor(samples, "samples", ndim=2, last_dims=(2,))
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    plot_density_2d(target.log_prob, bounds=bounds, ax=ax, log_scale=True)
    if surface is not None:
        xs = np.linspace(bounds[0], bounds[1], surface.shape[1])
        ys = np.linspace(bounds[2], bounds[3], surface.shape[0])
        levels = np.linspace(0.1, 0.9, 9) if probabilities else 9
        cs = ax.contour(xs, ys, surface, levels=levels, cmap="PiYG", linewidths=0.8)
        if probabilities:
            ax.contour(xs, ys, surface, levels=[0.5], colors="k", linewidths=1.4)
        ax.clabel(cs, fontsize=6, fmt="%.1f" if probabilities else "%.2g")
    pts = samples.detach().cpu().numpy()
    ax.scatter(pts[:, 0], pts[:, 1], s=3, c="tab:orange", alpha=0.6, linewidths=0)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
