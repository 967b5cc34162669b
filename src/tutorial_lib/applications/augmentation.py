"""Chapter 12's experiment: do generated digits help a classifier trained on few?

From ``per_class`` labelled digits of each class, train a class-conditional VAE on those
same digits (no other data), generate ``generated_per_class`` new digits per class, and
train the book's digit classifier four ways, for the same number of gradient steps:

- ``real``: the labelled digits only;
- ``real + shifts``: the same, with random translations of up to 2 pixels;
- ``real + generated``: the labelled digits plus the generated ones;
- ``real + generated + shifts``: both.

Test accuracy on the held-out digits, over several seeds, says whether the generator added
anything that the labelled digits (and cheap shifts) did not already hold.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from tutorial_lib.data.images import ImageDataset
from tutorial_lib.metrics.classifier import (
    ClassifierConfig,
    ClassifierTrainConfig,
    DigitClassifier,
    accuracy,
    train_classifier,
)
from tutorial_lib.results import STD_DDOF, mean_and_sd
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.sampling import sample_images
from tutorial_lib.vae.train import VAETrainConfig, train_vae

ARMS = ("real", "real + shifts", "real + generated", "real + generated + shifts")


@dataclass(frozen=True)
class AugmentationSettings:
    """Sizes of the experiment (one field per knob)."""

    per_class: int = 10  # labelled real digits per class
    generated_per_class: int = 100  # generated digits added per class
    generator_epochs: int = 300  # conditional VAE epochs on the labelled digits
    classifier_steps: int = 400  # gradient steps for every classifier
    batch_size: int = 64
    seeds: int = 3


def few_labels(data: ImageDataset, per_class: int, seed: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` training digits of each class, drawn at random (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(data.num_classes):
        idx = torch.nonzero(data.y_train == c).squeeze(1)
        if len(idx) < per_class:
            raise ValueError(f"class {c} has only {len(idx)} training digits; "
                             f"per_class={per_class} is too many")
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:per_class]])
    keep = torch.cat(picks)
    return data.x_train[keep], data.y_train[keep]


def train_conditional_generator(x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int,
                                device: Any = None, num_classes: int = 10):
    """A conditional conv VAE trained on (x, y) alone; returns it in eval mode."""

    torch.manual_seed(seed)
    model = VAE(VAEConfig(image_shape=tuple(x.shape[1:]), arch="conv", hidden=(256,),
                          latent_dim=16, num_classes=num_classes))
    train_vae(model, x, y_train=y, config=VAETrainConfig(
        epochs=epochs, batch_size=min(100, len(x)), shift=1, patience=None, seed=seed),
        device=device, progress=False)
    return model


def generate(model, per_class: int, seed: int, num_classes: int = 10
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` decoder means for each class: images (K * per_class, C, H, W), labels."""

    y = torch.arange(num_classes).repeat_interleave(per_class)
    gen = torch.Generator().manual_seed(seed)
    return sample_images(model, len(y), y=y, generator=gen), y


def train_and_test(x: torch.Tensor, y: torch.Tensor, data: ImageDataset, shift: int,
                   settings: AugmentationSettings, seed: int, device: Any = None) -> float:
    """Test accuracy of a digit classifier trained on (x, y) for ``classifier_steps``."""

    torch.manual_seed(seed)
    model = DigitClassifier(ClassifierConfig(image_shape=data.image_shape))
    batches = math.ceil(len(x) / settings.batch_size)
    epochs = max(2, math.ceil(settings.classifier_steps / batches))
    train_classifier(model, x, y, ClassifierTrainConfig(
        epochs=epochs, batch_size=settings.batch_size, shift=shift, seed=seed),
        device=device, progress=False)
    return accuracy(model.cpu(), data.x_test, data.y_test)


def augmentation_experiment(data: ImageDataset, settings: AugmentationSettings | None = None,
                            device: Any = None, progress: bool = True) -> dict[str, Any]:
    """Run every arm with every seed; return per-arm test accuracies (and their mean, sd).

    Returns a dict with ``settings``, ``accuracy`` ({arm: [per seed]}), ``mean``
    ({arm: float}), ``std`` ({arm: float, or None with a single seed}: the sample standard
    deviation over seeds, ddof = 1), ``std_ddof`` (1) and ``samples`` (the first seed's
    generated digits).
    """
    settings = settings or AugmentationSettings()
    accuracy: dict[str, list[float]] = {arm: [] for arm in ARMS}
    samples = None
    for seed in tqdm(range(settings.seeds), desc="augmentation seeds", disable=not progress):
        x, y = few_labels(data, settings.per_class, seed)
        generator = train_conditional_generator(x, y, settings.generator_epochs, seed,
                                                device, data.num_classes)
        x_gen, y_gen = generate(generator, settings.generated_per_class, seed,
                                data.num_classes)
        if samples is None:
            samples = x_gen
        both_x, both_y = torch.cat([x, x_gen]), torch.cat([y, y_gen])
        for arm, (xs, ys, shift) in zip(ARMS, ((x, y, 0), (x, y, 2), (both_x, both_y, 0),
                                                (both_x, both_y, 2)), strict=True):
            accuracy[arm].append(train_and_test(xs, ys, data, shift, settings, seed, device))
    spread = {a: mean_and_sd(v) for a, v in accuracy.items()}  # sample sd, ddof = 1
    return {"settings": asdict(settings), "accuracy": accuracy,
            "mean": {a: mean for a, (mean, _) in spread.items()},
            "std": {a: sd for a, (_, sd) in spread.items()}, "std_ddof": STD_DDOF,
            "samples": samples}
