"""checkpoints and gan/reference: verified checkpoints, the manifest, the train command."""

from __future__ import annotations

import json
from pathlib import Path

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
from tutorial_lib.gan.models import make_discriminator
from tutorial_lib.gan.reference import load_generator, save_generator


@pytest.fixture
def saved(tiny_gan: GANConfig, tmp_path: Path) -> Generator:
    """A tiny generator saved as "tiny" in tmp_path, with its manifest entry."""
    torch.manual_seed(0)
    g = make_generator(tiny_gan).eval()
    save_generator(g, tmp_path, "tiny", command="python -m tutorial_lib train gan ...",
                   data="ring8", steps=3, seed=0)
    return g


def test_a_saved_generator_loads_back_identical_and_its_hash_is_recorded(
        saved: Generator, tmp_path: Path) -> None:
    g = saved
    entry = read_manifest(tmp_path)["tiny"]
    assert entry.sha256 == sha256_file(tmp_path / "tiny.safetensors")
    assert entry.bytes == (tmp_path / "tiny.safetensors").stat().st_size
    assert (entry.data, entry.steps, entry.seed) == ("ring8", 3, 0)
    h = load_generator("tiny", tmp_path, device="cpu")
    assert h.config == g.config
    z = torch.randn(5, 2)
    torch.testing.assert_close(h(z), g(z))
    assert not list(tmp_path.glob(".partial-*"))  # nothing left behind


def test_a_modified_checkpoint_is_refused_with_a_clear_error(saved: Generator,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # flip the bits of one byte of a weight
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="was modified or damaged.*Re-create it with"):
        load_generator("tiny", tmp_path)


def test_missing_or_unknown_checkpoints_and_bad_names_are_refused(saved: Generator,
                                                                 tmp_path: Path) -> None:
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


@pytest.mark.slow
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


@pytest.mark.gpu
def test_reference_generator_and_training_on_cuda_match_cpu(tiny_gan: GANConfig) -> None:
    name = next(iter(read_manifest(REFERENCE_DIR)))
    cpu, gpu = load_generator(name, device="cpu"), load_generator(name, device="cuda")
    z = cpu.sample_latent(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(gpu(z.cuda()).cpu(), cpu(z), atol=1e-4, rtol=1e-4)
    torch.manual_seed(0)
    g, d = make_generator(tiny_gan), make_discriminator(tiny_gan)
    run = train_gan(g, d, ring8().sample, GANTrainConfig(steps=5, batch_size=8, ema=0.9),
                    device="cuda", progress=False)
    assert next(g.parameters()).is_cuda and next(run.ema_generator.parameters()).is_cuda
