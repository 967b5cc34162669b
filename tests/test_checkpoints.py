"""checkpoints and gan/reference: verified checkpoints, the manifest, the train command."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest
import torch

from tutorial_lib.applications.head_to_head import load_trained, reference_name
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


def _tamper(folder: Path, name: str, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[name].update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("file", ["../outside/tiny.safetensors", "ABSOLUTE", "sub/tiny.safetensors",
                                  "..", "other.safetensors", "/dev/zero"])
def test_a_manifest_entry_cannot_point_outside_its_folder(saved: Generator, tmp_path: Path,
                                                          file: str) -> None:
    """Each entry's file is <name>.safetensors in the folder, whatever the hash says: a
    copy outside the folder with the matching hash is refused, and /dev/zero never read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tiny.safetensors").write_bytes((tmp_path / "tiny.safetensors").read_bytes())
    if file == "ABSOLUTE":
        file = str(outside / "tiny.safetensors")
    _tamper(tmp_path, "tiny", file=file)
    with pytest.raises(CheckpointError, match="not a valid checkpoint manifest.*expected the "
                                              "name 'tiny' and the file 'tiny.safetensors'"):
        load_checkpoint("tiny", tmp_path)


def test_manifest_names_are_checked_when_loading_as_when_saving(saved: Generator,
                                                                tmp_path: Path) -> None:
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = dict(manifest["tiny"], name="../x", file="../x.safetensors")
    (tmp_path / "manifest.json").write_text(json.dumps({"../x": entry}))
    with pytest.raises(CheckpointError, match="checkpoint name '../x'"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(CheckpointError, match="expected an object"):
        read_manifest(tmp_path)


def test_a_link_out_of_the_folder_or_a_device_is_not_loaded(saved: Generator,
                                                            tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.safetensors"
    (tmp_path / "tiny.safetensors").rename(outside)
    (tmp_path / "tiny.safetensors").symlink_to(outside)  # same bytes, same hash
    with pytest.raises(CheckpointError, match="not a regular file in"):
        load_checkpoint("tiny", tmp_path)
    (tmp_path / "tiny.safetensors").unlink()
    (tmp_path / "tiny.safetensors").symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="not a regular file in"):
        load_checkpoint("tiny", tmp_path)
    outside.unlink()


def test_saving_over_an_entry_of_a_damaged_manifest_keeps_the_old_file(
        saved: Generator, tmp_path: Path) -> None:
    before = (tmp_path / "tiny.safetensors").read_bytes()
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid checkpoint manifest"):
        save_checkpoint({"w": torch.ones(3)}, tmp_path, "tiny", command="", data="",
                        steps=0, seed=0, model="x")
    assert (tmp_path / "tiny.safetensors").read_bytes() == before
    assert not list(tmp_path.glob(".partial-*"))


def _save_many(folder: str, worker: int, count: int) -> None:
    for i in range(count):
        save_checkpoint({"w": torch.full((4,), float(worker * 100 + i))}, folder,
                        f"w{worker}-{i}", command="test", data="", steps=i, seed=worker,
                        model="x")


def test_processes_saving_into_one_folder_lose_no_entry(tmp_path: Path) -> None:
    """4 processes x 20 saves at once: 80 entries, each loadable with its own values."""
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    workers = [context.Process(target=_save_many, args=(str(tmp_path), w, 20))
               for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0] * 4
    manifest = read_manifest(tmp_path)
    assert len(manifest) == 80
    for w in range(4):
        for i in range(20):
            tensors, _ = load_checkpoint(f"w{w}-{i}", tmp_path)
            assert torch.equal(tensors["w"], torch.full((4,), float(w * 100 + i)))
    assert len(list(tmp_path.glob("*.safetensors"))) == 80
    assert not list(tmp_path.glob(".partial-*"))


def test_every_reference_checkpoint_matches_the_manifest() -> None:
    manifest = read_manifest(REFERENCE_DIR)
    assert manifest, "the package ships reference checkpoints"
    total = 0
    for name, entry in manifest.items():
        path = REFERENCE_DIR / entry.file
        size = path.stat().st_size
        total += size
        assert size <= 8_000_000, f"{name} is over 8 MB"
        assert entry.command.startswith("python -m tutorial_lib train ")
        assert f"--seed {entry.seed}" in entry.command
        if entry.model.startswith("compare."):  # chapter 10's head-to-head models
            kind = entry.model.removeprefix("compare.")
            assert f"--model {kind}" in entry.command
            assert (f"--name {name}" in entry.command
                    or name == reference_name(kind, entry.seed))
            trained = load_trained(name, device="cpu")
            x = trained.sample(4, torch.Generator().manual_seed(0))
            assert x.shape == (4, 1, 28, 28)
            assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1
            continue
        assert f"--name {name}" in entry.command
        if entry.model == "metrics.DigitClassifier":  # tested in test_metrics.py
            continue
        g = load_generator(name, device="cpu")
        with torch.no_grad():
            x = g(g.sample_latent(4))
        assert torch.isfinite(x).all()
    # the installed package stays small: every shipped checkpoint together
    assert total <= 30_000_000, f"the reference checkpoints take {total / 1e6:.1f} MB"


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


@pytest.mark.parametrize("args, message", [
    (["--name", "Bad Name"], "checkpoint name 'Bad Name'"),
    (["--name", "../up"], "checkpoint name '../up'"),
    (["--name", "ok", "--out", "FILE"], "exists and is not a folder"),
    (["--name", "ok", "--out", "DAMAGED"], "not a valid checkpoint manifest"),
    (["--name", "ok", "--steps", "0"], "--steps must be at least 1, got 0"),
])
def test_train_command_checks_its_arguments_before_training(tmp_path, capsys, monkeypatch,
                                                            args, message) -> None:
    import tutorial_lib.gan.train

    def never(*a, **k):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(tutorial_lib.gan.train, "train_gan", never)
    (tmp_path / "file").write_text("")
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "manifest.json").write_text("{")
    out = {"FILE": str(tmp_path / "file"), "DAMAGED": str(tmp_path / "damaged")}
    args = [out.get(a, a) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    assert main(["train", "gan", "--data", "ring8", *args]) == 2
    assert message in capsys.readouterr().err


def test_train_classifier_checks_its_arguments_before_training(tmp_path, capsys) -> None:
    assert main(["train", "classifier", "--name", "Bad", "--out", str(tmp_path)]) == 2
    assert "checkpoint name 'Bad'" in capsys.readouterr().err
    assert main(["train", "classifier", "--name", "ok", "--epochs", "0",
                 "--out", str(tmp_path)]) == 2
    assert "--epochs must be at least 1, got 0" in capsys.readouterr().err


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
