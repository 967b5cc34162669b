"""The book's offline feature extractor: a small LeNet-style digit classifier.

FID, KID and precision/recall compare feature vectors, not pixels. Papers use the
Inception-v3 network trained on ImageNet; its weights are a download, and its features
describe photographs. This book trains its own extractor on the embedded digits (two
convolution + pooling blocks, two fully connected layers; LeCun et al., 1998, in spirit)
and uses the 128 activations before the last layer as features. Scores computed with it
are called *digit-feature FID* and so on: they rank models on digits, but their numbers
are not comparable with Inception FID.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from tutorial_lib.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from tutorial_lib.data.images import random_shift
from tutorial_lib.device import get_device
from tutorial_lib.training import DivergenceGuard, ProgressBar, record
from tutorial_lib.validation import check_images, check_labels, check_positive_int

CLASSIFIER = "metrics.DigitClassifier"


@dataclass(frozen=True)
class ClassifierConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W); H = W = 28 or 8
    num_classes: int = 10
    channels: int = 32  # of the first convolution; the second has twice as many
    features: int = 128  # width of the feature layer
    dropout: float = 0.3  # before the last layer, during training only


class DigitClassifier(nn.Module):
    """x (B, C, H, W) in [0, 1] -> logits (B, K); ``features(x)`` -> (B, config.features)."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ClassifierConfig()
        c, h, w = config.image_shape
        if h != w or h % 4:
            raise ValueError(f"image_shape: expected square images with a side divisible by "
                             f"4 (28x28 or 8x8), got {config.image_shape}")
        ch = config.channels
        self.conv = nn.Sequential(
            nn.Conv2d(c, ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),           # H -> H/2
            nn.Conv2d(ch, 2 * ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # -> H/4
            nn.Flatten(),
            nn.Linear(2 * ch * (h // 4) * (w // 4), config.features), nn.ReLU(),  # features
        )
        self.head = nn.Sequential(nn.Dropout(config.dropout),
                                  nn.Linear(config.features, config.num_classes))

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "x", dtype=self.head[-1].weight.dtype)
        if tuple(x.shape[1:]) != tuple(self.config.image_shape):
            raise ValueError(f"x: this classifier takes images of shape "
                             f"{tuple(self.config.image_shape)}, got {tuple(x.shape[1:])}")
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature layer's activations, (B, config.features)."""
        x = 2 * self._check(x) - 1  # (B, C, H, W) in [0, 1] -> [-1, 1]
        # (B, ch, H/2, W/2) -> (B, 2*ch, H/4, W/4) -> (B, 2*ch*H/4*W/4) -> (B, features)
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # (B, C, H, W) -> (B, features)
        return self.head(h)  # -> (B, num_classes), logits


@dataclass
class ClassifierTrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3  # Adam; falls linearly to 0 over the last half of the epochs
    weight_decay: float = 1e-4
    shift: int = 2  # augmentation: random translations of up to this many pixels
    seed: int = 0


def classifier_step(model: DigitClassifier, opt: torch.optim.Optimizer, x: torch.Tensor,
                    y: torch.Tensor) -> tuple[float, int]:
    """One gradient step on the cross-entropy of a batch x (B, C, H, W) in [0, 1] with
    labels y (B,). Returns the loss and the number of correct predictions."""
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item(), int((logits.argmax(1) == y).sum().item())


def train_classifier(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor,
                     config: ClassifierTrainConfig | None = None,
                     device: torch.device | str | None = None,
                     progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` in place on images x (N, C, H, W) in [0, 1] with labels y (N,).
    Returns the history: the mean training loss and accuracy per epoch.

    Raises:
        TrainingDiverged: the loss or a parameter stopped being finite; the model holds
            its state after the last good epoch.
    """
    config = config or ClassifierTrainConfig()
    check_images(x, "x", nonempty=True)
    check_labels(y, "y", len(x), num_classes=model.config.num_classes)
    check_positive_int(config.epochs, "epochs")
    check_positive_int(config.batch_size, "batch_size")
    device = get_device(device)
    model.to(device)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    half = config.epochs // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 1.0 if e < half else (config.epochs - e) / (config.epochs - half))
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    guard = DivergenceGuard(model, history=history, unit="epoch")
    with ProgressBar("classifier", config.epochs, progress) as bar:
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            total, correct = 0.0, 0
            for start in range(0, len(x), config.batch_size):
                i = order[start:start + config.batch_size]
                xb = random_shift(x[i], config.shift, generator=gen).to(device)
                loss, right = classifier_step(model, opt, xb, y[i].to(device))
                guard.check(epoch, {"loss": loss}, save=False)
                total += loss * len(i)
                correct += right
            sched.step()
            guard.check(epoch, {"loss": total / len(x)})
            record(history, loss=total / len(x), accuracy=correct / len(x))
            bar.advance()
    model.eval()
    return history


def _batched(model: DigitClassifier, fn, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    check_images(x, "x", nonempty=True)
    check_positive_int(batch_size, "batch_size")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def extract_features(model: DigitClassifier, x: torch.Tensor,
                     batch_size: int = 500) -> torch.Tensor:
    """Feature vectors (N, config.features) of images x (N, C, H, W) in [0, 1], on the CPU."""
    return _batched(model, model.features, x, batch_size)


def predict(model: DigitClassifier, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted class (N,) of each image."""
    return _batched(model, model, x, batch_size).argmax(1)


def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of images x (N, C, H, W) whose predicted class is their label y (N,)."""
    check_images(x, "x", nonempty=True)
    check_labels(y, "y", len(x))
    return float((predict(model, x) == y.cpu()).float().mean())


def save_classifier(model: DigitClassifier, directory, name: str, **entry):
    """Save as a verified checkpoint; ``entry`` gives command, data, steps, seed, metrics."""

    config = asdict(model.config)
    config["image_shape"] = list(model.config.image_shape)
    return save_checkpoint(model.state_dict(), directory, name, model=CLASSIFIER,
                           config=config, **entry)


def load_classifier(name: str = "lenet-mnist5k", directory=None,
                    device: torch.device | str | None = None) -> DigitClassifier:
    """Load a verified classifier checkpoint (default: the book's, trained on mnist5k),
    in eval mode."""

    tensors, entry = load_checkpoint(name, directory)
    if entry.model != CLASSIFIER:
        raise CheckpointError(f"checkpoint {name!r} holds a {entry.model}, not a {CLASSIFIER}")
    try:
        config = ClassifierConfig(**{**entry.config,
                                     "image_shape": tuple(entry.config["image_shape"])})
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"the manifest's config is not a ClassifierConfig: {err}") from err
    model = DigitClassifier(config)
    model.load_state_dict(tensors)
    return model.to(get_device(device)).eval()
