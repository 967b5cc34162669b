"""``python -m tutorial_lib bench diffusion``: the diffusion model on the ring and the grid.

The recipe of :func:`tutorial_lib.diffusion.recipes.toy_recipe` is trained on ``ring8`` and
``grid25`` once per seed and measured exactly as ``bench gan`` measures the GANs (2,500
samples; modes captured, and the share of samples within three standard deviations of the
nearest mode), so that its rows sit in chapter 8's table. Each run also measures:

- the ablation: the same trained network sampled with and without the moving average of
  its weights, with the step variances 1 - alpha_t ("beta") and sigma~_t^2 ("posterior");
- fewer sampling steps: the averaged network sampled on respaced chains of fewer steps;
- the sampling cost: seconds per 1,000 samples at each number of steps.

    python -m tutorial_lib bench diffusion --seeds 5 --workers 2

``--data mnist5k`` scores instead the diffusion model of the digits from its reference
checkpoint (``compare-diffusion-s<seed>``, trained by ``train head-to-head --model
diffusion``): chapter 10's digit-feature scores at several numbers of sampling steps, the
seconds per 1,000 samples of each against those of the reference GAN and VAE, and the
negative ELBO on the binarized test digits in nats.

    python -m tutorial_lib bench diffusion --data mnist5k --seeds 1
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from tutorial_lib.bench.gan import EVAL_SAMPLES, TOY_SETS, summarize_toy_runs
from tutorial_lib.bench.jobs import STD_DDOF, Target, run_jobs
from tutorial_lib.budget import get_budget
from tutorial_lib.data.toy import toy_distribution
from tutorial_lib.device import get_device
from tutorial_lib.diffusion.models import MLPDenoiser
from tutorial_lib.diffusion.recipes import toy_recipe
from tutorial_lib.diffusion.sampling import ancestral_sample
from tutorial_lib.diffusion.schedule import respace
from tutorial_lib.diffusion.train import train_diffusion
from tutorial_lib.gan.toy_metrics import mode_coverage
from tutorial_lib.seeding import set_seed
from tutorial_lib.training import TrainingDiverged

SAMPLING_STEPS = (100, 50, 20, 10, 5)  # respaced chains, besides the full one
DIGIT_STEPS = (100, 50, 20, 10)  # sampling chains of the digits' model
DIGIT_SAMPLES = 1000  # generated digits scored, as in chapter 10's tables
NLL_DRAWS = 20  # uniform steps per test digit for the ELBO estimate
ABLATION = (("ema", "posterior"), ("ema", "beta"), ("raw", "posterior"), ("raw", "beta"))


def _measure(net, chain, sigma: str, target, seed: int, device) -> tuple[dict[str, Any], float]:
    gen = torch.Generator().manual_seed(10_000 + seed)  # as bench gan: the same for all
    start = time.perf_counter()
    x, _ = ancestral_sample(net, (EVAL_SAMPLES, 2), chain, sigma=sigma, generator=gen,
                            device=device)
    seconds = time.perf_counter() - start
    if not torch.isfinite(x).all():
        x = torch.full_like(x, 1e6)
    cover = mode_coverage(x, target)
    return {"modes": cover.modes_captured, "high_quality": cover.high_quality}, seconds


def train_and_measure(data: str, seed: int, budget: str | None = None,
                      device: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """Train the toy recipe on one mixture with one seed, then measure it every way."""
    if threads:
        torch.set_num_threads(threads)
    target = toy_distribution(data)
    if target is None:
        raise ValueError(f"bench diffusion runs on {', '.join(TOY_SETS)}, got {data!r}")
    recipe, dev = toy_recipe(budget), get_device(device)
    set_seed(seed)
    model = MLPDenoiser(recipe.model)
    start = time.perf_counter()
    diverged, run = None, None
    try:
        run = train_diffusion(model, target.sample, recipe.schedule, recipe.train, device=dev,
                              generator=torch.Generator().manual_seed(seed), progress=False)
    except TrainingDiverged as err:
        diverged = str(err)
    seconds = time.perf_counter() - start
    nets = {"ema": run.ema_model if run is not None else model, "raw": model}
    ablation = {}
    for which, sigma in ABLATION:
        ablation[f"{which}-{sigma}"], per = _measure(nets[which], recipe.schedule, sigma,
                                                     target, seed, dev)
        if (which, sigma) == ("ema", recipe.sigma):
            main, sample_seconds = ablation[f"{which}-{sigma}"], per
    by_steps = {}
    for k in (s for s in SAMPLING_STEPS if s < recipe.schedule.T):
        measured, per = _measure(nets["ema"], respace(recipe.schedule, k), recipe.sigma,
                                 target, seed, dev)
        by_steps[str(k)] = {**measured, "seconds_per_1000": 1000 * per / EVAL_SAMPLES}
    by_steps[str(recipe.schedule.T)] = {**main,
                                       "seconds_per_1000": 1000 * sample_seconds / EVAL_SAMPLES}
    return {"data": data, "seed": seed, **main, "seconds": seconds, "diverged": diverged,
            "steps": recipe.train.steps, "ablation": ablation, "by_steps": by_steps}


def score_digits(seed: int, device: str | None = None, threads: int | None = None
                 ) -> dict[str, Any]:
    """The digits' reference diffusion model of ``seed``: scores at each number of
    sampling steps in :data:`DIGIT_STEPS`, seconds per 1,000 samples (and the reference GAN's
    and VAE's, seed 0, on the same thread), and the bound on the test NLL."""
    from tutorial_lib.applications.head_to_head import load_trained, reference_name
    from tutorial_lib.data.images import binarize, load_images
    from tutorial_lib.metrics import digit_scores, load_classifier

    if threads:
        torch.set_num_threads(threads)
    dev = get_device(device)
    data, classifier = load_images("mnist5k", "book"), load_classifier(device=dev)
    trained = load_trained(reference_name("diffusion", seed), device=dev)
    model = trained.model
    by_steps = {}
    for k in DIGIT_STEPS:
        start = time.perf_counter()
        images = model.sample_images(DIGIT_SAMPLES, torch.Generator().manual_seed(20_000 + seed),
                                     steps=k)
        seconds = time.perf_counter() - start
        scores = digit_scores(images, data.x_train, classifier, seed=seed).as_dict()
        by_steps[str(k)] = {**scores, "seconds_per_1000": 1000 * seconds / DIGIT_SAMPLES}
    others = {}
    for name in ("gan", "vae"):
        other = load_trained(reference_name(name, 0), device=dev)
        start = time.perf_counter()
        other.sample(DIGIT_SAMPLES, torch.Generator().manual_seed(1))
        others[name] = 1000 * (time.perf_counter() - start) / DIGIT_SAMPLES
    x_test = binarize(data.x_test, "fixed", seed=12345)
    nll, nll_se = model.nll_bound(x_test, draws=NLL_DRAWS,
                                  generator=torch.Generator().manual_seed(30_000 + seed))
    return {"seed": seed, "updates": trained.steps, "seconds": trained.seconds,
            "sample_steps": model.config.sample_steps, "by_steps": by_steps,
            "others_seconds_per_1000": others, "nll_bound": nll, "nll_bound_se": nll_se,
            "nll_draws": NLL_DRAWS, "test_digits": len(x_test)}


def _median_block(runs: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    """Median over seeds of modes, high quality (and seconds) for each entry of runs[key]."""
    out = {}
    for name in runs[0][key]:
        rows = [r[key][name] for r in runs]
        out[name] = {field: float(np.median([row[field] for row in rows]))
                     for field in rows[0]}
        out[name]["hq_min"] = float(min(row["high_quality"] for row in rows))
        out[name]["modes_min"] = int(min(row["modes"] for row in rows))
    return out


def run_digits(args: argparse.Namespace) -> dict[str, Any]:
    if args.seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {args.seeds}")
    dev = str(get_device(args.device))
    start = time.perf_counter()
    runs = [score_digits(seed, dev) for seed in range(args.seeds)]
    return {"bench": "diffusion", "data": "mnist5k", "torch": torch.__version__,
            "device": dev, "seeds": args.seeds, "n_samples": DIGIT_SAMPLES, "runs": runs,
            "command": f"python -m tutorial_lib bench diffusion --data mnist5k --seeds "
                       f"{args.seeds}",
            "seconds_total": time.perf_counter() - start}


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.data == "mnist5k":
        return run_digits(args)
    data = list(TOY_SETS) if args.data == "both" else [args.data]
    if args.seeds < 1 or args.workers < 1:
        raise ValueError(f"seeds and workers must be at least 1, got {args.seeds} and "
                         f"{args.workers}")
    budget_name = get_budget(args.budget).name
    dev = str(get_device(args.device))
    start = time.perf_counter()
    runs = run_jobs(train_and_measure, [(s, seed, budget_name, dev) for s in data
                                        for seed in range(args.seeds)], args.workers)
    toy, ablation, by_steps = {}, {}, {}
    for s in data:
        rs = [r for r in runs if r["data"] == s]
        toy[s] = summarize_toy_runs(rs)
        ablation[s] = _median_block(rs, "ablation")
        by_steps[s] = _median_block(rs, "by_steps")
    return {"bench": "diffusion", "torch": torch.__version__, "budget": budget_name,
            "device": dev, "seeds": args.seeds, "std_ddof": STD_DDOF,
            "eval_samples": EVAL_SAMPLES, "data": data, "recipe": toy_recipe(budget_name).summary,
            "toy": toy, "ablation": ablation, "by_steps": by_steps, "workers": args.workers,
            "command": (f"python -m tutorial_lib bench diffusion --data {args.data} "
                        f"--seeds {args.seeds} --budget {budget_name} --workers {args.workers}"),
            "seconds_total": time.perf_counter() - start}


def _digits_table(result: dict[str, Any]) -> str:
    lines = [f"bench diffusion, digits | device {result['device']} | {result['seeds']} "
             f"seed(s) | {result['n_samples']} samples | {result['seconds_total']:.0f} s"]
    for run in result["runs"]:
        lines.append(f"seed {run['seed']}: {run['updates']} updates in {run['seconds']:.0f} s; "
                     f"-ELBO on binarized test digits {run['nll_bound']:.1f} +- "
                     f"{run['nll_bound_se']:.1f} nats; s per 1000 samples: " + ", ".join(
                         f"{k} {v:.2f}" for k, v in run["others_seconds_per_1000"].items()))
        lines.append(f"{'steps':>6}{'FID':>8}{'KID':>8}{'prec.':>7}{'recall':>7}{'TV':>7}"
                     f"{'s/1000':>8}")
        for k, r in run["by_steps"].items():
            lines.append(f"{k:>6}{r['fid']:8.1f}{r['kid']:8.1f}{r['precision']:7.3f}"
                         f"{r['recall']:7.3f}{r['class_tv']:7.3f}{r['seconds_per_1000']:8.1f}")
    return "\n".join(lines)


def table(result: dict[str, Any]) -> str:
    """Chapter 8's format (median over seeds [min]), then the ablation and the step counts;
    or, for the digits, the scores at each number of sampling steps."""
    if result.get("data") == "mnist5k":
        return _digits_table(result)
    lines = [f"bench diffusion | budget {result['budget']} | device {result['device']} | "
             f"{result['seeds']} seed(s) | {result['eval_samples']} samples per run | "
             f"{result['seconds_total']:.0f} s",
             f"recipe: {result['recipe']}",
             "median over seeds [min]; high quality: % of samples within 3 std of a mode"]
    for s in result["data"]:
        r = result["toy"][s]
        lines.append(f"{s:<8} modes {r['modes_median']:.0f} [{r['modes_min']}]   high quality "
                     f"{r['hq_median']:.1f} [{r['hq_min']:.1f}]   {r['seconds_mean']:.0f} s/run")
    for s in result["data"]:
        lines.append(f"{s}: sampler ablation (median hq %): " + ", ".join(
            f"{k} {v['high_quality']:.1f}" for k, v in result["ablation"][s].items()))
        lines.append(f"{s}: sampling steps -> modes / hq % / s per 1000: " + ", ".join(
            f"{k}: {v['modes']:.0f} / {v['high_quality']:.1f} / {v['seconds_per_1000']:.2f}"
            for k, v in sorted(result["by_steps"][s].items(), key=lambda kv: -int(kv[0]))))
    return "\n".join(lines)


def extra_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1,
                        help="processes running seeds in parallel (default: 1)")


TARGET = Target(
    help="train the diffusion model on the ring and grid mixtures; modes, quality, sampling "
         "steps and cost",
    data_choices=("both", *TOY_SETS, "mnist5k"),
    default_data="both",
    run=run,
    table=table,
    extra=extra_arguments,
    default_seeds=5,
)
