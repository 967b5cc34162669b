"""A scrubber over the saved snapshots of a GAN's training (chapter 6); a static figure in
the rendered book."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from tutorial_lib.gan.game import plot_game_state
from tutorial_lib.plotting import plot_history
from tutorial_lib.widgets import interactive_available


def _nearest_surface(recorder, step: int):
    if recorder is None or not recorder.surfaces:
        return None
    return min(recorder.surfaces, key=lambda s: abs(s[0] - step))[1]


def _losses_panel(history, ax, step: int | None = None) -> None:
    plot_history(history, keys=["loss_d", "loss_g"], ax=ax,
                 smooth=max(1, len(history["step"]) // 100), title="losses")
    if step is not None:
        ax.axvline(step, color="k", lw=1, ls="--")


def game_scrubber(run, target, bounds: tuple[float, float, float, float],
                  recorder=None, static_panels: int = 4) -> Figure | object:
    """Step through the saved snapshots of a 2-D GAN run.

    ``run`` is what :func:`tutorial_lib.gan.train_gan` returned (with ``snapshot_every``
    set); ``recorder`` the :class:`tutorial_lib.gan.game.SurfaceRecorder` used as its
    callback (optional: without it, no decision surface is drawn).

    Live: a slider over the snapshots; the left panel shows the generator's samples over
    the true density with the discriminator's contours at that step, the right panel both
    losses with a line at that step. Static: ``static_panels`` snapshots, evenly spaced
    from first to last, then the losses.
    """

    if not run.snapshots:
        raise ValueError("the run has no snapshots; train with "
                         "GANTrainConfig(snapshot_every=...) to record them")
    probabilities = recorder.probabilities if recorder is not None else True
    snaps = run.snapshots
    if not interactive_available():
        n = min(static_panels, len(snaps))
        picks = [snaps[round(i * (len(snaps) - 1) / max(1, n - 1))] for i in range(n)]
        fig, axes = plt.subplots(1, n + 1, figsize=(3.2 * (n + 1), 3.3))
        for ax, (step, samples) in zip(axes[:-1], picks, strict=True):
            plot_game_state(target, samples, _nearest_surface(recorder, step), bounds, ax=ax,
                            title=f"step {step}", probabilities=probabilities)
        _losses_panel(run.history, axes[-1])
        fig.tight_layout()
        plt.close(fig)  # returned, so Jupyter shows it once
        return fig
    import ipywidgets as w

    out = w.Output()
    index = w.IntSlider(value=len(snaps) - 1, min=0, max=len(snaps) - 1,
                        description="snapshot", continuous_update=False)

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            step, samples = snaps[index.value]
            fig, axes = plt.subplots(1, 2, figsize=(8.5, 4))
            plot_game_state(target, samples, _nearest_surface(recorder, step), bounds,
                            ax=axes[0], title=f"step {step}", probabilities=probabilities)
            _losses_panel(run.history, axes[1], step)
            fig.tight_layout()
            plt.show()

    index.observe(redraw, "value")
    play = w.Play(value=len(snaps) - 1, min=0, max=len(snaps) - 1, interval=400)
    w.jslink((play, "value"), (index, "value"))
    redraw()
    return w.VBox([w.HBox([play, index]), out])
