"""Sliders over a trained VAE's latent space (chapter 4); static figures in the rendered book."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from tutorial_lib.plotting import show_images
from tutorial_lib.vae.sampling import interpolate, latent_grid
from tutorial_lib.widgets import interactive_available


def _decode_mean(model, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.mean_image(model.decode(z.to(device), None if y is None else y.to(device))
                                ).cpu()


def latent_explorer(model, span: float = 1.645, static_grid: int = 15) -> Figure | object:
    """Move through a 2-D latent space and see the decoded digit.

    Returns the widget (live) or the figure (static); as the last expression of a cell,
    Jupyter displays it.

    Live: two sliders z_1, z_2 in [-span, span]. Static: the decoded grid over the same
    square (``static_grid`` x ``static_grid`` images), evenly spaced in probability under
    N(0, 1) via :func:`tutorial_lib.vae.sampling.latent_grid`. The default span, 1.645, is
    the 95% quantile of N(0, 1): the grid's 5%-95% square.
    """

    if model.latent_dim != 2:
        raise ValueError(f"the latent explorer needs a model with 2 latent dimensions, got "
                         f"{model.latent_dim}; use a VAE trained with latent_dim=2")
    if not interactive_available():
        fig, ax = plt.subplots(figsize=(6, 6))
        quantile = float(torch.distributions.Normal(0.0, 1.0).cdf(torch.tensor(-span)))
        show_images(latent_grid(model, n=static_grid, quantile=quantile), nrow=static_grid,
                    ax=ax,
                    title="decoded means over the latent plane (z1 right, z2 up)")
        plt.close(fig)  # returned, so Jupyter shows it once
        return fig
    import ipywidgets as w

    out = w.Output()
    z1 = w.FloatSlider(value=0.0, min=-span, max=span, step=0.05, description="z1")
    z2 = w.FloatSlider(value=0.0, min=-span, max=span, step=0.05, description="z2")

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            img = _decode_mean(model, torch.tensor([[z1.value, z2.value]]))
            fig, ax = plt.subplots(figsize=(2.5, 2.5))
            show_images(img, ax=ax, title=f"z = ({z1.value:+.2f}, {z2.value:+.2f})")
            plt.show()

    z1.observe(redraw, "value")
    z2.observe(redraw, "value")
    redraw()
    return w.HBox([w.VBox([z1, z2]), out])


def interpolation_explorer(model, images: torch.Tensor, labels: torch.Tensor,
                           steps: int = 11) -> Figure | object:
    """Interpolate between two chosen digits in latent space.

    Live: pick the start and end digit class and an example index; a slider t in [0, 1]
    moves along z_t = (1 - t) mu(x_a) + t mu(x_b). Static: for a few pairs of classes,
    the whole path as a strip of ``steps`` images.
    """

    def pick(cls: int, index: int = 0) -> torch.Tensor:
        members = images[labels == cls]
        if len(members) == 0:
            raise ValueError(f"no image of class {cls} among the images given")
        return members[index % len(members)]

    if not interactive_available():
        pairs = [(0, 6), (1, 7), (3, 8), (4, 9), (2, 5)]
        strips = torch.cat([interpolate(model, pick(a), pick(b), steps) for a, b in pairs])
        fig, ax = plt.subplots(figsize=(steps * 0.7, len(pairs) * 0.75))
        show_images(strips, nrow=steps, ax=ax,
                    title="latent interpolation, left to right (t = 0 to 1)")
        plt.close(fig)  # returned, so Jupyter shows it once
        return fig
    import ipywidgets as w

    start = w.Dropdown(options=list(range(10)), value=1, description="from digit")
    end = w.Dropdown(options=list(range(10)), value=7, description="to digit")
    example = w.IntSlider(value=0, min=0, max=20, description="example")
    t = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="t")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            path = interpolate(model, pick(start.value, example.value),
                               pick(end.value, example.value), steps=51)
            i = round(t.value * 50)
            fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
            show_images(path[:1], ax=axes[0], title="start")
            show_images(path[i:i + 1], ax=axes[1], title=f"t = {t.value:.2f}")
            show_images(path[-1:], ax=axes[2], title="end")
            plt.show()

    for control in (start, end, example, t):
        control.observe(redraw, "value")
    redraw()
    return w.VBox([w.HBox([start, end, example]), t, out])
