"""Plotting helpers draw what they are given and reject bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tutorial_lib.data import ring8
from tutorial_lib.plotting import (
    density_grid,
    image_grid,
    plot_density_2d,
    plot_history,
    plot_samples_2d,
    show_images,
)


def test_image_grid_tiles_images_in_order() -> None:
    x = torch.stack([torch.full((1, 3, 2), v) for v in (0.0, 0.5, 1.0)])
    grid = image_grid(x, nrow=2, padding=1, pad_value=0.25)
    assert grid.shape == (2 * 4 + 1, 2 * 3 + 1)
    assert np.all(grid[1:4, 1:3] == 0.0) and np.all(grid[1:4, 4:6] == 0.5)
    assert np.all(grid[5:8, 1:3] == 1.0)
    assert grid[0, 0] == 0.25


def test_show_images_and_rgb() -> None:
    ax = show_images(torch.rand(10, 3, 5, 5), title="rgb")
    assert ax.get_title() == "rgb" and ax.images[0].get_array().shape[-1] == 3
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        show_images(torch.rand(4, 1, 5, 5) * 3)


def test_density_grid_evaluates_on_the_bounds() -> None:
    gx, gy, lp = density_grid(ring8().log_prob, (-3, 3, -2, 2), resolution=50)
    assert gx.shape == gy.shape == lp.shape == (50, 50)
    assert gx.min() == -3 and gy.max() == 2
    with pytest.raises(ValueError, match="min < max"):
        density_grid(ring8().log_prob, (1, -1, 0, 1))


def test_density_and_samples_plots() -> None:
    target = ring8()
    ax = plot_density_2d(target.log_prob, log_scale=True, title="ring")
    assert ax.get_title() == "ring"
    ax = plot_samples_2d(target.sample(100, seed=0), log_prob=target.log_prob)
    assert len(ax.collections) == 2  # density mesh + scatter
    with pytest.raises(ValueError, match="trailing shape \\(2,\\)"):
        plot_samples_2d(torch.zeros(10, 3))


def test_history_plot_and_its_errors() -> None:
    history = {"step": [0.0, 1.0, 2.0, 3.0], "loss": [4.0, 3.0, 2.0, 1.0], "kl": [1, 1, 1, 1]}
    ax = plot_history(history, smooth=2)
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [3.5, 2.5, 1.5])
    with pytest.raises(KeyError, match="no series \\['elbo'\\]"):
        plot_history(history, keys=["elbo"])
    with pytest.raises(TypeError, match="non-empty dict"):
        plot_history({})
