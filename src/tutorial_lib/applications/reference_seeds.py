"""Chapter 10's reference checkpoints beyond seed 0: where they are, and fetching them.

Seed 0 of each of the four head-to-head models ships inside the package
(:data:`~tutorial_lib.checkpoints.REFERENCE_DIR`). Seeds 1 and 2 would take the installed
package past the book's limit of about 30 MB, so they are an optional download: their files
live in the repository's ``reference_seeds/`` folder, and the package carries only their
manifest (``reference/optional/manifest.json``: each file's sha256, size and the command
that made it).

:func:`locate` says where a reference checkpoint is: the package, else the repository's
folder when the package runs from a source checkout (offline, as in CI), else the download
folder, fetching the file there first. :func:`fetch_reference` downloads from
:data:`MIRRORS` with the published sha256 (pooch writes to a temporary file and moves it
into place only when the hash matches, so a broken transfer leaves no partial file) and
writes the manifest beside the files, so that
:func:`~tutorial_lib.checkpoints.load_checkpoint` verifies each file again on every load.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tutorial_lib.checkpoints import (
    MANIFEST,
    REFERENCE_DIR,
    CheckpointError,
    ManifestEntry,
    atomic_write_text,
    read_manifest,
)
from tutorial_lib.data.download import data_dir, fetch_file, remove_stale_temporaries

__all__ = ["MIRRORS", "OPTIONAL_DIR", "SOURCE_DIR", "fetch_reference", "locate",
           "optional_manifest"]

OPTIONAL_DIR = REFERENCE_DIR / "optional"
"""The package folder holding only the manifest of the optional checkpoints."""

SOURCE_DIR = Path(__file__).resolve().parents[3] / "reference_seeds"
"""The repository's folder of optional checkpoints (present in a source checkout only)."""

MIRRORS: tuple[str, ...] = (
    "https://raw.githubusercontent.com/gans-vaes-book/gans-and-vaes/main/reference_seeds/",
    "https://cdn.jsdelivr.net/gh/gans-vaes-book/gans-and-vaes@main/reference_seeds/",
)
"""Base URLs of the repository's ``reference_seeds/`` folder, tried in turn."""

FOLDER = "reference-seeds"
"""The subfolder of the data folder (``$TUTORIAL_DATA``) that downloads go to."""


def optional_manifest() -> dict[str, ManifestEntry]:
    """The entries of the optional reference checkpoints, by name (``compare-<model>-s<seed>``)."""
    return read_manifest(OPTIONAL_DIR)


def _known(manifest: dict[str, ManifestEntry]) -> str:
    return ", ".join(sorted(manifest)) or "none"


def fetch_reference(
    names: Iterable[str] | None = None,
    root: str | Path | None = None,
    *,
    mirrors: tuple[str, ...] | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download optional reference checkpoints, verified by sha256, and return their folder.

    Args:
        names: checkpoint names from :func:`optional_manifest`, e.g. ``["compare-gan-s1"]``;
            default: all of them. Files already there with the right hash are not fetched.
        root: the data folder; the files go in ``root / "reference-seeds"``. Defaults to
            :func:`~tutorial_lib.data.download.data_dir` (``$TUTORIAL_DATA`` or
            ``~/.cache/tutorial_lib``).
        mirrors: base URLs ending in ``/``, tried in turn for each file (default:
            :data:`MIRRORS`).
        timeout: seconds allowed for connecting and for each read, per request.
        progress: show a progress bar for each transfer.

    Returns:
        The folder, with the files and a ``manifest.json`` listing every optional checkpoint,
        ready for ``load_checkpoint(name, folder)`` or
        ``bench compare --from-checkpoints <folder>``.

    Raises:
        ValueError: a name that is not an optional reference checkpoint, or no mirrors.
        DownloadError: every mirror failed for some file; files fetched before stay, and
            no partial file is left.
    """
    manifest = optional_manifest()
    wanted = sorted(manifest) if names is None else list(names)
    unknown = [name for name in wanted if name not in manifest]
    if unknown:
        raise ValueError(f"not optional reference checkpoints: {', '.join(map(repr, unknown))}; "
                         f"known: {_known(manifest)} (seed 0 ships with the package)")
    mirrors = MIRRORS if mirrors is None else mirrors
    if not mirrors or not all(isinstance(m, str) and m.endswith("/") for m in mirrors):
        raise ValueError(f"expected at least one mirror URL ending in '/', got {mirrors!r}")
    if timeout <= 0:
        raise ValueError(f"expected a positive timeout in seconds, got {timeout}")
    folder = (data_dir() if root is None else Path(root)) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    hint = (f"Without a network, seed 0 of each model ships with the package; or copy the "
            f"files from a clone's reference_seeds/ folder into {folder}.")
    for name in wanted:
        entry = manifest[name]
        fetch_file(tuple(mirrors), entry.file, f"sha256:{entry.sha256}", folder,
                   timeout=timeout, progress=progress,
                   what=f"reference checkpoint {name!r}", hint=hint)
    # the same text from every process, written atomically: no lock needed
    text = (OPTIONAL_DIR / MANIFEST).read_text(encoding="utf-8")
    if not (folder / MANIFEST).is_file() or (folder / MANIFEST).read_text(
            encoding="utf-8") != text:
        atomic_write_text(folder / MANIFEST, text)
    return folder


def locate(name: str, *, download: bool = True, root: str | Path | None = None) -> Path:
    """The folder that holds reference checkpoint ``name``.

    The package's folder for the shipped ones (seed 0); for an optional one, the
    repository's ``reference_seeds/`` when it holds that file (a source checkout), else the
    download folder, fetching the file first when ``download`` is true. The file's hash is
    checked when it is loaded, not here.

    Raises:
        CheckpointError: ``name`` is no reference checkpoint, or it is optional, not yet
            downloaded, and ``download`` is false.
        DownloadError: see :func:`fetch_reference`.
    """
    if name in read_manifest(REFERENCE_DIR):
        return REFERENCE_DIR
    optional = optional_manifest()
    if name not in optional:
        raise CheckpointError(
            f"no reference checkpoint named {name!r}; the package holds "
            f"{_known(read_manifest(REFERENCE_DIR))}, and the optional download "
            f"{_known(optional)}")
    entry = optional[name]
    if (SOURCE_DIR / entry.file).is_file() and name in read_manifest(SOURCE_DIR):
        return SOURCE_DIR
    folder = (data_dir() if root is None else Path(root)) / FOLDER
    if (folder / entry.file).is_file() and (folder / MANIFEST).is_file():
        return folder
    if not download:
        raise CheckpointError(
            f"reference checkpoint {name!r} is an optional download, not fetched yet: "
            f"tutorial_lib.applications.reference_seeds.fetch_reference([{name!r}]) "
            f"fetches it (about {entry.bytes / 1e6:.1f} MB)")
    return fetch_reference([name], root)

