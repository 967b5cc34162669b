"""Shared test set-up: GPU tests skip without CUDA; plots draw off-screen; the book's tools
(``tools/``, scripts outside the package) import by their file names; the small
configurations and data sets that several test files use; the loopback HTTP server of the
download tests (``loopback.py``)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import pytest
import torch
from loopback import LoopbackServer

from tutorial_lib.data.images import ImageDataset, load_images
from tutorial_lib.gan import GANConfig

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")  # unit tests only; never for notebook kernels
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))  # import timings, ...


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        # test_gpu.py picks CUDA, MPS or TUTORIAL_TEST_ACCELERATOR itself (its fixture skips)
        if "gpu" in item.keywords and item.path.name != "test_gpu.py":
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests do not inherit the caller's device choice."""
    monkeypatch.delenv("TUTORIAL_DEVICE", raising=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def tiny_gan() -> GANConfig:
    """The smallest GAN worth training: 2-D points, 2-D codes, one hidden layer of 8."""
    return GANConfig(data_shape=(2,), latent_dim=2, hidden=8, layers=1)


@pytest.fixture(scope="session")
def digits() -> ImageDataset:
    """scikit-learn's 8x8 digits at the smoke budget (offline, loaded once per session)."""
    return load_images("digits", "smoke")


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, bytes]],
                                                                     LoopbackServer]]:
    """Start a :class:`~loopback.LoopbackServer` for a dict of files (name -> bytes), with
    every proxy variable cleared so that requests to 127.0.0.1 stay on the machine; each
    server is shut down when the test ends."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    started: list[tuple[LoopbackServer, threading.Thread]] = []

    def start(files: dict[str, bytes]) -> LoopbackServer:
        httpd = LoopbackServer(files)
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((httpd, thread))
        return httpd

    yield start
    for httpd, thread in started:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
