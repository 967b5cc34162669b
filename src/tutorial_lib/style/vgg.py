"""VGG-19's convolutional part (Simonyan and Zisserman, 2015) in plain torch, the network
of Gatys et al. (2016), with torchvision's ImageNet weights where a network exists.

The layers are built in torchvision's order (``features.0`` is conv1_1, ``features.1`` its
ReLU, ``features.4`` the first pooling, ...), so that the published state dict's
``features.*`` entries load by their index; its ``classifier.*`` entries are dropped.
Feature maps are named after the paper: ``relu1_1``, ``relu2_1``, ..., ``relu5_4``.

The weights (548 MB) are downloaded only when asked for (the notebook asks at the
``full`` budget), with :func:`pooch.retrieve`. torchvision publishes no full hash for this
file; its name carries the first 8 hex digits of its SHA-256 (torch.hub's convention,
``vgg19-dcbb9e9d.pth``), and that prefix is what :func:`download_vgg19` checks: 32 bits,
proof against a truncated or wrong file, not against a deliberate forgery.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pooch
import torch
from torch import nn

from tutorial_lib.data.download import DownloadError, data_dir
from tutorial_lib.validation import check_images

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512))
"""Output channels of the convolutions of each block; a 2x2 pooling ends each block."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # what torchvision's ImageNet models expect
IMAGENET_STD = (0.229, 0.224, 0.225)
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
GATYS_CONTENT_LAYERS = ("relu4_2",)


class VGGFeatures(nn.Module):
    """VGG's convolution and pooling layers: images x (B, 3, H, W) in [0, 1] ->
    {name: (B, C, H', W')} for the ReLU outputs named in ``layers`` (all by default).
    pool: "max" (the trained network) or "avg" (Gatys et al.'s choice for synthesis)."""

    def __init__(self, blocks: Sequence[Sequence[int]] = VGG19_BLOCKS, pool: str = "max",
                 layers: Sequence[str] | None = None) -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise ValueError(f"pool: expected 'max' or 'avg', got {pool!r}")
        modules: list[nn.Module] = []
        self.names: dict[int, str] = {}  # index in ``features`` -> name of the ReLU output
        channels = 3
        for b, block in enumerate(blocks, start=1):
            for i, width in enumerate(block, start=1):
                modules += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
                self.names[len(modules) - 1] = f"relu{b}_{i}"
                channels = width
            modules.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))  # H -> H/2
        self.features = nn.Sequential(*modules)
        known = list(self.names.values())
        self.layers = tuple(layers) if layers is not None else tuple(known)
        unknown = sorted(set(self.layers) - set(known))
        if unknown:
            raise ValueError(f"layers: unknown {unknown}; this network has {known}")
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_images(x, "x")
        if x.shape[1] != 3:
            raise ValueError(f"x: expected RGB images (B, 3, H, W), got {tuple(x.shape)}")
        h = (x - self.mean) / self.std
        out, wanted = {}, set(self.layers)
        for index, module in enumerate(self.features):
            h = module(h)
            name = self.names.get(index)
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break  # the deeper layers are not needed
        return out


def vgg_features_state(state: Mapping[str, torch.Tensor], model: VGGFeatures
                       ) -> dict[str, torch.Tensor]:
    """torchvision's VGG state dict (``features.{i}.weight`` / ``.bias``, ``classifier.*``)
    -> the state dict of ``model`` (the ``features`` entries, shapes checked, plus the
    model's own normalization buffers)."""
    own = model.state_dict()
    mapped = {key: value for key, value in state.items() if key.startswith("features.")}
    missing = sorted(k for k in own if k.startswith("features.") and k not in mapped)
    unexpected = sorted(k for k in mapped if k not in own)
    if missing or unexpected:
        raise ValueError(f"not a VGG state dict of this shape: missing {missing[:4]}, "
                         f"unexpected {unexpected[:4]}")
    for key, value in mapped.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(f"{key}: expected shape {tuple(own[key].shape)}, got "
                             f"{tuple(value.shape)}")
    return {**mapped, "mean": own["mean"], "std": own["std"]}


def hash_prefix(url_or_name: str) -> str:
    """The SHA-256 prefix in a file name, torch.hub's convention: ``name-<hex>.ext``."""
    match = re.search(r"-([a-f0-9]{8,64})\.", url_or_name.rsplit("/", 1)[-1])
    if match is None:
        raise ValueError(f"{url_or_name!r}: expected a file name of the form name-<hex>.pth "
                         f"carrying the start of its SHA-256")
    return match.group(1)


def download_vgg19(root: Path | None = None, *, url: str = VGG19_URL, timeout: float = 60.0,
                   progress: bool = True) -> Path:
    """The weight file at ``url`` in ``root / "vgg"`` (default root: :func:`data_dir`),
    downloaded if missing, its SHA-256 checked against the prefix in its name.

    Raises:
        DownloadError: the transfer failed, or the file's hash does not start with the
            prefix (the file is deleted).
    """
    folder = (data_dir() if root is None else Path(root)) / "vgg"
    name, prefix = url.rsplit("/", 1)[-1], hash_prefix(url)
    try:
        path = Path(pooch.retrieve(url, known_hash=None, fname=name, path=folder,
                                   downloader=pooch.HTTPDownloader(progressbar=progress,
                                                                   timeout=timeout)))
    except (OSError, ValueError) as exc:
        raise DownloadError(f"Could not download {url}: {type(exc).__name__}: {exc}\n"
                            f"Without a network, place the file by hand in {folder}.") from exc
    digest = pooch.file_hash(str(path), alg="sha256")
    if not digest.startswith(prefix):
        path.unlink()
        raise DownloadError(f"{name}: its SHA-256 {digest[:16]}... does not start with "
                            f"{prefix}, as its name says; the file was deleted")
    return path


def load_vgg19(path: Path | str | None = None, *, pool: str = "avg",
               layers: Sequence[str] | None = None, progress: bool = True) -> VGGFeatures:
    """VGG-19's features with torchvision's ImageNet weights, frozen, in eval mode.
    path: the weight file; None downloads it (:func:`download_vgg19`)."""
    path = Path(path) if path is not None else download_vgg19(progress=progress)
    model = VGGFeatures(VGG19_BLOCKS, pool=pool, layers=layers)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(vgg_features_state(state, model))
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


__all__ = ["GATYS_CONTENT_LAYERS", "GATYS_STYLE_LAYERS", "VGG19_BLOCKS", "VGG19_URL",
           "VGGFeatures", "download_vgg19", "hash_prefix", "load_vgg19", "vgg_features_state"]
