"""Downloads (pooch behind our mirror loop) and the IDX reader, against a loopback server.

Nothing here reaches beyond 127.0.0.1: the ``loopback`` server (``tests/loopback.py``)
serves small gzipped IDX files made by the tests, well or badly, and the registry's
``"mnist"`` entry is replaced (monkeypatch) by one with these files' hashes and loopback
mirrors. What is tested is ours: the mirror loop, its error message, the cache folder, the
parsing; pooch's own transfer is only checked for the one promise we rely on (a temporary
file, removed unless its hash matches).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from loopback import LoopbackServer

from tutorial_lib.cli import main
from tutorial_lib.data import load_images
from tutorial_lib.data.download import (
    DATA_ENV,
    FASHION_MNIST,
    MNIST,
    REMOTE_DATASETS,
    DownloadError,
    RemoteDataset,
    data_dir,
    download,
    load_remote,
)
from tutorial_lib.data.idx import IDXFormatError, read_idx

N = 20  # images per split
FILENAMES = {key: name for key, name, _ in MNIST.files}


def idx_gz(array: np.ndarray) -> bytes:
    """A gzipped uint8 IDX file, as MNIST publishes them."""
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


rng = np.random.default_rng(0)
ARRAYS = {
    "train_images": rng.integers(0, 256, (N, 28, 28), dtype=np.uint8),
    "train_labels": rng.integers(0, 10, N, dtype=np.uint8),
    "test_images": rng.integers(0, 256, (N, 28, 28), dtype=np.uint8),
    "test_labels": rng.integers(0, 10, N, dtype=np.uint8),
}
FILES = {FILENAMES[key]: idx_gz(array) for key, array in ARRAYS.items()}


@pytest.fixture
def server(loopback) -> LoopbackServer:
    return loopback(FILES)


def url(server: LoopbackServer, mode: str) -> str:
    return server.url(mode)


def refused_url() -> str:
    """A loopback base URL on a port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def use_mirrors(monkeypatch: pytest.MonkeyPatch, *mirrors: str) -> RemoteDataset:
    """Point the registry's "mnist" at ``mirrors``, with the hashes of the test's files."""
    files = tuple(
        (key, name, "sha256:" + hashlib.sha256(FILES[name]).hexdigest())
        for key, name in FILENAMES.items()
    )
    spec = RemoteDataset("mnist", mirrors=mirrors, files=files)
    monkeypatch.setitem(REMOTE_DATASETS, "mnist", spec)
    return spec


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def quick(root: Path) -> dict[str, np.ndarray]:
    return load_remote("mnist", root, timeout=3.0, progress=False)


