"""``python -m tutorial_lib bench gan``: every loss variant on the ring and the grid.

Each variant of :data:`tutorial_lib.gan.recipes.TOY_VARIANTS` is trained with its recipe
on ``ring8`` and ``grid25``, once per seed, and measured on 2,500 generated samples as in
VEEGAN and PacGAN: the number of modes captured and the percentage of high-quality
samples (within three standard deviations of the nearest mode). Runs are independent, so
``--workers`` spreads them over processes (one torch thread each).

``--recipes`` trains instead each stabilizer with its own recipe
(:data:`tutorial_lib.gan.recipes.STABILIZER_RECIPES`), and ``--merge FILE`` writes that
``recipes`` block into a stored equal-budget result, keeping its other keys:

    python -m tutorial_lib bench gan --recipes --seeds 3 --workers 1 \
        --merge src/tutorial_lib/results/bench_gan.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tutorial_lib.bench.jobs import STD_DDOF, Target, mean_and_sd, run_jobs, sample_sd
from tutorial_lib.budget import get_budget
from tutorial_lib.checkpoints import atomic_write_text
from tutorial_lib.data.toy import toy_distribution
from tutorial_lib.device import get_device
from tutorial_lib.gan import recipes
from tutorial_lib.gan.models import MLPDiscriminator, MLPGenerator
from tutorial_lib.gan.toy_metrics import mode_coverage
from tutorial_lib.gan.train import train_gan
from tutorial_lib.seeding import set_seed
from tutorial_lib.training import TrainingDiverged

TOY_SETS = ("ring8", "grid25")
EVAL_SAMPLES = 2500  # as in the mode-collapse literature


def train_and_measure(variant: str | recipes.ToyVariant, data: str, seed: int,
                      budget: str | None = None, device: str | None = None,
                      threads: int | None = None) -> dict[str, Any]:
    """Train one variant on one mixture with one seed; modes captured and quality.

    ``variant``: a name of :data:`~tutorial_lib.gan.recipes.TOY_VARIANTS` (the equal
    budget) or a recipe itself (e.g. a row of ``STABILIZER_RECIPES``). With a
    ``data_scale`` s the networks train on s * x and the samples are divided by s.
    """
    if threads:
        torch.set_num_threads(threads)
    target = toy_distribution(data)
    if target is None:
        raise ValueError(f"bench gan runs on {', '.join(TOY_SETS)}, got {data!r}")
    dev = get_device(device)
    if isinstance(variant, str):
        model_config, train_config = recipes.toy_recipe(variant, budget, seed=seed)
        name, scale = variant, 1.0
    else:
        model_config, train_config = recipes.variant_configs(variant, budget, seed=seed)
        name, scale = variant.name, variant.data_scale
    set_seed(seed)
    g, d = MLPGenerator(model_config), MLPDiscriminator(model_config)
    start = time.perf_counter()
    diverged = None
    try:
        train_gan(g, d, lambda n: scale * target.sample(n), train_config,
                  device=dev, progress=False)
    except TrainingDiverged as err:  # measured as it stands, and reported
        diverged = str(err)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        z = g.sample_latent(EVAL_SAMPLES, torch.Generator().manual_seed(10_000 + seed))
        x = g(z).float().cpu() / scale
    if not torch.isfinite(x).all():  # a diverged generator: no sample counts
        x = torch.full_like(x, 1e6)
    cover = mode_coverage(x, target)
    return {"variant": name, "data": data, "seed": seed, "modes": cover.modes_captured,
            "high_quality": cover.high_quality, "seconds": seconds, "diverged": diverged,
            "steps": train_config.steps}


def summarize_toy_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Modes and high-quality share over seeds (each run a dict with ``modes``,
    ``high_quality``, ``seconds``, ``diverged`` and ``steps``): mean, sample sd, min and
    median of each, and the per-seed values. Shared with ``bench diffusion``."""
    modes = np.array([r["modes"] for r in runs], dtype=float)
    hq = np.array([r["high_quality"] for r in runs], dtype=float)
    return {
        "modes_mean": float(modes.mean()), "modes_min": int(modes.min()),
        "modes_std": mean_and_sd(list(modes))[1], "hq_mean": float(hq.mean()),
        "hq_min": float(hq.min()), "hq_std": mean_and_sd(list(hq))[1],
        "modes_median": float(np.median(modes)), "hq_median": float(np.median(hq)),
        "modes": [int(m) for m in modes], "hq": [round(float(h), 2) for h in hq],
        "diverged": sum(r["diverged"] is not None for r in runs),
        "seconds_mean": float(np.mean([r["seconds"] for r in runs])),
        "steps": runs[0]["steps"],
    }


