"""Shared test set-up: GPU tests skip without CUDA; plots draw off-screen; the book's tools
(``tools/``, scripts outside the package) import by their file names; the small
configurations and data sets that several test files use."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import pytest
import torch

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
