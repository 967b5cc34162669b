"""Where tensors live: CUDA, then Apple MPS, then CPU, overridable by ``TUTORIAL_DEVICE``."""

from __future__ import annotations

import os
import sys

import torch

DEVICE_ENV = "TUTORIAL_DEVICE"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(name: str | torch.device | None = None) -> torch.device:
    """Return the device the book's code should run on.

    Order of choice: the argument ``name``; else the environment variable
    ``TUTORIAL_DEVICE``; else CUDA if present, then Apple MPS, then CPU.
    ``name`` may be ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``, or a
    ``torch.device``; an explicit choice is checked like the automatic one, so an
    unavailable device fails here, with what to do, not later inside torch.

    Raises:
        TypeError: ``name`` is neither a string, a ``torch.device`` nor None.
        ValueError: the name is not a device name torch understands.
        RuntimeError: the requested device is not available on this machine.
    """
    if name is not None and not isinstance(name, (str, torch.device)):
        raise TypeError(f"device: expected a name such as 'cpu' or 'cuda', a torch.device or "
                        f"None, got {type(name).__name__} {name!r}")
    source = "the device argument" if name is not None else f"the variable {DEVICE_ENV}"
    fix = ("pass device='cpu', or None to choose automatically" if name is not None
           else f"unset {DEVICE_ENV} (or set it to 'cpu') to run on the CPU")
    requested = str(name) if name is not None else os.environ.get(DEVICE_ENV, "auto")
    requested = requested.strip().lower() or "auto"
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as err:
        raise ValueError(
            f"unknown device {requested!r} (from {source}); "
            "expected one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"
        ) from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {requested!r} was requested (by {source}) but CUDA is not available: "
                "torch sees no CUDA device on this machine (or was installed without CUDA "
                f"support); {fix}"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {requested!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist; use cuda:0 to "
                f"cuda:{torch.cuda.device_count() - 1}"
            )
    elif device.type == "mps" and not _mps_available():
        raise RuntimeError(
            f"device 'mps' was requested (by {source}) but Apple MPS is not available here; "
            f"{fix}"
        )
    elif device.type not in {"cpu", "cuda", "mps"}:
        raise ValueError(
            f"unsupported device type {device.type!r}; expected 'cpu', 'cuda' or 'mps'"
        )
    return device


def device_name(device: torch.device) -> str:
    """A readable name, e.g. ``'cuda (NVIDIA H100)'`` or ``'cpu (2 threads)'``."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def describe_run(budget: object, device: torch.device, data: str | None = None) -> str:
    """The one-line header each notebook prints: budget, data set, device, how to change them."""
    parts = [f"budget: {getattr(budget, 'name', budget)}"]
    if data is not None:
        parts.append(f"data: {data}")
    parts.append(f"device: {device_name(device)}")
    settings = "BUDGET / DATA" if data is not None else "BUDGET"
    text = (
        " | ".join(parts)
        + f"\nTo change: set {settings} in the parameters cell, or the environment variables "
        "TUTORIAL_BUDGET=smoke|book|full and TUTORIAL_DEVICE=cpu|cuda|mps before starting."
    )
    if "google.colab" in sys.modules and getattr(budget, "name", budget) != "full":
        text += ('\nOn Colab: for the full runs, set BUDGET = "full" in the parameters cell '
                 "(with a GPU: Runtime > Change runtime type) and run all cells again.")
    return text
