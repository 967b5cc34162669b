"""``python -m tutorial_lib bench compare``: chapter 10's head-to-head table.

The reference VAE, the reference GAN and the two hybrids are trained on the same images
for the same wall-clock time, with several seeds; each is scored on generated samples
with chapter 9's digit-feature metrics against the training images, next to the
real-vs-real reference line (held-out test digits against the same training images).
Models with an ELBO also get a test NLL. Last, the anomaly detector of chapter 12: the
reference VAE trained on digits 0-8 for the same time, scoring test images by negative
ELBO; its ROC AUC for telling 9s from the rest.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from tutorial_lib.applications.anomaly import (
    anomaly_scores,
    complexity_corrected_scores,
    holdout_class_split,
    roc_auc,
)
from tutorial_lib.applications.head_to_head import (
    DESCRIPTIONS,
    LIKELIHOOD,
    MODELS,
    score,
    train_for,
)
from tutorial_lib.bench.jobs import STD_DDOF, Target, mean_and_sd, run_jobs, sample_sd
from tutorial_lib.budget import get_budget
from tutorial_lib.data.images import ImageDataset, load_images
from tutorial_lib.device import get_device
from tutorial_lib.metrics.classifier import load_classifier
from tutorial_lib.metrics.evaluate import digit_scores


@dataclass(frozen=True)
class CompareSettings:
    seconds: float  # training wall-clock per model and seed
    n_samples: int  # generated images scored per model and seed
    nll_samples: int  # importance samples per test image for the NLL


def settings_for(budget_name: str) -> CompareSettings:
    return {
        "smoke": CompareSettings(seconds=4, n_samples=200, nll_samples=5),
        "book": CompareSettings(seconds=300, n_samples=1000, nll_samples=200),
        "full": CompareSettings(seconds=1800, n_samples=5000, nll_samples=1000),
    }[budget_name]


def _data(budget_name: str):

    smoke = budget_name == "smoke"
    return load_images("mnist5k", budget_name, max_train=600 if smoke else None,
                       max_test=200 if smoke else None)


def run_one(model: str, seed: int, budget_name: str, settings: CompareSettings,
            device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Train and score one (model, seed); ``model == "anomaly"`` runs the detector."""


    if threads:
        torch.set_num_threads(threads)
    data = _data(budget_name)
    if model == "anomaly":
        return _anomaly(data, seed, settings, device)
    trained = train_for(model, data, settings.seconds, seed=seed, device=device,
                        budget=budget_name)
    result = score(trained, data, load_classifier(), n_samples=settings.n_samples,
                   nll_samples=settings.nll_samples if model in LIKELIHOOD else 0, seed=seed)
    return {"model": model, "seed": seed, **result}


def _anomaly(data, seed: int, settings: CompareSettings, device: str | None
             ) -> dict[str, Any]:

    split = holdout_class_split(data, anomaly_class=9)
    normal = ImageDataset(data.name, split.x_train, split.y_train, data.x_test, data.y_test)
    trained = train_for("vae", normal, settings.seconds, seed=seed, device=device)
    scores = anomaly_scores(trained.vae, split.x_test)
    corrected = complexity_corrected_scores(scores, split.x_test)
    return {"model": "anomaly", "seed": seed, "auc": roc_auc(scores, split.is_anomaly),
            "auc_complexity_corrected": roc_auc(corrected.float(), split.is_anomaly),
            "seconds": trained.seconds, "diverged": trained.diverged}


def _real_line(budget_name: str, n_samples: int) -> dict[str, float]:
    """Held-out test digits scored against the training digits: what "perfect" scores."""


    data = _data(budget_name)
    n = min(n_samples, len(data.x_test))
    # The first n test digits (stored in no particular order), in their stored order: the
    # same images, in the same order, as chapter 9's reference line. FID, precision,
    # recall and class TV ignore the order, but KID averages over a seeded split into
    # blocks, which depends on it (a shuffled copy of the same 1,000 digits gave -9.3
    # where chapter 9 gives -6.3 +- 6.9).
    return digit_scores(data.x_test[:n], data.x_train, load_classifier(), seed=0).as_dict()


