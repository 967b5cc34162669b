"""Saving and loading GAN generators as verified checkpoints.

The tensors go through :mod:`tutorial_lib.checkpoints` (safetensors, sha256 manifest);
the manifest entry's ``config`` holds the :class:`GANConfig`, so a generator can be
rebuilt from its name alone.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from tutorial_lib.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from tutorial_lib.device import get_device
from tutorial_lib.gan.models import GANConfig, Generator, make_generator

GENERATOR = "gan.Generator"  # the manifest's model: any Generator, rebuilt by make_generator


def config_to_json(config: GANConfig) -> dict[str, Any]:
    out = asdict(config)
    out["data_shape"] = list(config.data_shape)
    return out


def config_from_json(raw: dict[str, Any]) -> GANConfig:
    try:
        return GANConfig(**{**raw, "data_shape": tuple(raw["data_shape"])})
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"the manifest's config is not a GANConfig: {err}") from err


def save_generator(g: Generator, directory: str | Path, name: str, **entry: Any):
    """Save ``g``'s weights and buffers; ``entry`` gives command, data, steps, seed, metrics."""
    if not isinstance(g, Generator):
        raise TypeError(f"g: expected a tutorial_lib Generator, got {type(g).__name__}")
    return save_checkpoint(g.state_dict(), directory, name, model=GENERATOR,
                           config=config_to_json(g.config), **entry)


def load_generator(name: str, directory: str | Path | None = None,
                   device: torch.device | str | None = None) -> Generator:
    """Rebuild a generator from a verified checkpoint (default folder: the book's
    reference checkpoints), in eval mode, on ``device`` (default: :func:`get_device`)."""

    tensors, entry = load_checkpoint(name, directory)
    if entry.model != GENERATOR:
        raise CheckpointError(f"checkpoint {name!r} holds a {entry.model}, not a "
                              f"{GENERATOR}")
    g = make_generator(config_from_json(entry.config))
    g.load_state_dict(tensors)
    return g.to(get_device(device)).eval()