def run_bench(variants: list[str] | None = None, data: list[str] | None = None,
              seeds: int = 5, budget: str | None = None, device: str | None = None,
              workers: int = 1) -> dict[str, Any]:
    """Train every (variant, data set, seed); return the summary per variant and data set."""


    variants = list(variants or recipes.TOY_VARIANTS)
    for v in variants:
        if v not in recipes.TOY_VARIANTS:
            raise ValueError(f"unknown variant {v!r}; expected some of "
                             f"{', '.join(recipes.TOY_VARIANTS)}")
    data = list(data or TOY_SETS)
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    budget_name = get_budget(budget).name
    dev = str(get_device(device))
    jobs = [(v, s, seed) for v in variants for s in data for seed in range(seeds)]
    start = time.perf_counter()
    runs = run_jobs(train_and_measure,
                    [(v, s, seed, budget_name, dev) for v, s, seed in jobs], workers)
    table: dict[str, dict[str, Any]] = {}
    for v in variants:
        table[v] = {"summary": recipes.TOY_VARIANTS[v].summary}
        for s in data:
            table[v][s] = summarize_toy_runs(
                [r for r in runs if r["variant"] == v and r["data"] == s])
    return {"bench": "gan", "torch": torch.__version__, "budget": budget_name,
            "device": dev, "seeds": seeds, "std_ddof": STD_DDOF, "eval_samples": EVAL_SAMPLES,
            "data": data, "variants": table, "recommended": recipes.RECOMMENDED_TOY,
            "workers": workers, "seconds_total": time.perf_counter() - start}


def run_recipes(variants: list[str] | None = None, data: list[str] | None = None,
                seeds: int = 3, budget: str | None = None, device: str | None = None,
                workers: int = 1) -> dict[str, Any]:
    """Each stabilizer with its own recipe (:data:`~tutorial_lib.gan.recipes.STABILIZER_RECIPES`):
    the ``recipes`` block, {variant: {summary, settings, ring8: ..., grid25: ...}}, with
    the same summary per data set as :func:`run_bench` (medians included), and
    ``recipes_run``: how it was measured."""
    variants = list(variants or recipes.STABILIZER_RECIPES)
    for v in variants:
        if v not in recipes.STABILIZER_RECIPES:
            raise ValueError(f"unknown variant {v!r}; expected some of "
                             f"{', '.join(recipes.STABILIZER_RECIPES)}")
    data = list(data or TOY_SETS)
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    budget_name = get_budget(budget).name
    dev = str(get_device(device))
    one_thread = (1,) if workers == 1 else ()  # run_jobs gives each worker one thread
    jobs = [(recipes.STABILIZER_RECIPES[v], s, seed, budget_name, dev, *one_thread)
            for v in variants for s in data for seed in range(seeds)]
    start = time.perf_counter()
    runs = run_jobs(train_and_measure, jobs, workers)
    block: dict[str, dict[str, Any]] = {}
    for v in variants:
        recipe = recipes.STABILIZER_RECIPES[v]
        block[v] = {"summary": recipe.summary,
                    "settings": {**asdict(recipe), "betas": list(recipe.betas)}}
        for s in data:
            block[v][s] = summarize_toy_runs(
                [r for r in runs if r["variant"] == v and r["data"] == s])
    return {"bench": "gan", "torch": torch.__version__, "budget": budget_name,
            "device": dev, "seeds": seeds, "std_ddof": STD_DDOF, "eval_samples": EVAL_SAMPLES,
            "data": data, "recipes": block,
            "recipes_run": {"budget": budget_name, "device": dev, "seeds": seeds,
                            "workers": workers, "torch": torch.__version__,
                            "seconds_total": time.perf_counter() - start}}


