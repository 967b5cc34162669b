"""Part III: verified checkpoints, the train command, the lr decay and the game recorder."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest
import torch

from tutorial_lib.checkpoints import (
    REFERENCE_DIR,
    CheckpointError,
    load_checkpoint,
    read_manifest,
    save_checkpoint,
    sha256_file,
)
from tutorial_lib.cli import main
from tutorial_lib.data import ring8
from tutorial_lib.gan import GANConfig, GANTrainConfig, Generator, make_generator, train_gan
from tutorial_lib.gan.game import SurfaceRecorder, plot_game_state
from tutorial_lib.gan.models import make_discriminator
from tutorial_lib.gan.reference import load_generator, save_generator

SMALL = GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1)


def _save(tmp_path: Path, name: str = "tiny") -> Generator:
    torch.manual_seed(0)
    g = make_generator(SMALL).eval()
    save_generator(g, tmp_path, name, command="python -m tutorial_lib train gan ...",
                   data="ring8", steps=3, seed=0)
    return g


def test_a_saved_generator_loads_back_identical_and_its_hash_is_recorded(tmp_path) -> None:
    g = _save(tmp_path)
    entry = read_manifest(tmp_path)["tiny"]
    assert entry.sha256 == sha256_file(tmp_path / "tiny.safetensors")
    assert entry.bytes == (tmp_path / "tiny.safetensors").stat().st_size
    assert (entry.data, entry.steps, entry.seed) == ("ring8", 3, 0)
    h = load_generator("tiny", tmp_path, device="cpu")
    assert h.config == g.config
    z = torch.randn(5, 2)
    torch.testing.assert_close(h(z), g(z))
    assert not list(tmp_path.glob(".partial-*"))  # nothing left behind


def test_a_modified_checkpoint_is_refused_with_a_clear_error(tmp_path) -> None:
    _save(tmp_path)
    path = tmp_path / "tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # flip the bits of one byte of a weight
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="was modified or damaged.*Re-create it with"):
        load_generator("tiny", tmp_path)


def test_missing_or_unknown_checkpoints_and_bad_names_are_refused(tmp_path) -> None:
    _save(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint named 'other'.*known.*tiny"):
        load_checkpoint("other", tmp_path)
    (tmp_path / "tiny.safetensors").unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        load_checkpoint("tiny", tmp_path)
    with pytest.raises(ValueError, match="checkpoint name"):
        save_checkpoint({"w": torch.zeros(1)}, tmp_path, "Bad Name", command="", data="",
                        steps=0, seed=0, model="x")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid checkpoint manifest"):
        read_manifest(tmp_path)


def test_an_interrupted_save_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    import safetensors.torch

    def crash(tensors, path, metadata=None):
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"w": torch.zeros(2)}, tmp_path, "x", command="", data="", steps=0,
                        seed=0, model="x")
    assert list(tmp_path.iterdir()) == []


def test_every_reference_checkpoint_matches_the_manifest() -> None:
    manifest = read_manifest(REFERENCE_DIR)
    assert manifest, "the package ships reference checkpoints"
    for name, entry in manifest.items():
        path = REFERENCE_DIR / entry.file
        assert path.stat().st_size <= 5_000_000, f"{name} is over 5 MB"
        assert entry.command.startswith("python -m tutorial_lib train ")
        assert f"--name {name}" in entry.command and f"--seed {entry.seed}" in entry.command
        if entry.model == "metrics.DigitClassifier":  # tested in test_metrics.py
            continue
        g = load_generator(name, device="cpu")
        with torch.no_grad():
            x = g(g.sample_latent(4))
        assert torch.isfinite(x).all()


def test_train_command_writes_a_verified_checkpoint(tmp_path, capsys) -> None:
    code = main(["train", "gan", "--data", "ring8", "--steps", "5", "--seed", "3",
                 "--name", "ring-test", "--out", str(tmp_path), "--device", "cpu"])
    assert code == 0
    assert "saved" in capsys.readouterr().out
    raw = json.loads((tmp_path / "manifest.json").read_text())["ring-test"]
    assert raw["steps"] == 5 and raw["seed"] == 3 and raw["data"] == "ring8"
    assert 0 <= raw["metrics"]["modes"] <= 8
    g = load_generator("ring-test", tmp_path, device="cpu")
    assert g.config.data_shape == (2,)


def test_train_command_rejects_contradictory_options(tmp_path, capsys) -> None:
    assert main(["train", "gan", "--data", "ring8", "--conditional", "--steps", "2",
                 "--name", "x", "--out", str(tmp_path)]) == 2
    assert "image data only" in capsys.readouterr().err
    assert main(["train", "gan", "--data", "ring8", "--variant", "lsgan", "--steps", "2",
                 "--name", "x", "--out", str(tmp_path)]) == 2
    assert "unknown toy variant" in capsys.readouterr().err


def test_learning_rates_decay_linearly_to_zero() -> None:
    from tutorial_lib.gan.train import learning_rate_factor

    factor = learning_rate_factor(GANTrainConfig(steps=10, decay_from=0.5))
    assert [factor(k) for k in range(6)] == [1.0] * 6
    assert [factor(k) for k in range(6, 11)] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    constant = learning_rate_factor(GANTrainConfig(steps=10))
    assert {constant(k) for k in range(11)} == {1.0}
    torch.manual_seed(0)
    g, d = make_generator(SMALL), make_discriminator(SMALL)
    lrs: list[float] = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = spy
    try:
        train_gan(g, d, ring8().sample, GANTrainConfig(steps=4, batch_size=8, lr_g=1e-3,
                                                       lr_d=1e-3, decay_from=0.5),
                  device="cpu", progress=False)
    finally:
        torch.optim.Adam.step = original
    # (D step, G step) per iteration; the factor is 1, 1, 1, 0.5 for steps 1..4
    assert lrs == pytest.approx([1e-3] * 6 + [5e-4] * 2)


def test_surface_recorder_and_game_plot() -> None:
    matplotlib.use("Agg")
    torch.manual_seed(0)
    g, d = make_generator(SMALL), make_discriminator(SMALL)
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


def test_game_scrubber_static_and_live(monkeypatch) -> None:
    matplotlib.use("Agg")
    from tutorial_lib import widgets
    from tutorial_lib.gan import explorers

    torch.manual_seed(0)
    g, d = make_generator(SMALL), make_discriminator(SMALL)
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


def test_slerp_keeps_the_norm_and_hits_both_endpoints() -> None:
    from tutorial_lib.gan.latent import interpolate_latents, slerp

    torch.manual_seed(0)
    z0 = torch.randn(64)
    z1 = torch.randn(64)
    z1 = z1 / z1.norm() * z0.norm()  # equal norms: slerp stays on the sphere
    path = interpolate_latents(z0, z1, 9)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(9), atol=1e-4,
                               rtol=1e-4)
    # equal angles between consecutive points (constant speed on the circle)
    cos = torch.nn.functional.cosine_similarity(path[1:], path[:-1], dim=1)
    torch.testing.assert_close(cos, cos[0].expand(8), atol=1e-5, rtol=1e-5)
    straight = interpolate_latents(z0, z1, 9, spherical=False)
    assert straight.norm(dim=1)[4] < 0.9 * z0.norm()  # the straight midpoint is short
    torch.testing.assert_close(slerp(z0, 2 * z0, torch.tensor([0.5])), 1.5 * z0[None])
    with pytest.raises(ValueError, match="steps must be at least 2"):
        interpolate_latents(z0, z1, 1)


def test_the_generator_average_is_the_warmed_up_exponential_average() -> None:
    from tutorial_lib.gan.train import ema_decay

    assert ema_decay(0.999, 1) == pytest.approx(2 / 11)
    assert ema_decay(0.999, 10_000) == 0.999
    torch.manual_seed(0)
    g, d = make_generator(SMALL), make_discriminator(SMALL)
    history: list[torch.Tensor] = []
    run = train_gan(g, d, ring8().sample,
                    GANTrainConfig(steps=6, batch_size=8, ema=0.9),
                    device="cpu", progress=False,
                    callback=lambda step, g, d: history.append(
                        g.net[0].weight.detach().clone()))
    torch.manual_seed(0)  # the same seed gives the initial weights again
    first = make_generator(SMALL).net[0].weight.detach().clone()
    expected = first
    for step, w in enumerate(history, start=1):
        beta = ema_decay(0.9, step)
        expected = beta * expected + (1 - beta) * w
    torch.testing.assert_close(run.ema_generator.net[0].weight, expected)


@pytest.mark.gpu
def test_reference_generator_and_training_on_cuda_match_cpu() -> None:
    name = next(iter(read_manifest(REFERENCE_DIR)))
    cpu, gpu = load_generator(name, device="cpu"), load_generator(name, device="cuda")
    z = cpu.sample_latent(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(gpu(z.cuda()).cpu(), cpu(z), atol=1e-4, rtol=1e-4)
    torch.manual_seed(0)
    g, d = make_generator(SMALL), make_discriminator(SMALL)
    run = train_gan(g, d, ring8().sample, GANTrainConfig(steps=5, batch_size=8, ema=0.9),
                    device="cuda", progress=False)
    assert next(g.parameters()).is_cuda and next(run.ema_generator.parameters()).is_cuda
