"""``python -m tutorial_lib bench mle``: chapter 1's maximum-likelihood experiment.

Fits Gaussian mixtures with K components to a toy mixture whose density is known, for
several K and seeds, and reports on held-out samples the average log-likelihood and the
KL divergence KL(p_data || p_theta) = E[log p_data(x) - log p_theta(x)], in nats, both as
means over the same held-out points. Their sum is therefore the mean of log p_data over
those points, the same for every model: raising the likelihood is lowering the KL. That
mean is a Monte Carlo estimate of -H(p_data), not equal to it (it differs by a sampling
error of about sd(log p_data) / sqrt(number of test points)).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from tutorial_lib.bench.jobs import STD_DDOF, Target, mean_and_sd
from tutorial_lib.budget import get_budget
from tutorial_lib.data.toy import toy_distribution
from tutorial_lib.device import get_device
from tutorial_lib.probability.mixture import GaussianMixture, fit_mle
from tutorial_lib.seeding import set_seed


def mixture_sizes(n_modes: int, budget_name: str) -> list[int]:
    """K values to try: 1 up to twice the true number of modes (fewer for smoke)."""
    if budget_name == "smoke":
        return [1, n_modes]
    return sorted({1, max(1, n_modes // 4), max(1, n_modes // 2), n_modes, 2 * n_modes})


def sweep(
    data: str,
    ks: list[int] | None = None,
    budget: Any = None,
    seeds: int = 1,
    device: Any = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Fit mixtures with each K in ``ks`` over ``seeds`` seeds to the toy mixture ``data``.

    Returns a dict with the run's settings, the data entropy H(p) and, under ``results``,
    one row per K: held-out log-likelihood and KL(p_data || p_theta) (mean, spread), and
    seconds per fit. Also under ``models``: the fitted model of seed 0 for each K.
    """


    budget = get_budget(budget)
    device = get_device(device)
    target = toy_distribution(data)
    if target is None:
        raise ValueError(f"bench mle needs a data set with a known density, not {data!r}")
    if ks is None:
        ks = mixture_sizes(target.n_modes, budget.name)
    entropy = target.entropy_mc(n=100_000, seed=12345)
    steps = budget.steps(800, minimum=20)
    rows, models = [], {}
    jobs = [(k, seed) for k in ks for seed in range(seeds)]
    bar = tqdm(jobs, desc="fits", disable=not progress)
    per_k: dict[int, dict[str, list[float]]] = {}
    for k, seed in bar:
        set_seed(seed)
        x_train = target.sample(budget.toy_samples, seed=1000 + seed).to(device)
        x_test = target.sample(budget.eval_samples, seed=2000 + seed).to(device)
        model = GaussianMixture(k, dim=2)
        model.init_from_data(x_train.cpu(), seed=seed)
        model.to(device)
        start = time.perf_counter()
        fit_mle(model, x_train, steps=steps, lr=0.03, seed=seed, progress=False)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            log_q = model.log_prob(x_test)
            log_p = target.log_prob(x_test)
        acc = per_k.setdefault(k, {"ll": [], "kl": [], "s": []})
        acc["ll"].append(float(log_q.mean()))
        acc["kl"].append(float((log_p - log_q).mean()))
        acc["s"].append(seconds)
        if seed == 0:
            models[k] = model.cpu()
    for k in ks:
        acc = per_k[k]
        loglik_mean, loglik_sd = mean_and_sd(acc["ll"])
        rows.append({
            "k": k,
            "test_loglik_mean": loglik_mean,
            "test_loglik_std": loglik_sd,  # sample sd over seeds; None for one seed
            "kl_mean": float(np.mean(acc["kl"])),
            "kl_min": float(np.min(acc["kl"])),
            "kl_max": float(np.max(acc["kl"])),
            "seconds": float(np.mean(acc["s"])),
        })
    return {
        "bench": "mle",
        "data": data,
        "budget": budget.name,
        "device": str(device),
        "seeds": seeds,
        "std_ddof": STD_DDOF,
        "steps": steps,
        "train_samples": budget.toy_samples,
        "test_samples": budget.eval_samples,
        "true_modes": target.n_modes,
        "entropy": entropy,
        "results": rows,
        "models": models,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    result = sweep(args.data, budget=args.budget, seeds=args.seeds, device=args.device)
    result.pop("models")
    return result


def table(result: dict[str, Any]) -> str:
    head = (f"bench mle | data {result['data']} ({result['true_modes']} modes) | budget "
            f"{result['budget']} | device {result['device']} | {result['seeds']} seed(s) | "
            f"{result['steps']} steps\n"
            f"entropy of the data H(p) = {result['entropy']:.3f} nats; "
            "test log-lik + KL = mean log p over the test points (an estimate of -H(p)), "
            "the same for every model; ± sample sd over seeds\n")
    lines = [f"{'K':>4}  {'test log-lik (nats)':>22}  {'KL(p_data||p_theta)':>26}  {'s/fit':>6}"]
    for r in result["results"]:
        sd = r["test_loglik_std"]
        spread = f"± {sd:<7.3f}" if sd is not None else " " * 9
        lines.append(
            f"{r['k']:>4}  {r['test_loglik_mean']:>12.3f} {spread}  "
            f"{r['kl_mean']:>10.3f} [{r['kl_min']:.3f}, {r['kl_max']:.3f}]  "
            f"{r['seconds']:>6.2f}"
        )
    return head + "\n".join(lines)


TARGET = Target(
    help="fit Gaussian mixtures by maximum likelihood to a toy mixture (chapter 1)",
    data_choices=("ring8", "grid25"),
    default_data="ring8",
    run=run,
    table=table,
)
