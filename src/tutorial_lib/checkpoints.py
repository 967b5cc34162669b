"""Checkpoints: safetensors files listed in a manifest and verified by sha256.

A checkpoint is a ``.safetensors`` file (tensors only, so loading one cannot run code,
unlike a pickle) plus an entry in the ``manifest.json`` of its folder. The entry records
how the file was made (the exact command, data set, steps, seed), the model it holds and
its architecture, and the file's sha256. :func:`load_checkpoint` recomputes the hash and
refuses a file that does not match, with an error that says how to re-create it.

Every entry is confined to its folder: its ``file`` is ``<name>.safetensors`` (checked
when the manifest is read, as the name is when saving), a regular file in that folder, not
a link out of it. Saving holds a lock (``fcntl.flock`` on ``.manifest.lock`` in the folder)
around the manifest's read-modify-write, so that processes saving into one folder at once
lose no entry; the new file is written under a temporary name and moved into place only
after the manifest is updated, so an interrupted save, or a damaged manifest, never
destroys the checkpoint that was there.

The book's reference checkpoints live in :data:`REFERENCE_DIR` (shipped with the
package) and are made by ``python -m tutorial_lib train ...``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
MANIFEST = "manifest.json"
LOCK = ".manifest.lock"
SUFFIX = ".safetensors"
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


def check_name(name: str) -> str:
    """``name`` if it is a valid checkpoint name (lower-case letters, digits, '-' or '_',
    starting with a letter or digit: no path separators, no ".."), else a ValueError."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"checkpoint name {name!r}: expected lower-case letters, digits, "
                         f"'-' or '_', starting with a letter or digit")
    return name


def check_destination(directory: str | Path, name: str) -> Path:
    """Check, before any training, that ``name`` can be saved into ``directory``: a valid
    name, a folder that exists or can be made and is writable, and a readable manifest.
    Returns the folder. Raises ValueError (the name, the folder) or CheckpointError."""
    check_name(name)
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint folder {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"checkpoint folder {folder}: cannot be created ({err})") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint folder {folder}: not writable")
    read_manifest(folder)
    return folder


def _temporary(path: Path) -> Path:
    """A new empty file named ``.partial-<name>-*`` next to ``path`` (mode 0644)."""
    fd, tmp = tempfile.mkstemp(prefix=f".partial-{path.name}-", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
    return Path(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` under a temporary name, then rename it to ``path``."""
    tmp = _temporary(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _manifest_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the folder's lock file (released on close, also when
    the process dies)."""
    with open(folder / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _entry(name: str, raw: Any, path: Path) -> ManifestEntry:
    """One manifest entry, checked: its name valid and its file ``<name>.safetensors``."""
    if not isinstance(raw, dict):
        raise TypeError(f"entry {name!r} is {type(raw).__name__}, expected an object")
    entry = ManifestEntry(**raw)
    try:
        check_name(name)
    except ValueError as err:
        raise TypeError(str(err)) from err
    if entry.name != name or entry.file != name + SUFFIX:
        raise TypeError(f"entry {name!r} names {entry.name!r} and the file {entry.file!r}; "
                        f"expected the name {name!r} and the file {name + SUFFIX!r} in "
                        f"{path.parent}")
    return entry


def read_manifest(directory: str | Path | None = None) -> dict[str, ManifestEntry]:
    """The manifest of a checkpoint folder (default: the book's reference checkpoints).

    Raises :class:`CheckpointError` for a manifest that is not JSON, or with an entry whose
    name is not a checkpoint name or whose file is not ``<name>.safetensors`` in the folder
    (``../x.safetensors``, an absolute path, ...)."""
    folder = Path(directory) if directory is not None else REFERENCE_DIR
    path = folder / MANIFEST
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise TypeError(f"expected an object of name -> entry, got {type(raw).__name__}")
        return {name: _entry(name, entry, path) for name, entry in raw.items()}
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as err:
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

    The tensors go to a temporary file first; then, holding the folder's lock, the manifest
    is read (a damaged one raises :class:`CheckpointError` and changes nothing), the entry
    is added, the manifest replaced, and only then the file moved into place. Returns the
    new entry.
    """
    from safetensors.torch import save_file

    check_name(name)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
        raise ValueError("tensors: expected a non-empty dict of name -> torch.Tensor")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{SUFFIX}"
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    tmp = _temporary(path)
    try:
        save_file(cpu, str(tmp), metadata={"name": name})
        entry = ManifestEntry(
            name=name, file=path.name, sha256=sha256_file(tmp), bytes=tmp.stat().st_size,
            command=command, data=data, steps=int(steps), seed=int(seed), model=model,
            config=dict(config or {}), metrics=dict(metrics or {}),
        )
        with _manifest_lock(folder):
            manifest = read_manifest(folder)
            manifest[name] = entry
            text = json.dumps({k: asdict(v) for k, v in sorted(manifest.items())},
                              indent=2) + "\n"
            atomic_write_text(folder / MANIFEST, text)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
    path = folder / entry.file  # a plain file name, checked by read_manifest
    if not path.exists():
        raise CheckpointError(f"checkpoint {name!r}: file {path} is missing; re-create it "
                              f"with: {entry.command}")
    if path.resolve().parent != folder.resolve() or not stat.S_ISREG(path.stat().st_mode):
        raise CheckpointError(f"checkpoint {name!r}: {path} is not a regular file in "
                              f"{folder} (a link out of the folder, a device, a folder); "
                              f"re-create it with: {entry.command}")
    actual = sha256_file(path)
    if actual != entry.sha256:
        raise CheckpointError(
            f"checkpoint {name!r}: {path} has sha256 {actual}, but the manifest says "
            f"{entry.sha256}. The file was modified or damaged, so it was not loaded. "
            f"Re-create it with: {entry.command}"
        )
    return load_file(str(path), device=str(device)), entry