def test_data_dir_is_env_or_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine" and data_dir().is_dir()
    monkeypatch.setenv(DATA_ENV, "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".cache" / "tutorial_lib"


def test_download_parses_into_the_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    use_mirrors(monkeypatch, url(server, "good"))
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    data = load_remote("MNIST", timeout=3.0, progress=False)  # root from $TUTORIAL_DATA
    for split in ("train", "test"):
        np.testing.assert_array_equal(data[f"x_{split}"], ARRAYS[f"{split}_images"])
        np.testing.assert_array_equal(data[f"y_{split}"], ARRAYS[f"{split}_labels"])
        assert data[f"y_{split}"].dtype == np.int64
    assert listing(tmp_path / "mnist") == sorted(FILES)
    # the same files through the book's entry point, scaled to [0, 1]
    images = load_images("mnist", max_train=N, max_test=N)
    assert images.x_train.shape == (N, 1, 28, 28)
    np.testing.assert_allclose(images.x_test[:, 0].numpy() * 255, ARRAYS["test_images"], atol=1e-3)


def test_cache_hit_makes_no_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    use_mirrors(monkeypatch, url(server, "good"))
    quick(tmp_path)
    assert len(server.requests) == 4
    use_mirrors(monkeypatch, refused_url())  # even with no mirror reachable
    np.testing.assert_array_equal(quick(tmp_path)["x_train"], ARRAYS["train_images"])
    assert len(server.requests) == 4


def test_corrupt_first_mirror_falls_back_to_the_second(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    use_mirrors(monkeypatch, url(server, "corrupt"), url(server, "good"))
    np.testing.assert_array_equal(quick(tmp_path)["y_test"], ARRAYS["test_labels"])
    assert [path.split("/")[1] for path in server.requests] == ["corrupt", "good"] * 4
    assert listing(tmp_path / "mnist") == sorted(FILES)


def test_every_mirror_failing_names_each_and_the_offline_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    refused = refused_url()
    modes = ("forbidden", "corrupt", "truncated")
    use_mirrors(monkeypatch, refused, *(url(server, mode) for mode in modes))
    with pytest.raises(DownloadError) as info:
        quick(tmp_path)
    lines = str(info.value).splitlines()
    assert "train-images-idx3-ubyte.gz of data set 'mnist'" in lines[0]
    reasons = {
        refused: "ConnectionError",
        url(server, "forbidden"): "403 Client Error",
        url(server, "corrupt"): "does not match the known hash",
        url(server, "truncated"): "IncompleteRead",
    }
    for mirror, reason in reasons.items():
        assert any(line.startswith(f"  - {mirror}: ") and reason in line for line in lines), lines
    assert "load_images('mnist5k')" in str(info.value) and DATA_ENV in str(info.value)
    assert listing(tmp_path / "mnist") == []  # no partial file from any of the three
    assert main(["data", "download", "mnist", "--root", str(tmp_path)]) == 2  # CLI: no traceback


@pytest.mark.parametrize("mode", ["good", "corrupt", "truncated"])
def test_transfer_goes_through_a_temporary_file(
    mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    """While a file downloads, only a temporary file is in the folder; it is renamed to the
    file's name once its hash matches and deleted otherwise."""
    spec = use_mirrors(monkeypatch, url(server, mode))
    (tmp_path / "mnist").mkdir()
    server.watch = tmp_path / "mnist"
    if mode == "good":
        download(spec, tmp_path, timeout=3.0, progress=False)
    else:
        with pytest.raises(DownloadError):
            download(spec, tmp_path, timeout=3.0, progress=False)
    first = server.listings[0]
    assert len(first) == 1 and first[0] not in FILES  # the temporary file only
    assert listing(tmp_path / "mnist") == (sorted(FILES) if mode == "good" else [])


def test_stale_cached_file_is_replaced_or_left_with_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    stale = tmp_path / "mnist" / FILENAMES["train_images"]
    stale.parent.mkdir()
    stale.write_bytes(b"not the real file")
    use_mirrors(monkeypatch, refused_url())
    with pytest.raises(DownloadError, match="does not match sha256:.*; left in place"):
        quick(tmp_path)
    assert stale.read_bytes() == b"not the real file"
    use_mirrors(monkeypatch, url(server, "good"))
    np.testing.assert_array_equal(quick(tmp_path)["x_train"], ARRAYS["train_images"])


def test_truncated_idx_file_with_a_matching_hash_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    name = FILENAMES["train_images"]
    cut = gzip.compress(gzip.decompress(FILES[name])[:-100])
    monkeypatch.setitem(FILES, name, cut)
    use_mirrors(monkeypatch, url(server, "good"))
    with pytest.raises(IDXFormatError, match=f"{name}: truncated IDX data: .* 20x28x28 = 15680"):
        quick(tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\x00\x08\x01\x00\x00\x00\x02\x05\x06", "not a complete gzip file"),
        (FILES[FILENAMES["test_labels"]][:-12], "not a complete gzip file"),
        (gzip.compress(b"\x00\x00\x0d\x01"), "expected an IDX magic 00 00 08 d.*found 00 00 0d 01"),
        (gzip.compress(b"\x00\x00\x08\x03\x00\x00"), "truncated IDX header: 3 sizes need 16"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x05"), "truncated IDX data: .* 2 = 2"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06"), "extra bytes after"),
    ],
    ids=["not-gzip", "cut-gzip", "not-uint8", "short-header", "short-data", "extra-data"],
)
def test_read_idx_says_what_is_wrong(content: bytes, match: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(content)
    with pytest.raises(IDXFormatError, match=match):
        read_idx(path)


def test_label_count_must_match_image_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LoopbackServer
) -> None:
    monkeypatch.setitem(FILES, FILENAMES["test_labels"], idx_gz(ARRAYS["test_labels"][:-1]))
    use_mirrors(monkeypatch, url(server, "good"))
    with pytest.raises(ValueError, match=r"test split: .*\(20, 28, 28\).* and \(19,\)"):
        quick(tmp_path)


def test_registry_and_arguments_are_checked(tmp_path: Path) -> None:
    assert REMOTE_DATASETS == {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
    for spec in REMOTE_DATASETS.values():
        assert {key for key, _, _ in spec.files} == set(FILENAMES) and spec.mirrors
    with pytest.raises(ValueError, match="unknown remote data set 'cifar10'; known: 'fashion"):
        load_remote("cifar10", tmp_path)
    with pytest.raises(ValueError, match="'md5:<32 hex>'"):
        RemoteDataset("x", MNIST.mirrors, ((*MNIST.files[0][:2], "abc"), *MNIST.files[1:]))
    with pytest.raises(ValueError, match="ending in '/'"):
        RemoteDataset("x", ("http://127.0.0.1/data",), MNIST.files)
    with pytest.raises(ValueError, match="one file for each of"):
        RemoteDataset("x", MNIST.mirrors, MNIST.files[:3])
    with pytest.raises(ValueError, match="positive timeout"):
        download(MNIST, tmp_path, timeout=0)


def test_a_temporary_file_left_by_a_killed_download_is_removed_once_stale(tmp_path) -> None:
    from tutorial_lib.data.download import STALE_TEMPORARY_SECONDS, remove_stale_temporaries

    folder = tmp_path / "mnist"
    folder.mkdir()
    old, young = folder / "tmpkilled01", folder / "tmprunning2"
    kept = folder / "train-images-idx3-ubyte.gz"
    for path in (old, young, kept):
        path.write_bytes(b"partial")
    long_ago = time.time() - 2 * STALE_TEMPORARY_SECONDS
    os.utime(old, (long_ago, long_ago))
    os.utime(kept, (long_ago, long_ago))
    assert remove_stale_temporaries(folder) == [old]
    assert not old.exists() and young.exists() and kept.exists()
    assert remove_stale_temporaries(tmp_path / "absent") == []