def merge_recipes(stored: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """``stored`` (an equal-budget result) with the ``recipes`` of ``measured`` (a
    :func:`run_recipes` result) merged in, variant by variant (a variant measured again
    replaces its row), and ``recipes_run`` from ``measured``; every other key kept."""
    if "variants" not in stored:
        raise ValueError("expected a stored equal-budget result (with 'variants') to merge into")
    block = {**stored.get("recipes", {}), **measured["recipes"]}
    return {**stored, "recipes": block, "recipes_run": measured["recipes_run"]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = list(TOY_SETS) if args.data == "both" else [args.data]
    variants = args.variants.split(",") if args.variants else None
    if not args.recipes:
        return run_bench(variants, data, seeds=args.seeds, budget=args.budget,
                         device=args.device, workers=args.workers)
    result = run_recipes(variants, data, seeds=args.seeds, budget=args.budget,
                         device=args.device, workers=args.workers)
    result["recipes_run"]["command"] = (
        f"python -m tutorial_lib bench gan --recipes --data {args.data} --seeds {args.seeds} "
        f"--budget {result['budget']} --workers {args.workers}"
        + (f" --variants {args.variants}" if args.variants else ""))
    for row in result["recipes"].values():  # each row says how it was measured
        row["command"] = result["recipes_run"]["command"]
    if args.merge:
        path = Path(args.merge)
        result = merge_recipes(json.loads(path.read_text()), result)
        atomic_write_text(path, json.dumps(result, sort_keys=True) + "\n")
    return result


def _spread(result: dict[str, Any], sd: float | None) -> str:
    """`` ± sample sd`` (a stored ddof-0 spread converted by ``sample_sd``); none for one seed."""
    return "" if sd is None else f" ± {sample_sd(result, sd):.1f}"


def table(result: dict[str, Any]) -> str:
    """The equal-budget table (``variants``) and/or the own-recipe table (``recipes``)."""
    parts = [_variants_table(result)] if "variants" in result else []
    if "recipes" in result:
        parts.append(_recipes_table(result))
    return "\n\n".join(parts)


def _recipes_table(result: dict[str, Any]) -> str:
    meta = result["recipes_run"]
    data = [s for s in TOY_SETS if any(s in row for row in result["recipes"].values())]
    head = (f"bench gan --recipes: each stabilizer with its own recipe | budget "
            f"{meta['budget']} | {meta['seeds']} seed(s) | {meta['seconds_total']:.0f} s\n"
            "median over seeds [min]; high quality: % of samples within 3 std of a mode\n")
    cols = "".join(f"{s + ' modes':>18}{s + ' hq %':>18}{'s/run':>8}" for s in data)
    lines = [f"{'variant':<15}{cols}"]
    for name, row in result["recipes"].items():
        cells = ""
        for s in data:
            if s not in row:  # this variant's latest run measured the other mixture only
                cells += f"{'-':>18}{'-':>18}{'-':>8}"
                continue
            r = row[s]
            modes = f"{r['modes_median']:.0f} [{r['modes_min']}]"
            hq = f"{r['hq_median']:.1f} [{r['hq_min']:.1f}]"
            cells += f"{modes:>18}{hq:>18}{r['seconds_mean']:>8.0f}"
        lines.append(f"{name:<15}{cells}")
    return head + "\n".join(lines)


def _variants_table(result: dict[str, Any]) -> str:
    head = (f"bench gan | budget {result['budget']} | device {result['device']} | "
            f"{result['seeds']} seed(s) | {result['eval_samples']} samples per run | "
            f"{result['seconds_total']:.0f} s\n"
            "modes captured: mean ± sample sd (min over seeds); high quality: % of samples "
            "within 3 std of the nearest mode, mean ± sample sd (min)\n")
    cols = "".join(f"{s + ' modes':>22}{s + ' high quality %':>28}" for s in result["data"])
    lines = [f"{'variant':<15}{cols}"]
    for name, row in result["variants"].items():
        cells = ""
        for s in result["data"]:
            r = row[s]
            modes = f"{r['modes_mean']:.1f}{_spread(result, r['modes_std'])} ({r['modes_min']})"
            hq = f"{r['hq_mean']:.1f}{_spread(result, r['hq_std'])} ({r['hq_min']:.1f})"
            cells += f"{modes:>22}{hq:>28}"
        mark = " *" if name == result["recommended"] else ""
        lines.append(f"{name + mark:<15}{cells}")
    lines.append("* the book's recommended variant")
    return head + "\n".join(lines)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variants", default=None,
                        help="comma-separated subset of the variants (default: all)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes running seeds in parallel (default: 1)")
    parser.add_argument("--recipes", action="store_true",
                        help="train each stabilizer with its own recipe "
                             "(STABILIZER_RECIPES) instead of the equal budget")
    parser.add_argument("--merge", default=None, metavar="JSON",
                        help="with --recipes: write the recipes block into this stored "
                             "equal-budget result, keeping its other keys")


TARGET = Target(
    help="train every GAN loss variant on the ring and grid mixtures; modes and quality",
    data_choices=("both", *TOY_SETS),
    default_data="both",
    run=run,
    table=table,
    extra=extra_arguments,
    default_seeds=5,
)
