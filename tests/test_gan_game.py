"""gan/game and gan/explorers: the discriminator's surface over training, and its scrubber."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from tutorial_lib.data import ring8
from tutorial_lib.gan import GANConfig, GANTrainConfig, make_generator, train_gan
from tutorial_lib.gan.game import SurfaceRecorder, plot_game_state
from tutorial_lib.gan.models import make_discriminator


@pytest.mark.slow
def test_surface_recorder_and_game_plot(tiny_gan: GANConfig) -> None:
    matplotlib.use("Agg")
    torch.manual_seed(0)
    g, d = make_generator(tiny_gan), make_discriminator(tiny_gan)
    target = ring8()
    rec = SurfaceRecorder((-3, 3, -3, 3), every=5, resolution=10)
    run = train_gan(g, d, target.sample, GANTrainConfig(steps=10, batch_size=8,
                                                         snapshot_every=5),
                    device="cpu", progress=False, callback=rec)
    assert [s for s, _ in rec.surfaces] == [s for s, _ in run.snapshots] == [1, 5, 10]
    surface = rec.surfaces[-1][1]
    assert surface.shape == (10, 10) and ((surface > 0) & (surface < 1)).all()
    # the recorded surface is D's sigmoid output at the grid points
    x = torch.tensor([[-3.0, -3.0], [3.0, 3.0]])
    with torch.no_grad():
        expected = torch.sigmoid(d(x))
    assert surface[0, 0] == pytest.approx(float(expected[0]), abs=1e-6)
    assert surface[-1, -1] == pytest.approx(float(expected[1]), abs=1e-6)
    ax = plot_game_state(target, run.snapshots[-1][1], surface, (-3, 3, -3, 3))
    assert ax.get_xlim() == (-3, 3)
    with pytest.raises(ValueError, match="every must be at least 1"):
        SurfaceRecorder((-3, 3, -3, 3), every=0)



@pytest.mark.slow
def test_game_scrubber_static_and_live(tiny_gan: GANConfig, monkeypatch) -> None:
    matplotlib.use("Agg")
    from tutorial_lib import widgets
    from tutorial_lib.gan import explorers

    torch.manual_seed(0)
    g, d = make_generator(tiny_gan), make_discriminator(tiny_gan)
    target = ring8()
    rec = SurfaceRecorder((-3, 3, -3, 3), every=2, resolution=8)
    run = train_gan(g, d, target.sample, GANTrainConfig(steps=6, batch_size=8,
                                                        snapshot_every=2),
                    device="cpu", progress=False, callback=rec)
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    fig = explorers.game_scrubber(run, target, (-3, 3, -3, 3), rec, static_panels=3)
    assert len(fig.axes) >= 4 and fig.axes[0].get_title() == "step 1"
    monkeypatch.setenv(widgets.STATIC_ENV, "0")
    box = explorers.game_scrubber(run, target, (-3, 3, -3, 3), rec)
    slider = box.children[0].children[1]
    assert slider.max == len(run.snapshots) - 1
    slider.value = 0  # redraws without error
    run.snapshots.clear()
    with pytest.raises(ValueError, match="snapshot_every"):
        explorers.game_scrubber(run, target, (-3, 3, -3, 3))
