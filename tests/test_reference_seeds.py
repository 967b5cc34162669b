"""Chapter 10's optional reference seeds: the shipped manifest, the repository's files and
the verified download, against a loopback server serving checkpoints the tests make."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from loopback import LoopbackServer

from tutorial_lib.applications import reference_seeds
from tutorial_lib.applications.head_to_head import ALL_MODELS, reference_name
from tutorial_lib.applications.reference_seeds import fetch_reference, locate
from tutorial_lib.checkpoints import (
    MANIFEST,
    REFERENCE_DIR,
    CheckpointError,
    load_checkpoint,
    read_manifest,
    save_checkpoint,
    sha256_file,
)
from tutorial_lib.data.download import DownloadError

PUBLISHED_SEEDS = (1, 2)


# --- the real files ----------------------------------------------------------------------

def test_seeds_one_and_two_are_optional_and_seed_zero_ships() -> None:
    optional, shipped = reference_seeds.optional_manifest(), read_manifest(REFERENCE_DIR)
    for model in ALL_MODELS:  # chapter 16's diffusion model included
        assert reference_name(model, 0) in shipped
        for seed in PUBLISHED_SEEDS:
            name = reference_name(model, seed)
            assert name in optional and name not in shipped, name
            assert not (REFERENCE_DIR / optional[name].file).exists()  # not in the wheel
            assert optional[name].seed == seed and optional[name].model == f"compare.{model}"
            assert f"--model {model} " in optional[name].command
            assert f"--seed {seed} " in optional[name].command


@pytest.mark.skipif(not reference_seeds.SOURCE_DIR.is_dir(),
                    reason="the repository's reference_seeds/ exists in a source checkout")
def test_the_repository_files_match_the_shipped_manifest_and_verify() -> None:
    source = read_manifest(reference_seeds.SOURCE_DIR)
    assert source == reference_seeds.optional_manifest()
    for name, entry in source.items():
        assert sha256_file(reference_seeds.SOURCE_DIR / entry.file) == entry.sha256, name
        assert locate(name, download=False) == reference_seeds.SOURCE_DIR


# --- the download, on files the tests make --------------------------------------------------

@pytest.fixture
def published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback) -> LoopbackServer:
    """Two small checkpoints published on a loopback server; the package's optional
    manifest points at them and no source checkout is visible."""
    made = tmp_path / "made"
    for seed in (1, 2):
        save_checkpoint({"w": torch.full((3, 4), float(seed))}, made, f"compare-gan-s{seed}",
                        command=f"train --seed {seed}", data="test", steps=seed, seed=seed,
                        model="compare.gan")
    optional = tmp_path / "package_optional"
    optional.mkdir()
    shutil.copy(made / MANIFEST, optional / MANIFEST)
    monkeypatch.setattr(reference_seeds, "OPTIONAL_DIR", optional)
    monkeypatch.setattr(reference_seeds, "SOURCE_DIR", tmp_path / "no_checkout")
    return loopback({p.name: p.read_bytes() for p in made.glob("*.safetensors")})


def _base(server: LoopbackServer, mode: str) -> str:
    return server.url(mode)


def test_fetch_downloads_verifies_and_writes_the_manifest(
        published: LoopbackServer, tmp_path: Path) -> None:
    folder = fetch_reference(root=tmp_path / "data", mirrors=(_base(published, "good"),),
                             progress=False)
    assert folder == tmp_path / "data" / "reference-seeds"
    assert sorted(p.name for p in folder.iterdir()) == [
        "compare-gan-s1.safetensors", "compare-gan-s2.safetensors", MANIFEST]
    for seed in (1, 2):
        tensors, entry = load_checkpoint(f"compare-gan-s{seed}", folder)
        assert entry.seed == seed and torch.equal(tensors["w"], torch.full((3, 4), float(seed)))
    asked = len(published.requests)
    fetch_reference(root=tmp_path / "data", mirrors=(_base(published, "good"),), progress=False)
    assert len(published.requests) == asked  # verified copies are not fetched again


def test_a_corrupt_mirror_leaves_no_file_and_the_next_mirror_is_used(
        published: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="compare-gan-s1.safetensors of reference "
                                            "checkpoint 'compare-gan-s1'") as err:
        fetch_reference(["compare-gan-s1"], tmp_path / "data",
                        mirrors=(_base(published, "corrupt"),), progress=False)
    assert "seed 0 of each model ships with the package" in str(err.value)
    folder = tmp_path / "data" / "reference-seeds"
    assert not any(p.suffix == ".safetensors" for p in folder.iterdir())
    assert not (folder / MANIFEST).exists()  # nothing verified, nothing listed
    fetch_reference(["compare-gan-s1"], tmp_path / "data",
                    mirrors=(_base(published, "corrupt"), _base(published, "good")),
                    progress=False)
    assert load_checkpoint("compare-gan-s1", folder)[1].steps == 1


def test_locate_prefers_the_package_then_the_checkout_then_the_download(
        published: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert locate(reference_name("gan", 0), download=False) == REFERENCE_DIR
    with pytest.raises(CheckpointError, match=r"optional download, not fetched yet: .*"
                                              r"fetch_reference\(\['compare-gan-s2'\]\)"):
        locate("compare-gan-s2", download=False, root=tmp_path / "data")
    monkeypatch.setattr(reference_seeds, "MIRRORS", (_base(published, "good"),))
    folder = locate("compare-gan-s2", root=tmp_path / "data")
    assert folder == tmp_path / "data" / "reference-seeds"
    assert (folder / "compare-gan-s2.safetensors").is_file()
    assert not (folder / "compare-gan-s1.safetensors").exists()  # only what was asked for
    assert locate("compare-gan-s2", download=False, root=tmp_path / "data") == folder


def test_unknown_names_and_bad_arguments_say_what_was_expected(
        published: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no reference checkpoint named 'compare-gan-s7'"):
        locate("compare-gan-s7", download=False)
    with pytest.raises(ValueError, match=r"not optional reference checkpoints: 'compare-gan-s0'"
                                         r".*known: compare-gan-s1, compare-gan-s2"):
        fetch_reference(["compare-gan-s0"], tmp_path, mirrors=(_base(published, "good"),))
    with pytest.raises(ValueError, match="ending in '/'"):
        fetch_reference(root=tmp_path, mirrors=("http://127.0.0.1/no-slash",))
    with pytest.raises(ValueError, match="positive timeout"):
        fetch_reference(root=tmp_path, mirrors=(_base(published, "good"),), timeout=0)
    assert published.requests == []
