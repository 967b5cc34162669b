"""Pictures: image grids, 2-D densities and samples, training curves.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and
returns it, so notebooks can compose panels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

from tutorial_lib.validation import check_images, check_number, check_positive_int, check_tensor


def image_grid(x: torch.Tensor, nrow: int | None = None, padding: int = 1,
               pad_value: float = 0.25) -> np.ndarray:
    """Tile images (B, C, H, W) in [0, 1] into one array (rows*H', cols*W') or (.., .., 3).

    ``nrow`` is the number of images per row (default: about sqrt(B)).
    """
    check_images(x, "x", nonempty=True)
    if nrow is not None:
        check_positive_int(nrow, "nrow")
    check_positive_int(padding, "padding", allow_zero=True)
    check_number(pad_value, "pad_value", low=0, high=1)
    x = x.detach().float().cpu()
    b, c, h, w = x.shape
    if c not in (1, 3):
        raise ValueError(f"x: expected 1 or 3 channels, got {c}")
    ncol = nrow or math.ceil(math.sqrt(b))
    nrows = math.ceil(b / ncol)
    grid = torch.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding),
                      float(pad_value))
    for i in range(b):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid[0].numpy() if c == 1 else grid.permute(1, 2, 0).numpy()


def show_images(x: torch.Tensor, nrow: int | None = None, title: str | None = None,
                ax: Axes | None = None, size: float = 4.0) -> Axes:
    """Show a grid of images (B, C, H, W) in [0, 1]; dark digits on white, no ticks."""
    grid = image_grid(x, nrow)
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    ax.imshow(grid, cmap="gray_r" if grid.ndim == 2 else None, vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def density_grid(log_prob: Callable[[torch.Tensor], torch.Tensor],
                 bounds: tuple[float, float, float, float], resolution: int = 200
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate log_prob on a regular grid over bounds (xmin, xmax, ymin, ymax).

    Returns (X, Y, logp), each (resolution, resolution).
    """
    xmin, xmax, ymin, ymax = bounds
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(f"bounds must be (xmin, xmax, ymin, ymax) with min < max, got {bounds}")
    xs = torch.linspace(xmin, xmax, resolution)
    ys = torch.linspace(ymin, ymax, resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    with torch.no_grad():
        lp = log_prob(pts).reshape(resolution, resolution).cpu()
    return gx.numpy(), gy.numpy(), lp.numpy()


def _frame_2d(ax: Axes, bounds: tuple[float, float, float, float], title: str | None
              ) -> Axes:
    """Equal axes over bounds = (x_min, x_max, y_min, y_max), with the title if given."""
    ax.set_aspect("equal")
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    if title:
        ax.set_title(title)
    return ax


def plot_density_2d(log_prob: Callable[[torch.Tensor], torch.Tensor],
                    bounds: tuple[float, float, float, float] = (-3, 3, -3, 3),
                    ax: Axes | None = None, resolution: int = 200, cmap: str = "Blues",
                    title: str | None = None, log_scale: bool = False,
                    floor: float = 12.0) -> Axes:
    """Shade a 2-D density p(x) = exp(log_prob(x)) over ``bounds``.

    With ``log_scale=True`` the shading is log p(x), clipped ``floor`` nats below its
    maximum: narrow peaks (such as the ring's, std 0.02) stay visible.
    """
    gx, gy, lp = density_grid(log_prob, bounds, resolution)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    values = np.maximum(lp, lp.max() - floor) if log_scale else np.exp(lp)
    ax.pcolormesh(gx, gy, values, cmap=cmap, shading="auto")
    return _frame_2d(ax, bounds, title)


def plot_samples_2d(samples: torch.Tensor, ax: Axes | None = None,
                    log_prob: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    bounds: tuple[float, float, float, float] | None = None,
                    title: str | None = None, color: str = "tab:orange", s: float = 3.0,
                    alpha: float = 0.6, label: str | None = None,
                    log_scale: bool = True) -> Axes:
    """Scatter 2-D samples (N, 2), over a shaded density when ``log_prob`` is given
    (shaded in log scale by default, see :func:`plot_density_2d`)."""
    check_tensor(samples, "samples", ndim=2, last_dims=(2,), nonempty=True, finite=True)
    pts = samples.detach().float().cpu().numpy()
    if bounds is None:
        lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
        pad = 0.15 * (hi - lo).max() + 1e-3
        bounds = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    if log_prob is not None:
        plot_density_2d(log_prob, bounds, ax=ax, log_scale=log_scale)
    ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=alpha, color=color, linewidths=0, label=label)
    return _frame_2d(ax, bounds, title)


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(y) < window:
        return y
    kernel = np.ones(window) / window
    return np.convolve(y, kernel, mode="valid")


def plot_history(history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None,
                 x_key: str = "step", ax: Axes | None = None, smooth: int = 1,
                 title: str | None = None, logy: bool = False) -> Axes:
    """Plot training curves from a history of plain floats, e.g. ``{"step": [...], "loss": [...]}``.

    Args:
        keys: which series to draw (default: every key except ``x_key``).
        smooth: moving-average window (1 = raw).
    """
    if not isinstance(history, Mapping) or not history:
        raise TypeError("history must be a non-empty dict of lists of floats")
    keys = [k for k in history if k != x_key] if keys is None else list(keys)
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"history has no series {missing}; it has {sorted(history)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for k in keys:
        y = np.asarray(history[k], dtype=float)
        x = np.asarray(history[x_key], dtype=float) if x_key in history else np.arange(len(y))
        ys = _smooth(y, smooth)
        ax.plot(x[len(x) - len(ys):], ys, label=k)
    ax.set_xlabel(x_key)
    if logy:
        ax.set_yscale("log")
    if len(keys) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax
