"""Reproducibility: seed Python, NumPy and torch in one call."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and all GPUs).

    Args:
        seed: a non-negative integer.
        deterministic: also ask torch for deterministic algorithms (slower on GPU;
            identical results across runs on the same hardware).

    Returns:
        A fresh ``torch.Generator`` seeded with ``seed``, for code that wants its own stream.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the legacy global generator, on purpose)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)