def run_bench(models: list[str] | None = None, seeds: int = 3, budget: str | None = None,
              device: str | None = None, workers: int = 1, anomaly: bool = True
              ) -> dict[str, Any]:
    """Every (model, seed), the real line and the anomaly detector; the summary table."""


    models = list(models or MODELS)
    for m in models:
        if m not in MODELS:
            raise ValueError(f"unknown model {m!r}; expected some of {', '.join(MODELS)}")
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    budget_name = get_budget(budget).name
    settings = settings_for(budget_name)
    dev = str(get_device(device))
    jobs = [(m, s) for m in models for s in range(seeds)]
    if anomaly:
        jobs += [("anomaly", s) for s in range(seeds)]
    start = time.perf_counter()
    runs = run_jobs(run_one, [(m, s, budget_name, settings, dev) for m, s in jobs], workers)
    real = _real_line(budget_name, settings.n_samples)
    table: dict[str, dict[str, Any]] = {}
    for m in models:
        rs = [r for r in runs if r["model"] == m]
        row: dict[str, Any] = {"description": DESCRIPTIONS[m], "fid_real": real["fid"]}
        for key in ("fid", "kid", "precision", "recall", "class_tv", "seconds", "steps"):
            row[key], row[f"{key}_std"] = mean_and_sd([float(r[key]) for r in rs])
            row[f"{key}_per_seed"] = [round(float(r[key]), 4) for r in rs]
        row["classes_present_min"] = min(int(r["classes_present"]) for r in rs)
        nll = [r["nll"] for r in rs if r["nll"] is not None]
        row["nll"], row["nll_std"] = mean_and_sd(nll) if nll else (None, None)
        row["diverged"] = sum(r["diverged"] is not None for r in rs)
        row["failures"] = sum(r["diverged"] is not None or r["classes_present"] < 10
                              for r in rs)
        table[m] = row
    result: dict[str, Any] = {
        "bench": "compare", "torch": torch.__version__, "data": "mnist5k",
        "budget": budget_name, "device": dev, "seeds": seeds, "std_ddof": STD_DDOF,
        "workers": workers,
        "settings": asdict(settings), "real": real, "models": table,
        "seconds_total": time.perf_counter() - start,
    }
    if anomaly:
        rs = [r for r in runs if r["model"] == "anomaly"]
        result["anomaly_auc"], result["anomaly_auc_std"] = mean_and_sd([r["auc"] for r in rs])
        result["anomaly_auc_per_seed"] = [round(r["auc"], 4) for r in rs]
        result["anomaly_auc_complexity_corrected"] = float(
            np.mean([r["auc_complexity_corrected"] for r in rs]))
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:

    models = args.models.split(",") if args.models else None
    result = run_bench(models, seeds=args.seeds, budget=args.budget, device=args.device,
                       workers=args.workers, anomaly=not args.no_anomaly)
    result["command"] = shlex.join(["python", "-m", "tutorial_lib", *sys.argv[1:]])
    return result


def _cell(result: dict[str, Any], row: dict[str, Any], key: str, fmt: str) -> str:
    """``mean ± sample sd``; a stored ddof-0 spread is converted exactly (``sample_sd``)."""
    if row.get(key) is None:
        return "-"
    if row.get(key + "_std") is None:  # one seed
        return f"{row[key]:{fmt}}"
    return f"{row[key]:{fmt}} ± {sample_sd(result, row[key + '_std']):{fmt}}"


def table(result: dict[str, Any]) -> str:
    s = result["settings"]
    head = (f"bench compare | data {result['data']} | budget {result['budget']} | device "
            f"{result['device']} | {result['seeds']} seed(s) | {s['seconds']:.0f} s of "
            f"training per model and seed | {s['n_samples']} samples scored\n"
            "digit-feature scores against the training digits, mean ± sample sd (ddof = 1) "
            "over seeds; "
            f"test NLL in nats (k = {s['nll_samples']}); failures: diverged or < 10 classes\n")
    cols = (f"{'model':<9}{'FID':>15}{'KID':>17}{'precision':>15}{'recall':>15}"
            f"{'class TV':>15}{'NLL':>15}{'steps':>9}{'failures':>9}")
    lines = [cols]
    real = result["real"]
    lines.append(f"{'real':<9}{real['fid']:>15.2f}{real['kid']:>17.2f}"
                 f"{real['precision']:>15.3f}{real['recall']:>15.3f}{real['class_tv']:>15.3f}"
                 f"{'-':>15}{'-':>9}{'-':>9}")
    for name, row in result["models"].items():
        cells = [_cell(result, row, key, fmt) for key, fmt in (
            ("fid", ".1f"), ("kid", ".2f"), ("precision", ".3f"), ("recall", ".3f"),
            ("class_tv", ".3f"), ("nll", ".1f"))]
        widths = (15, 17, 15, 15, 15, 15)
        lines.append(f"{name:<9}" + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
                     + f"{row['steps']:>9.0f}{row['failures']:>9d}")
    if "anomaly_auc" in result:
        lines.append(f"anomaly detection (VAE on digits 0-8, 9s as anomalies, score -ELBO): "
                     f"ROC AUC {_cell(result, result, 'anomaly_auc', '.3f')}"
                     f"; complexity-corrected {result['anomaly_auc_complexity_corrected']:.3f}")
    lines.append(f"total {result['seconds_total']:.0f} s")
    return head + "\n".join(lines)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=None,
                        help=f"comma-separated subset of {','.join(MODELS)} (default: all)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes running jobs in parallel, one torch thread each "
                             "(default: 1)")
    parser.add_argument("--no-anomaly", action="store_true",
                        help="skip the anomaly-detection runs")


TARGET = Target(
    help="train the VAE, the GAN and the hybrids for the same time; one table of scores",
    data_choices=("mnist5k",),
    default_data="mnist5k",
    run=run,
    table=table,
    extra=extra_arguments,
    default_seeds=3,
)
