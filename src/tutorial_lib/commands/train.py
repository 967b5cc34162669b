"""``python -m tutorial_lib train gan``: train a GAN and save a verified checkpoint.

The generator (its moving average, when the recipe keeps one) is saved as safetensors in
``--out`` with a manifest entry that records this exact command, the data set, the steps,
the seed and the file's sha256. The book's reference checkpoints were made this way, with
``--out`` set to the package's ``reference`` folder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from typing import Any

IMAGE_DATA = ("mnist5k", "digits", "mnist", "fashion-mnist")
TOY_DATA = ("ring8", "grid25")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a model and save a verified checkpoint")
    sub = p.add_subparsers(dest="model", metavar="MODEL", required=True)
    t = sub.add_parser("gan", help="a GAN: DCGAN on images, an MLP GAN on 2-D mixtures",
                       description="Train a GAN with the book's recipe and save its "
                                   "generator as a verified safetensors checkpoint.")
    t.add_argument("--data", default="mnist5k", choices=IMAGE_DATA + TOY_DATA,
                   help="data set (default: mnist5k)")
    t.add_argument("--variant", default=None,
                   help="toy data only: loss variant (default: the book's recommended one)")
    t.add_argument("--conditional", action="store_true",
                   help="image data only: a class-conditional GAN")
    t.add_argument("--steps", type=int, default=None,
                   help="generator steps (default: the recipe's, scaled by the budget)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    t.add_argument("--budget", default=None, choices=["smoke", "book", "full"],
                   help="budget (default: $TUTORIAL_BUDGET, else book)")
    t.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
    t.add_argument("--name", required=True,
                   help="checkpoint name, e.g. dcgan-mnist5k (lower case, digits, - or _)")
    t.add_argument("--out", default="checkpoints",
                   help="folder for the checkpoint and its manifest (default: checkpoints)")
    t.set_defaults(run=run_gan)

    c = sub.add_parser("classifier", help="the digit classifier whose features the metrics use",
                       description="Train the book's LeNet-style digit classifier (the "
                                   "feature extractor of digit-feature FID, KID and "
                                   "precision/recall) and save it as a verified checkpoint "
                                   "with its test accuracy.")
    c.add_argument("--data", default="mnist5k", choices=("mnist5k", "digits", "mnist"),
                   help="data set (default: mnist5k)")
    c.add_argument("--epochs", type=int, default=30, help="passes over the training images "
                                                          "(default: 30)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    c.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
    c.add_argument("--name", required=True, help="checkpoint name, e.g. lenet-mnist5k")
    c.add_argument("--out", default="checkpoints",
                   help="folder for the checkpoint and its manifest (default: checkpoints)")
    c.set_defaults(run=run_classifier)

    h = sub.add_parser("head-to-head", help="one of chapter 10's models, trained for a "
                                            "wall-clock budget",
                       description="Train the VAE, the GAN, the VAE-GAN, the AAE or the "
                                   "diffusion model of chapter 10 on mnist5k for a fixed "
                                   "wall-clock time with "
                                   "its recipe, and save it as a verified checkpoint. The "
                                   "book's reference models: --seconds 1200 --threads 1 "
                                   "(seed 0 ships with the package).")
    h.add_argument("--model", required=True,
                   choices=("vae", "gan", "vae-gan", "aae", "diffusion"),
                   help="which model")
    h.add_argument("--seconds", type=float, default=1200.0,
                   help="training wall-clock in seconds (default: 1200, the reference)")
    h.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    h.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; the reference runs "
                        "used 1)")
    h.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
    h.add_argument("--name", default=None,
                   help="checkpoint name (default: compare-<model>-s<seed>)")
    h.add_argument("--out", default="checkpoints",
                   help="folder for the checkpoint and its manifest (default: checkpoints)")
    h.set_defaults(run=run_head_to_head)


def _command() -> str:
    return shlex.join(["python", "-m", "tutorial_lib", *sys.argv[1:]])


def _check_before_training(args: argparse.Namespace, count: str) -> None:
    """Refuse, before any training, what would only fail at the end: a bad checkpoint
    name, an unusable --out folder or manifest, a step or epoch count below 1."""
    from tutorial_lib.checkpoints import check_destination

    check_destination(args.out, args.name)
    value = getattr(args, count)
    if value is not None and value < 1:
        raise ValueError(f"--{count} must be at least 1, got {value}")


def run_gan(args: argparse.Namespace) -> int:
    import torch

    from tutorial_lib.budget import get_budget
    from tutorial_lib.device import get_device
    from tutorial_lib.gan import recipes
    from tutorial_lib.gan.models import make_discriminator, make_generator, to_model_space
    from tutorial_lib.gan.reference import save_generator
    from tutorial_lib.gan.train import train_gan
    from tutorial_lib.seeding import set_seed

    _check_before_training(args, "steps")
    budget, device = get_budget(args.budget), get_device(args.device)
    set_seed(args.seed)
    metrics: dict[str, Any] = {}
    if args.data in TOY_DATA:
        if args.conditional:
            raise ValueError("--conditional applies to image data only")
        from tutorial_lib.data.toy import toy_distribution
        from tutorial_lib.gan.toy_metrics import mode_coverage

        target = toy_distribution(args.data)
        variant = args.variant or recipes.RECOMMENDED_TOY
        model_config, train_config = recipes.toy_recipe(variant, budget, seed=args.seed)

        def sample_real(n: int) -> torch.Tensor:
            return target.distribution().sample((n,))
    else:
        if args.variant is not None:
            raise ValueError("--variant applies to the 2-D mixtures; image GANs use the "
                             "DCGAN recipe")
        from tutorial_lib.data.images import load_images

        data = load_images(args.data, budget)
        x = to_model_space(data.x_train).to(device)
        y = data.y_train.to(device)
        model_config, train_config = recipes.image_recipe(
            data.image_shape, budget, seed=args.seed,
            num_classes=data.num_classes if args.conditional else 0)
        index_gen = torch.Generator().manual_seed(args.seed)

        def sample_real(n: int):
            i = torch.randint(len(x), (n,), generator=index_gen).to(device)
            return (x[i], y[i]) if args.conditional else x[i]

    if args.steps is not None:
        train_config = recipes.with_steps(train_config, args.steps)
    g, d = make_generator(model_config), make_discriminator(model_config)
    start = time.perf_counter()
    run = train_gan(g, d, sample_real, train_config, device=device)
    seconds = time.perf_counter() - start
    final = run.ema_generator if run.ema_generator is not None else g
    metrics.update(seconds=round(seconds, 1), device=str(device),
                   loss_d=run.history["loss_d"][-1], loss_g=run.history["loss_g"][-1],
                   ema=train_config.ema is not None)
    if args.data in TOY_DATA:
        with torch.no_grad():
            z = final.sample_latent(2500, torch.Generator().manual_seed(args.seed + 1))
            cover = mode_coverage(final(z).cpu(), target)
        metrics.update(modes=cover.modes_captured, high_quality=round(cover.high_quality, 2))
    entry = save_generator(final.cpu(), args.out, args.name, command=_command(),
                           data=args.data, steps=train_config.steps, seed=args.seed,
                           metrics=metrics)
    print(f"saved {args.out}/{entry.file} ({entry.bytes / 1e6:.2f} MB, sha256 "
          f"{entry.sha256[:12]}...) after {train_config.steps} steps in {seconds:.0f} s")
    return 0


def run_classifier(args: argparse.Namespace) -> int:
    from tutorial_lib.data.images import load_images
    from tutorial_lib.device import get_device
    from tutorial_lib.metrics.classifier import (
        ClassifierConfig,
        ClassifierTrainConfig,
        DigitClassifier,
        accuracy,
        save_classifier,
        train_classifier,
    )
    from tutorial_lib.seeding import set_seed

    _check_before_training(args, "epochs")
    device = get_device(args.device)
    set_seed(args.seed)
    data = load_images(args.data, "full")  # every training image, whatever the budget
    model = DigitClassifier(ClassifierConfig(image_shape=data.image_shape,
                                             num_classes=data.num_classes))
    config = ClassifierTrainConfig(epochs=args.epochs, seed=args.seed)
    start = time.perf_counter()
    history = train_classifier(model, data.x_train, data.y_train, config, device=device)
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, data.x_test, data.y_test)
    train_acc = accuracy(model, data.x_train, data.y_train)
    metrics = {"test_accuracy": round(test_acc, 4), "train_accuracy": round(train_acc, 4),
               "n_train": len(data.x_train), "n_test": len(data.x_test),
               "final_loss": round(history["loss"][-1], 4), "seconds": round(seconds, 1),
               "device": str(device)}
    entry = save_classifier(model.cpu(), args.out, args.name, command=_command(),
                            data=args.data, steps=args.epochs, seed=args.seed,
                            metrics=metrics)
    print(f"test accuracy {test_acc:.4f} on {len(data.x_test)} held-out images (train "
          f"{train_acc:.4f}); saved {args.out}/{entry.file} ({entry.bytes / 1e6:.2f} MB, "
          f"sha256 {entry.sha256[:12]}...) in {seconds:.0f} s")
    return 0


def run_head_to_head(args: argparse.Namespace) -> int:
    import torch

    from tutorial_lib.applications.head_to_head import reference_name, save_trained, train_for
    from tutorial_lib.data.images import load_images
    from tutorial_lib.device import get_device

    args.name = args.name or reference_name(args.model, args.seed)
    _check_before_training(args, "seconds")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    data = load_images("mnist5k", "book")
    trained = train_for(args.model, data, args.seconds, seed=args.seed, device=device,
                        progress=True)
    if trained.diverged:
        print(f"training diverged; saving the last good state: {trained.diverged}")
    entry = save_trained(trained, args.out, args.name, command=_command(), data="mnist5k",
                         seed=args.seed, metrics={"device": str(device),
                                                  "threads": torch.get_num_threads()})
    print(f"saved {args.out}/{entry.file} ({entry.bytes / 1e6:.2f} MB, sha256 "
          f"{entry.sha256[:12]}...) after {trained.steps} updates in {trained.seconds:.0f} s")
    return 0
