"""``python -m tutorial_lib bench vae``: the reference VAE against a plain MLP VAE.

Both models are trained in one run, on the same data, with the same wall-clock budget, and
evaluated the same way: test ELBO and test NLL by importance sampling (k samples per image)
on a fixed binarization of the test images, in nats per image (positive: lower is better).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from tutorial_lib.bench.jobs import STD_DDOF, Target, mean_and_sd
from tutorial_lib.budget import get_budget
from tutorial_lib.data.images import binarize, load_images, train_validation_split
from tutorial_lib.device import get_device
from tutorial_lib.seeding import set_seed
from tutorial_lib.vae.models import VAE, VAEConfig
from tutorial_lib.vae.objectives import estimate_log_likelihood, evaluate_elbo
from tutorial_lib.vae.recipes import PLAIN, REFERENCE, Recipe, likelihood_for
from tutorial_lib.vae.train import VAETrainConfig, train_vae


@dataclass(frozen=True)
class BenchSettings:
    seconds: float  # wall-clock training budget per model
    nll_samples: int  # importance samples per test image
    n_val: int  # validation images held out of the training split (early stopping)


def settings_for(budget_name: str, data: str) -> BenchSettings:
    small = data == "digits"
    return {
        "smoke": BenchSettings(seconds=5, nll_samples=10, n_val=100),
        "book": BenchSettings(seconds=300, nll_samples=1000, n_val=180 if small else 500),
        "full": BenchSettings(seconds=3600, nll_samples=5000, n_val=180 if small else 5000),
    }[budget_name]


def train_and_evaluate(recipe: Recipe, data: Any, settings: BenchSettings, seed: int,
                       device: Any, progress: bool = False) -> dict[str, Any]:
    """Train one recipe with one seed; return its figures (positive nats per image)."""


    x_tr, y_tr, x_val, y_val = train_validation_split(data.x_train, data.y_train,
                                                      settings.n_val, seed=seed)
    set_seed(seed)
    model = VAE(VAEConfig(image_shape=data.image_shape, likelihood=likelihood_for(data.name),
                          **recipe.model))
    config = VAETrainConfig(epochs=100_000, max_seconds=settings.seconds, seed=seed,
                            **recipe.train)
    start = time.perf_counter()
    history = train_vae(model, x_tr, x_val, config=config, device=device, progress=progress)
    seconds = time.perf_counter() - start
    binary = model.likelihood.binary
    x_test = (binarize(data.x_test, "fixed", seed=12345) if binary else data.x_test).to(device)
    test = evaluate_elbo(model, x_test)
    ll = estimate_log_likelihood(model, x_test, k=settings.nll_samples, progress=progress,
                                 seed=seed)
    # the best epoch among those eligible for early stopping (after the KL warm-up)
    eligible = [i for i, b in enumerate(history["beta"]) if b >= config.beta]
    best_epoch = max(eligible, key=lambda i: history["val_elbo"][i]) + 1 if eligible else 0
    return {"epochs": history["epoch"][-1], "best_epoch": best_epoch, "seconds": seconds,
            "test_elbo": -test["elbo"], "test_kl": test["kl"], "test_nll": ll.nll,
            "bits_per_dim": ll.bits_per_dim, "model": model if seed == 0 else None,
            "history": history if seed == 0 else None, "torch": torch.__version__}


def run_comparison(data_name: str, budget: Any = None, seeds: int = 1, device: Any = None,
                   progress: bool = False, seconds: float | None = None) -> dict[str, Any]:
    """Train the plain and the reference VAE with ``seeds`` seeds each; return the figures."""


    budget = get_budget(budget)
    device = get_device(device)
    data = load_images(data_name, budget, max_train=None if budget.name != "smoke" else 600,
                       max_test=None if budget.name != "smoke" else 100)
    settings = settings_for(budget.name, data.name)
    if seconds is not None:
        settings = replace(settings, seconds=seconds)
    reference = REFERENCE.get(data.name, REFERENCE["mnist5k"])
    rows, models = {}, {}
    for key, recipe in (("plain", PLAIN), ("reference", reference)):
        runs = [train_and_evaluate(recipe, data, settings, seed, device, progress)
                for seed in range(seeds)]
        models[key] = (runs[0]["model"], runs[0]["history"])
        summary = {"name": recipe.name, "model": recipe.model, "train": recipe.train}
        for field in ("seconds", "test_elbo", "test_kl", "test_nll", "bits_per_dim", "epochs",
                      "best_epoch"):
            summary[field], sd = mean_and_sd([float(r[field]) for r in runs])
            if sd is not None:
                summary[f"{field}_std"] = sd
        rows[key] = summary
    ref = rows["reference"]
    return {
        "bench": "vae",
        "torch": torch.__version__,
        "data": data.name,
        "budget": budget.name,
        "device": str(device),
        "seeds": seeds,
        "std_ddof": STD_DDOF,
        "train_images": len(data.x_train) - settings.n_val,
        "test_images": len(data.x_test),
        "seconds_budget": settings.seconds,
        "nll_samples": settings.nll_samples,
        "likelihood": likelihood_for(data.name),
        "binarization": ("dynamic (train), fixed seed 12345 (test)"
                         if likelihood_for(data.name) == "bernoulli" else "none (grey levels)"),
        "seconds": ref["seconds"],
        "epochs": ref["epochs"],
        "test_elbo": ref["test_elbo"],
        "test_nll": ref["test_nll"],
        "bits_per_dim": ref["bits_per_dim"],
        "baseline": rows["plain"],
        "reference": ref,
        "improvement_nats": rows["plain"]["test_nll"] - ref["test_nll"],
        "models": models,
        "settings": asdict(settings),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    result = run_comparison(args.data, budget=args.budget, seeds=args.seeds, device=args.device)
    result.pop("models")
    return result


def table(result: dict[str, Any]) -> str:
    head = (f"bench vae | data {result['data']} ({result['train_images']} train, "
            f"{result['test_images']} test) | budget {result['budget']} | device "
            f"{result['device']} | {result['seeds']} seed(s) | training budget "
            f"{result['seconds_budget']:.0f} s per model\n"
            f"likelihood {result['likelihood']}; test NLL by importance sampling with "
            f"k = {result['nll_samples']} per image; nats per image, lower is better\n")
    lines = [f"{'model':<22}{'epochs':>7}{'seconds':>9}{'test -ELBO':>12}"
             f"{'test NLL':>18}{'bits/dim':>10}"]
    for key in ("baseline", "reference"):
        r = result[key]
        spread = f" ± {r['test_nll_std']:.2f}" if "test_nll_std" in r else ""
        nll = f"{r['test_nll']:.2f}{spread}"
        lines.append(f"{r['name']:<22}{r['epochs']:>7.0f}{r['seconds']:>9.0f}"
                     f"{r['test_elbo']:>12.2f}{nll:>18}{r['bits_per_dim']:>10.4f}")
    lines.append(f"improvement: {result['improvement_nats']:.2f} nats")
    return head + "\n".join(lines)


TARGET = Target(
    help="train the reference VAE and a plain MLP VAE side by side; test ELBO and NLL",
    data_choices=("mnist5k", "digits", "mnist", "fashion-mnist"),
    default_data="mnist5k",
    run=run,
    table=table,
)
