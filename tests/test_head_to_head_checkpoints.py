"""Chapter 10's reference models as verified checkpoints: saved, hashed, rebuilt, sampled."""

from __future__ import annotations

import json

import pytest
import torch

from tutorial_lib.applications.head_to_head import (
    ALL_MODELS,
    load_trained,
    reference_name,
    save_trained,
    train_for,
)
from tutorial_lib.checkpoints import CheckpointError, read_manifest
from tutorial_lib.cli import main
from tutorial_lib.data.images import ImageDataset


@pytest.mark.parametrize("model", ALL_MODELS)
def test_a_saved_model_rebuilds_and_draws_the_same_images(model: str, digits: ImageDataset,
                                                          tmp_path) -> None:
    trained = train_for(model, digits, 0.5, seed=3, device="cpu")
    entry = save_trained(trained, tmp_path, reference_name(model, 3), command="test",
                         data=digits.name, seed=3, metrics={"note": "x"})
    assert entry.model == f"compare.{model}" and entry.steps == trained.steps
    assert entry.metrics["updates"] == trained.steps and entry.metrics["note"] == "x"
    loaded = load_trained(reference_name(model, 3), tmp_path, device="cpu")
    assert loaded.name == model and loaded.steps == trained.steps
    assert (loaded.vae is not None) == (trained.vae is not None)
    trained.model.eval()
    a = trained.sample(16, torch.Generator().manual_seed(7))
    b = loaded.sample(16, torch.Generator().manual_seed(7))
    assert a.shape == (16, *digits.image_shape)
    assert torch.allclose(a, b, atol=1e-6)
    for p, q in zip(trained.model.state_dict().values(), loaded.model.state_dict().values(),
                    strict=True):
        assert torch.equal(p.cpu(), q.cpu())


def test_a_modified_checkpoint_is_refused(digits: ImageDataset, tmp_path) -> None:
    trained = train_for("vae", digits, 0.3, seed=0, device="cpu")
    save_trained(trained, tmp_path, "compare-vae-s0", command="python -m x", data="digits",
                 seed=0)
    path = tmp_path / "compare-vae-s0.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        load_trained("compare-vae-s0", tmp_path)


def test_load_trained_refuses_a_checkpoint_of_another_kind() -> None:
    with pytest.raises(CheckpointError, match="not one of the head-to-head's models"):
        load_trained("dcgan-mnist5k")  # the book's shipped DCGAN: a gan.Generator entry


def test_reference_names_check_their_parts() -> None:
    assert reference_name("vae-gan", 2) == "compare-vae-gan-s2"
    with pytest.raises(ValueError, match="unknown model 'flow'"):
        reference_name("flow", 0)
    with pytest.raises(ValueError, match="non-negative integer"):
        reference_name("vae", -1)


@pytest.mark.slow
def test_train_head_to_head_saves_a_checkpoint_with_its_command(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["train", "head-to-head", "--model", "gan", "--seconds", "2", "--seed", "1",
            "--threads", "1", "--out", str(tmp_path), "--device", "cpu"]
    monkeypatch.setattr("sys.argv", ["tutorial_lib", *argv])  # what the manifest records
    assert main(argv) == 0
    entry = read_manifest(tmp_path)["compare-gan-s1"]
    assert entry.command.startswith("python -m tutorial_lib ")
    assert "--model gan" in entry.command and entry.metrics["threads"] == 1
    assert entry.metrics["seconds"] >= 2 and entry.metrics["updates"] > 0
    json.loads((tmp_path / "manifest.json").read_text())
    gan = load_trained("compare-gan-s1", tmp_path, device="cpu")
    images = gan.sample(4, torch.Generator().manual_seed(0))
    assert images.shape == (4, 1, 28, 28) and 0 <= images.min() and images.max() <= 1


@pytest.mark.slow
def test_bench_compare_scores_the_reference_checkpoints_without_training(
        tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tutorial_lib.bench import head_to_head as bench_compare
    from tutorial_lib.data.images import load_images

    small = bench_compare.CompareSettings(seconds=1, n_samples=100, nll_samples=2)
    monkeypatch.setattr(bench_compare, "settings_for", lambda name: small)
    data = load_images("mnist5k", "smoke", max_train=300, max_test=100)
    for model in ("vae", "gan"):
        for seed in (0, 1):
            trained = train_for(model, data, 0.5, seed=seed, device="cpu")
            save_trained(trained, tmp_path, reference_name(model, seed), command="test",
                         data="mnist5k", seed=seed)
    stored = tmp_path / "bench_compare.json"
    stored.write_text(json.dumps({"bench": "compare", "models": {"kept": 1}}))
    argv = ["bench", "compare", "--from-checkpoints", str(tmp_path), "--models", "vae,gan",
            "--seeds", "2", "--merge-into", str(stored)]
    monkeypatch.setattr("sys.argv", ["tutorial_lib", *argv])  # what the JSON records
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    block = result["reference"]
    for model in ("vae", "gan"):
        row = block[model]
        for key in ("fid", "fid_real", "kid", "precision", "recall", "class_tv", "seconds",
                    "updates"):
            assert isinstance(row[key], float), (model, key)
        assert len(row["fid_per_seed"]) == 2
    assert block["vae"]["nll"] > 0 and block["gan"]["nll"] is None
    merged = json.loads(stored.read_text())
    assert merged["models"] == {"kept": 1} and merged["reference"] == block
    assert "--from-checkpoints" in merged["reference_command"]
    # the stored result prints its reference table with the settings it was scored with
    printed = bench_compare.reference_table(merged)
    assert f"NLL with k = {small.nll_samples}" in printed and "2 seed(s)" in printed
    assert printed.count("\n") == 3  # a title, a header and a row per model
    # a missing checkpoint is an error that names it
    assert main(["bench", "compare", "--from-checkpoints", str(tmp_path), "--models", "aae",
                 "--seeds", "1"]) == 2
    assert "compare-aae-s0" in capsys.readouterr().err


def test_gan_changes_replace_fields_of_the_recipe(digits: ImageDataset) -> None:
    trained = train_for("gan", digits, 0.3, seed=0, device="cpu",
                        gan_changes={"hidden": 16, "batch_size": 8})
    assert trained.model.config.hidden == 16  # a GANConfig field
    assert trained.steps >= 1 and trained.diverged is None
    with pytest.raises(ValueError, match="unknown recipe field 'width'.*hidden"):
        train_for("gan", digits, 0.3, gan_changes={"width": 3})
    with pytest.raises(ValueError, match="GAN only"):
        train_for("vae", digits, 0.3, gan_changes={"hidden": 16})
    with pytest.raises(ValueError, match="batch_size"):  # the config's own check
        train_for("gan", digits, 0.3, gan_changes={"batch_size": 0})


def test_the_gan_trial_tool_types_each_change_like_the_recipe_field() -> None:
    import gan_reference_trials as trials

    assert trials.parse_change("hidden=32") == ("hidden", 32)
    assert trials.parse_change("lr_g=5e-4") == ("lr_g", 5e-4)
    assert trials.parse_change("ema=0.99") == ("ema", 0.99)
    assert trials.parse_change("augment=translation,cutout") == ("augment",
                                                                 "translation,cutout")
    for bad in ("hidden", "width=3"):
        with pytest.raises(ValueError, match="FIELD=VALUE"):
            trials.parse_change(bad)
