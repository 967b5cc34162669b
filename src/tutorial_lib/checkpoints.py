"""Checkpoints: safetensors files listed in a manifest and verified by sha256.

A checkpoint is a ``.safetensors`` file (tensors only, so loading one cannot run code,
unlike a pickle) plus an entry in the ``manifest.json`` of its folder. The entry records
how the file was made (the exact command, data set, steps, seed), the model it holds and
its architecture, and the file's sha256. :func:`load_checkpoint` recomputes the hash and
refuses a file that does not match, with an error that says how to re-create it.

Writing is atomic: the file is written under a temporary name in the same folder and
renamed only when complete, so an interrupted save never leaves a partial checkpoint.

The book's reference checkpoints live in :data:`REFERENCE_DIR` (shipped with the
package) and are made by ``python -m tutorial_lib train ...``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unlisted, or does not match its manifest's sha256."""


@dataclass(frozen=True)
class ManifestEntry:
    """One checkpoint: how it was made, what it holds, and its hash."""

    name: str  # e.g. "dcgan-mnist5k"
    file: str  # file name inside the folder, e.g. "dcgan-mnist5k.safetensors"
    sha256: str  # hex digest of the file
    bytes: int  # file size
    command: str  # the command that made it
    data: str  # data set it was trained on
    steps: int  # training steps
    seed: int  # random seed
    model: str  # what the tensors are, e.g. "gan.Generator"
    config: dict[str, Any] = field(default_factory=dict)  # architecture, JSON-able
    metrics: dict[str, Any] = field(default_factory=dict)  # measured at save time


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Call write(tmp_path), then rename tmp_path to path; remove tmp_path on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".partial-{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(directory: str | Path | None = None) -> dict[str, ManifestEntry]:
    """The manifest of a checkpoint folder (default: the book's reference checkpoints)."""
    folder = Path(directory) if directory is not None else REFERENCE_DIR
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {name: ManifestEntry(**entry) for name, entry in raw.items()}
    except (json.JSONDecodeError, TypeError) as err:
        raise CheckpointError(f"{path} is not a valid checkpoint manifest: {err}") from err


def save_checkpoint(
    tensors: dict[str, torch.Tensor],
    directory: str | Path,
    name: str,
    *,
    command: str,
    data: str,
    steps: int,
    seed: int,
    model: str,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> ManifestEntry:
    """Write ``tensors`` to ``directory/name.safetensors`` and record it in the manifest.

    Both the file and the manifest are written atomically. Returns the new entry.
    """
    from safetensors.torch import save_file

    if not _NAME.match(name):
        raise ValueError(f"checkpoint name {name!r}: expected lower-case letters, digits, "
                         f"'-' or '_', starting with a letter or digit")
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
        raise ValueError("tensors: expected a non-empty dict of name -> torch.Tensor")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.safetensors"
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    _atomic_write(path, lambda tmp: save_file(cpu, tmp, metadata={"name": name}))
    entry = ManifestEntry(
        name=name, file=path.name, sha256=sha256_file(path), bytes=path.stat().st_size,
        command=command, data=data, steps=int(steps), seed=int(seed), model=model,
        config=dict(config or {}), metrics=dict(metrics or {}),
    )
    manifest = read_manifest(folder)
    manifest[name] = entry
    text = json.dumps({k: asdict(v) for k, v in sorted(manifest.items())}, indent=2) + "\n"
    _atomic_write(folder / MANIFEST, lambda tmp: Path(tmp).write_text(text))
    return entry


def load_checkpoint(
    name: str, directory: str | Path | None = None, device: torch.device | str = "cpu"
) -> tuple[dict[str, torch.Tensor], ManifestEntry]:
    """Verify ``name``'s sha256 against the manifest, then load its tensors.

    Raises :class:`CheckpointError` when the name is not in the manifest, the file is
    missing, or its hash differs from the manifest's (the file was modified or damaged).
    """
    from safetensors.torch import load_file

    folder = Path(directory) if directory is not None else REFERENCE_DIR
    manifest = read_manifest(folder)
    if name not in manifest:
        known = ", ".join(sorted(manifest)) or "none"
        raise CheckpointError(f"no checkpoint named {name!r} in {folder / MANIFEST}; "
                              f"known checkpoints: {known}")
    entry = manifest[name]
    path = folder / entry.file
    if not path.exists():
        raise CheckpointError(f"checkpoint {name!r}: file {path} is missing; re-create it "
                              f"with: {entry.command}")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise CheckpointError(
            f"checkpoint {name!r}: {path} has sha256 {actual}, but the manifest says "
            f"{entry.sha256}. The file was modified or damaged, so it was not loaded. "
            f"Re-create it with: {entry.command}"
        )
    return load_file(str(path), device=str(device)), entry
