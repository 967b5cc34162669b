"""``python -m tutorial_lib bench compare``: chapter 10's head-to-head table.

The reference VAE, the reference GAN and the two hybrids are trained on the same images
for the same wall-clock time, with several seeds; each is scored on generated samples
with chapter 9's digit-feature metrics against the training images, next to the
real-vs-real reference line (held-out test digits against the same training images).
Models with an ELBO also get a test NLL.

Last, the anomaly detector of chapter 12, run as the literature runs it: each digit in
turn is the anomaly, the reference VAE trains on the other nine, and every test image is
scored three ways (negative ELBO; the same minus the image's compressed length; the
density of its code under a mixture fitted to the training codes). The JSON's ``anomaly``
block holds the ROC AUC per held-out digit and score, and their means over the ten tasks.
``--anomaly-only --merge-into FILE`` reruns that block alone and writes it into a stored
result, keeping the rest of the file; ``--models M --no-anomaly --merge-into FILE`` adds
or replaces the rows of models M alike (e.g. chapter 16's diffusion model), and
``--from-checkpoints --models M --merge-into FILE`` their rows of the reference block.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tutorial_lib.applications.anomaly import (
    PUBLISHED_MNIST_AUC,
    anomaly_scores,
    complexity_corrected_scores,
    holdout_class_split,
    latent_density_scores,
    roc_auc,
)
from tutorial_lib.applications.head_to_head import (
    ALL_MODELS,
    DESCRIPTIONS,
    LIKELIHOOD,
    MODELS,
    REFERENCE_SECONDS,
    load_trained,
    reference_name,
    score,
    train_for,
    train_reference_vae,
)
from tutorial_lib.bench.jobs import STD_DDOF, Target, mean_and_sd, run_jobs, sample_sd
from tutorial_lib.budget import get_budget
from tutorial_lib.checkpoints import atomic_write_text
from tutorial_lib.data.images import ImageDataset, load_images
from tutorial_lib.device import get_device
from tutorial_lib.metrics.classifier import load_classifier
from tutorial_lib.metrics.evaluate import digit_scores

REFERENCE = "reference"  # the budget that retrains chapter 10's main table from scratch


@dataclass(frozen=True)
class CompareSettings:
    seconds: float  # training wall-clock per model and seed
    n_samples: int  # generated images scored per model and seed
    nll_samples: int  # importance samples per test image for the NLL
    anomaly_epochs: int = 30  # VAE training passes per anomaly task and seed (a count, not
    #   a clock, so that a busy machine does not train the ten tasks differently)


def settings_for(budget_name: str) -> CompareSettings:
    return {
        "smoke": CompareSettings(seconds=4, n_samples=200, nll_samples=5, anomaly_epochs=1),
        "book": CompareSettings(seconds=300, n_samples=1000, nll_samples=200,
                                anomaly_epochs=30),
        "full": CompareSettings(seconds=1800, n_samples=5000, nll_samples=1000,
                                anomaly_epochs=100),
        # the reference models of chapter 10's main table: 20 minutes each
        REFERENCE: CompareSettings(seconds=REFERENCE_SECONDS, n_samples=1000,
                                   nll_samples=1000, anomaly_epochs=30),
    }[budget_name]


def _data_budget(budget_name: str) -> str:
    """The data budget of a bench budget: the reference budget trains on the book's data."""
    return "book" if budget_name == REFERENCE else budget_name


# The anomaly scores of the leave-one-digit-out protocol, each higher for "more anomalous".
ANOMALY_SCORES = {
    "neg_elbo": "negative ELBO, nats (the score of the literature's VAE rows)",
    "complexity_corrected": "negative ELBO in bits minus the image's zlib length in bits "
                            "(Serra et al. 2020)",
    "latent_density": "negative log density of the encoder mean under a 10-component "
                      "Gaussian mixture fitted to the training codes (Zong et al. 2018)",
}
ANOMALY_CLASSES = tuple(range(10))
LATENT_COMPONENTS = 10


def _data(budget_name: str):

    smoke = budget_name == "smoke"
    return load_images("mnist5k", _data_budget(budget_name), max_train=600 if smoke else None,
                       max_test=200 if smoke else None)


def run_one(model: str, seed: int, budget_name: str, settings: CompareSettings,
            device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Train and score one (model, seed)."""


    if threads:
        torch.set_num_threads(threads)
    data = _data(budget_name)
    trained = train_for(model, data, settings.seconds, seed=seed, device=device,
                        budget=_data_budget(budget_name))
    result = score(trained, data, load_classifier(), n_samples=settings.n_samples,
                   nll_samples=settings.nll_samples if model in LIKELIHOOD else 0, seed=seed)
    return {"model": model, "seed": seed, **result}


def run_anomaly_task(anomaly_class: int, seed: int, budget_name: str,
                     settings: CompareSettings, device: str | None = None,
                     threads: int | None = None) -> dict[str, Any]:
    """One task of the protocol: the reference VAE trained for ``settings.anomaly_epochs``
    passes on every digit but ``anomaly_class``; the ROC AUC of each of :data:`ANOMALY_SCORES` for
    telling that digit's test images from the other test images."""

    if threads:
        torch.set_num_threads(threads)
    data = _data(budget_name)
    split = holdout_class_split(data, anomaly_class=anomaly_class)
    normal = ImageDataset(data.name, split.x_train, split.y_train, data.x_test, data.y_test)
    trained = train_reference_vae(normal, epochs=settings.anomaly_epochs, seed=seed,
                                  device=device)
    neg_elbo = anomaly_scores(trained.vae, split.x_test)
    scores = {
        "neg_elbo": neg_elbo,
        "complexity_corrected": complexity_corrected_scores(neg_elbo, split.x_test),
        "latent_density": latent_density_scores(trained.vae, split.x_train, split.x_test,
                                                components=LATENT_COMPONENTS, seed=seed),
    }
    return {"anomaly_class": anomaly_class, "seed": seed,
            "auc": {name: roc_auc(v.float(), split.is_anomaly) for name, v in scores.items()},
            "seconds": trained.seconds, "epochs": trained.steps, "diverged": trained.diverged}


def anomaly_summary(runs: list[dict[str, Any]], seeds: int) -> dict[str, Any]:
    """The ``anomaly`` block: per held-out digit and score, the mean AUC over seeds, its
    sample sd and every seed's value; per score, the mean over the ten digits."""

    classes = sorted({r["anomaly_class"] for r in runs})
    block: dict[str, Any] = {
        "protocol": "leave one digit out: train on the other nine, score every test image",
        "classes": classes, "seeds": seeds, "std_ddof": STD_DDOF,
        "scores": dict(ANOMALY_SCORES),
        "per_class_auc": {}, "per_class_auc_std": {}, "per_class_auc_per_seed": {},
        "mean_auc": {}, "mean_auc_std": {},
        "published": {name: list(v) for name, v in PUBLISHED_MNIST_AUC.items()},
        "published_mean_auc": {name: round(float(np.mean(v)), 4)
                               for name, v in PUBLISHED_MNIST_AUC.items()},
        "seconds_per_task": float(np.mean([r["seconds"] for r in runs])),
        "epochs_per_task": float(np.mean([r["epochs"] for r in runs])),
        "diverged": sum(r["diverged"] is not None for r in runs),
    }
    for name in ANOMALY_SCORES:
        per_seed = [[r["auc"][name] for r in runs if r["anomaly_class"] == c]
                    for c in classes]  # (classes, seeds)
        stats = [mean_and_sd(v) for v in per_seed]
        block["per_class_auc"][name] = [m for m, _ in stats]
        block["per_class_auc_std"][name] = [sd for _, sd in stats]
        block["per_class_auc_per_seed"][name] = [[round(a, 4) for a in v] for v in per_seed]
        # the spread of the ten-task mean over seeds (each seed ran all ten tasks)
        seed_means = [float(np.mean([v[i] for v in per_seed])) for i in range(seeds)]
        block["mean_auc"][name], block["mean_auc_std"][name] = mean_and_sd(seed_means)
    return block


def _legacy_anomaly_keys(block: dict[str, Any]) -> dict[str, Any]:
    """The keys of the first edition's single task (9s as the anomaly), kept for readers of
    the stored result: now read from the protocol's digit-9 task."""

    if 9 not in block["classes"]:
        return {}
    i = block["classes"].index(9)
    return {"anomaly_auc": block["per_class_auc"]["neg_elbo"][i],
            "anomaly_auc_std": block["per_class_auc_std"]["neg_elbo"][i],
            "anomaly_auc_per_seed": block["per_class_auc_per_seed"]["neg_elbo"][i],
            "anomaly_auc_complexity_corrected":
                block["per_class_auc"]["complexity_corrected"][i]}


REFERENCE_KEYS = ("fid", "fid_real", "kid", "precision", "recall", "class_tv", "nll",
                  "seconds", "updates")


def score_checkpoint(model: str, seed: int, directory: str | None, settings: CompareSettings,
                     device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Load the reference checkpoint of (model, seed) from ``directory`` (default: where
    :func:`~tutorial_lib.applications.reference_seeds.locate` finds it: the package for
    seed 0, the verified optional download for seeds 1 and 2), verified by its sha256, and
    score it like a fresh run."""

    if threads:
        torch.set_num_threads(threads)
    data = _data("book")
    trained = load_trained(reference_name(model, seed), directory, device=device)
    result = score(trained, data, load_classifier(), n_samples=settings.n_samples,
                   nll_samples=settings.nll_samples if model in LIKELIHOOD else 0, seed=seed)
    return {"model": model, "seed": seed, **result}


def reference_block(runs: list[dict[str, Any]], real: dict[str, float]
                    ) -> dict[str, dict[str, Any]]:
    """``{model: {fid, fid_real, kid, precision, recall, class_tv, nll, seconds, updates}}``,
    means over seeds, each with ``_std`` (sample sd) and ``_per_seed``."""

    block: dict[str, dict[str, Any]] = {}
    for m in dict.fromkeys(r["model"] for r in runs):
        rs = [r for r in runs if r["model"] == m]
        row: dict[str, Any] = {"fid_real": real["fid"], "seeds": len(rs)}
        for key, source in (("fid", "fid"), ("kid", "kid"), ("precision", "precision"),
                            ("recall", "recall"), ("class_tv", "class_tv"),
                            ("seconds", "seconds"), ("updates", "steps"), ("nll", "nll")):
            values = [float(r[source]) for r in rs if r[source] is not None]
            row[key], row[f"{key}_std"] = mean_and_sd(values) if values else (None, None)
            row[f"{key}_per_seed"] = [round(v, 4) for v in values]
        row["diverged"] = sum(r["diverged"] is not None for r in rs)
        block[m] = row
    return block


def run_reference_scores(models: list[str] | None = None, seeds: int = 3,
                         directory: str | None = None, device: str | None = None,
                         workers: int = 1) -> dict[str, Any]:
    """Score the stored reference models (chapter 10's main table) without training."""

    models = list(MODELS if models is None else models)
    settings = settings_for(REFERENCE)
    dev = str(get_device(device))
    start = time.perf_counter()
    runs = run_jobs(score_checkpoint, [(m, s, directory, settings, dev)
                                       for m in models for s in range(seeds)], workers)
    real = _real_line("book", settings.n_samples)
    return {"bench": "compare", "torch": torch.__version__, "data": "mnist5k",
            "budget": REFERENCE, "device": dev, "seeds": seeds, "std_ddof": STD_DDOF,
            "workers": workers, "settings": asdict(settings), "real": real,
            "checkpoints": str(directory) if directory else
            "tutorial_lib/reference (the package: seed 0) and reference_seeds (seeds 1, 2)",
            "reference": reference_block(runs, real),
            "seconds_total": time.perf_counter() - start}


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
              device: str | None = None, workers: int = 1, anomaly: bool = True,
              anomaly_classes: tuple[int, ...] = ANOMALY_CLASSES) -> dict[str, Any]:
    """Every (model, seed), the real line and the anomaly protocol; the summary table.

    ``models=[]`` runs the anomaly protocol alone.
    """


    models = list(MODELS if models is None else models)
    for m in models:
        if m not in ALL_MODELS:
            raise ValueError(f"unknown model {m!r}; expected some of {', '.join(ALL_MODELS)}")
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    budget_name = REFERENCE if budget == REFERENCE else get_budget(budget).name
    settings = settings_for(budget_name)
    dev = str(get_device(device))
    if not models and not anomaly:
        raise ValueError("nothing to run: no models and no anomaly protocol")
    for c in anomaly_classes:
        if c not in ANOMALY_CLASSES:
            raise ValueError(f"anomaly classes must be digits 0-9, got {c!r}")
    start = time.perf_counter()
    runs = run_jobs(run_one, [(m, s, budget_name, settings, dev)
                              for m in models for s in range(seeds)], workers)
    anomaly_runs = run_jobs(run_anomaly_task, [(c, s, budget_name, settings, dev)
                                               for c in anomaly_classes for s in range(seeds)],
                            workers) if anomaly else []
    real = _real_line(budget_name, settings.n_samples) if models else None
    table: dict[str, dict[str, Any]] = {}
    for m in models:
        rs = [r for r in runs if r["model"] == m]
        assert real is not None
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
        "settings": asdict(settings), "seconds_total": time.perf_counter() - start,
    }
    if models:
        result.update(real=real, models=table)
    if anomaly:
        result["anomaly"] = anomaly_summary(anomaly_runs, seeds)
        result.update(_legacy_anomaly_keys(result["anomaly"]))
    return result


ANOMALY_KEYS = ("anomaly", "anomaly_auc", "anomaly_auc_std", "anomaly_auc_per_seed",
                "anomaly_auc_complexity_corrected")


def _check_same_protocol(stored: dict[str, Any], result: dict[str, Any], block: str) -> None:
    """Rows merged into a stored table must be scored like its other rows: the same
    settings, number of seeds and real line (within float rounding)."""

    if stored["seeds"] != result["seeds"]:
        raise ValueError(f"the {block} block has {stored['seeds']} seeds, this run "
                         f"{result['seeds']}: rows of one table must be scored alike")
    # the settings the stored block was run with (a file stored before a setting existed,
    # such as anomaly_epochs, does not name it: that setting did not shape its rows)
    for key, value in stored["settings"].items():
        if result["settings"].get(key) != value:
            raise ValueError(f"the {block} block was run with settings {key} = {value!r}, "
                             f"this run with {result['settings'].get(key)!r}: rows of one "
                             "table must be scored alike")
    # the same data: the real line's scores that do not depend on the order of the held-out
    # digits (KID does: the five-minute table's real line shuffled them, see _real_line)
    for key in ("fid", "precision", "recall", "class_tv"):
        value = stored["real"][key]
        if not np.isclose(value, result["real"][key], rtol=1e-4, atol=1e-6):
            raise ValueError(f"the real line differs from the stored {block} block's "
                             f"({key}: {value!r} stored, {result['real'][key]!r} now)")


def _stored_rows(rows: dict[str, dict[str, Any]], result: dict[str, Any],
                 ddof_stored: int) -> dict[str, dict[str, Any]]:
    """The rows of a run as the stored table keeps them: each with the command that made
    it, its spreads converted exactly from the run's ``std_ddof`` to the table's:
    sd_stored = sd sqrt((n - ddof) / (n - ddof_stored))."""

    n, ddof = result["seeds"], result["std_ddof"]
    factor = float(np.sqrt((n - ddof) / (n - ddof_stored))) if n > 1 else 1.0
    return {name: {**{k: (v * factor if k.endswith("_std") and v is not None else v)
                      for k, v in row.items()}, "command": result["command"]}
            for name, row in rows.items()}


def merge_reference(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Write the model rows of the ``reference`` block of ``result`` into the stored result
    at ``path`` (atomically), keeping its other keys and rows. A run that scores every
    stored model replaces the block and its ``reference_settings``, with its command in
    ``reference_command``; a run that scores some models (``--models``) must be scored like
    the stored block, and its rows are stored as :func:`_stored_rows` gives them."""

    stored = _read_stored(path)
    settings = {k: result[k] for k in (
        "settings", "real", "device", "seeds", "std_ddof", "workers", "torch", "checkpoints")}
    old = stored.get("reference", {})
    if set(result["reference"]) >= set(old):
        stored["reference"] = result["reference"]
        stored["reference_settings"] = settings
        stored["reference_command"] = result["command"]
    else:
        _check_same_protocol(stored["reference_settings"], result, "reference")
        old.update(_stored_rows(result["reference"], result,
                                stored["reference_settings"].get("std_ddof", 0)))
    atomic_write_text(Path(path), json.dumps(stored, sort_keys=True) + "\n")
    return stored


def merge_models(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Write the rows of ``result["models"]`` (a run of some models, e.g. ``--models
    diffusion --no-anomaly``) into the ``models`` block of the stored result at ``path``
    (atomically), keeping its other rows and keys. The run must have the stored table's
    settings, seeds and real line; its rows are stored as :func:`_stored_rows` gives them,
    in the stored file's ``std_ddof`` (0 when it names none)."""

    stored = _read_stored(path)
    if "models" not in result or "models" not in stored:
        raise ValueError("merge_models needs a run with models and a stored table of models")
    for key in ("budget", "data"):
        if stored[key] != result[key]:
            raise ValueError(f"the stored table is for {key} {stored[key]!r}, this run for "
                             f"{result[key]!r}")
    _check_same_protocol(stored, result, "models")
    stored["models"].update(_stored_rows(result["models"], result, stored.get("std_ddof", 0)))
    atomic_write_text(Path(path), json.dumps(stored, sort_keys=True) + "\n")
    return stored


def _read_stored(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        stored = json.load(f)
    if stored.get("bench") != "compare":
        raise ValueError(f"{path} is not a stored bench compare result")
    return stored


def merge_anomaly(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Write the anomaly keys of ``result`` into the stored result at ``path`` (atomically),
    keeping its other keys; the command that made the block goes in ``anomaly_command``.
    Returns the merged result."""

    stored = _read_stored(path)
    for key in ANOMALY_KEYS:
        stored.pop(key, None)
        if key in result:
            stored[key] = result[key]
    if "anomaly_auc_per_seed" in stored and len(stored["anomaly_auc_per_seed"]) > 1:
        # the legacy spread in the stored file's convention (its std_ddof; 0 when absent)
        stored["anomaly_auc_std"] = float(np.std(stored["anomaly_auc_per_seed"],
                                                 ddof=stored.get("std_ddof", 0)))
    stored["anomaly_command"] = result["command"]
    stored["anomaly"]["budget"] = result["budget"]
    stored["anomaly"]["settings"] = {"anomaly_epochs": result["settings"]["anomaly_epochs"]}
    stored["anomaly"]["device"] = result["device"]
    stored["anomaly"]["workers"] = result["workers"]
    stored["anomaly"]["torch"] = result["torch"]
    atomic_write_text(Path(path), json.dumps(stored, sort_keys=True) + "\n")
    return stored


def run(args: argparse.Namespace) -> dict[str, Any]:

    if args.from_checkpoints is not None:
        if args.anomaly_only:
            raise ValueError("--from-checkpoints scores the reference models: drop "
                             "--anomaly-only")
        models = args.models.split(",") if args.models else None
        result = run_reference_scores(models, seeds=args.seeds,
                                      directory=args.from_checkpoints or None,
                                      device=args.device, workers=args.workers)
        result["command"] = shlex.join(["python", "-m", "tutorial_lib", *sys.argv[1:]])
        if args.merge_into:
            _merge_or_keep(merge_reference, result, args.merge_into)
        return result
    if args.anomaly_only and (args.no_anomaly or args.models):
        raise ValueError("--anomaly-only runs the anomaly protocol alone: drop --no-anomaly "
                         "and --models")
    if args.merge_into and not args.anomaly_only and not (args.models and args.no_anomaly):
        raise ValueError("--merge-into stores an anomaly block, a reference block or rows of "
                         "models: use it with --anomaly-only, --from-checkpoints, or "
                         "--models M --no-anomaly")
    models = [] if args.anomaly_only else (args.models.split(",") if args.models else None)
    result = run_bench(models, seeds=args.seeds, budget=args.budget, device=args.device,
                       workers=args.workers, anomaly=not args.no_anomaly)
    result["command"] = shlex.join(["python", "-m", "tutorial_lib", *sys.argv[1:]])
    if args.merge_into:
        _merge_or_keep(merge_anomaly if args.anomaly_only else merge_models, result,
                       args.merge_into)
    return result


def _merge_or_keep(merge, result: dict[str, Any], path: str) -> None:
    """``merge(result, path)``; if the stored file refuses the rows, the run is not lost:
    it is written beside the file (``<path>.rejected.json``) and the error names it."""
    try:
        merge(result, path)
    except (ValueError, KeyError) as err:
        kept = Path(f"{path}.rejected.json")
        atomic_write_text(kept, json.dumps(result, sort_keys=True) + "\n")
        raise ValueError(f"{err} (the run is kept in {kept})") from err


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
            f"{result['device']} | {result['seeds']} seed(s)")
    lines: list[str] = []
    real = result.get("real")
    if real is not None:
        head += (f" | {s['seconds']:.0f} s of training per model and seed | "
                 f"{s['n_samples']} samples scored\n"
                 "digit-feature scores against the training digits, mean ± sample sd "
                 f"(ddof = 1) over seeds; test NLL in nats (k = {s['nll_samples']}); "
                 "failures: diverged or < 10 classes")
        lines.append(f"{'model':<9}{'FID':>15}{'KID':>17}{'precision':>15}{'recall':>15}"
                     f"{'class TV':>15}{'NLL':>15}{'steps':>9}{'failures':>9}")
        lines.append(f"{'real':<9}{real['fid']:>15.2f}{real['kid']:>17.2f}"
                     f"{real['precision']:>15.3f}{real['recall']:>15.3f}"
                     f"{real['class_tv']:>15.3f}{'-':>15}{'-':>9}{'-':>9}")
    for name, row in result.get("models", {}).items():
        cells = [_cell(result, row, key, fmt) for key, fmt in (
            ("fid", ".1f"), ("kid", ".2f"), ("precision", ".3f"), ("recall", ".3f"),
            ("class_tv", ".3f"), ("nll", ".1f"))]
        widths = (15, 17, 15, 15, 15, 15)
        lines.append(f"{name:<9}" + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))
                     + f"{row['steps']:>9.0f}{row['failures']:>9d}")
    if "reference" in result:
        lines.append(reference_table(result))
    if "anomaly" in result:
        lines.append(anomaly_table(result))
    lines.append(f"total {result['seconds_total']:.0f} s")
    return head + "\n" + "\n".join(lines)


def reference_table(result: dict[str, Any]) -> str:
    """The reference models' scores, mean ± sample sd over seeds. ``result`` is the output
    of ``--from-checkpoints`` or a stored result it was merged into (whose
    ``reference_settings`` then say how the block was scored)."""

    meta = result.get("reference_settings", result)
    out = [f"reference checkpoints ({meta['checkpoints']}, {meta['seeds']} seed(s)): "
           f"{meta['settings']['n_samples']} samples scored, NLL with k = "
           f"{meta['settings']['nll_samples']}",
           f"{'model':<9}{'FID':>15}{'KID':>17}{'precision':>15}{'recall':>15}"
           f"{'class TV':>15}{'NLL':>15}{'updates':>10}{'seconds':>9}"]
    for name, row in result["reference"].items():
        cells = [_cell(meta, row, key, fmt) for key, fmt in (
            ("fid", ".1f"), ("kid", ".2f"), ("precision", ".3f"), ("recall", ".3f"),
            ("class_tv", ".3f"), ("nll", ".1f"))]
        out.append(f"{name:<9}" + "".join(f"{c:>{w}}" for c, w in zip(
            cells, (15, 17, 15, 15, 15, 15), strict=True))
            + f"{row['updates']:>10.0f}{row['seconds']:>9.0f}")
    return "\n".join(out)


def anomaly_table(result: dict[str, Any]) -> str:
    """Per held-out digit, each score's ROC AUC (mean over seeds), then the published rows."""

    block = result["anomaly"]
    # a stored result keeps the block's settings inside it (merge_anomaly)
    epochs = block.get("settings", result["settings"])["anomaly_epochs"]
    out = [f"anomaly detection, leave one digit out ({block['seeds']} seed(s), "
           f"{epochs} epochs of VAE training per task); "
           "ROC AUC, mean over seeds",
           f"{'score':<34}" + "".join(f"{c:>7d}" for c in block["classes"]) + f"{'mean':>9}"]
    rows = [(name, block["per_class_auc"][name], block["mean_auc"][name])
            for name in block["per_class_auc"]]
    if len(block["classes"]) == 10:
        rows += [(name, v, block["published_mean_auc"][name])
                 for name, v in block["published"].items()]
    for name, values, mean in rows:
        out.append(f"{name[:33]:<34}" + "".join(f"{v:>7.3f}" for v in values) + f"{mean:>9.3f}")
    return "\n".join(out)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=None,
                        help=f"comma-separated subset of {','.join(ALL_MODELS)} (default: "
                             f"{','.join(MODELS)})")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes running jobs in parallel, one torch thread each "
                             "(default: 1)")
    parser.add_argument("--no-anomaly", action="store_true",
                        help="skip the anomaly-detection runs")
    parser.add_argument("--anomaly-only", action="store_true",
                        help="run the leave-one-digit-out anomaly protocol alone")
    parser.add_argument("--merge-into", default=None, metavar="FILE",
                        help="with --anomaly-only, --from-checkpoints or --models M "
                             "--no-anomaly: write that block, or those models' rows, into "
                             "this stored bench compare result, keeping everything else")
    parser.add_argument("--from-checkpoints", nargs="?", const="", default=None,
                        metavar="DIR",
                        help="score the reference checkpoints compare-<model>-s<seed> in DIR "
                             "(default: seed 0 from the package, seeds 1 and 2 from a clone's "
                             "reference_seeds/ or downloaded once, verified by sha256) "
                             "instead of training; the JSON's "
                             "'reference' block. '--budget reference' retrains them "
                             f"({REFERENCE_SECONDS:.0f} s per model and seed)")


TARGET = Target(
    help="train the VAE, the GAN and the hybrids for the same time; one table of scores",
    data_choices=("mnist5k",),
    default_data="mnist5k",
    run=run,
    table=table,
    extra=extra_arguments,
    default_seeds=3,
    extra_budgets={REFERENCE: f"retrain chapter 10's reference models from scratch, "
                              f"{REFERENCE_SECONDS:.0f} s per model and seed"},
)
