"""``python -m tutorial_lib bench TARGET``: benchmarks that print a table and a JSON line.

Every target takes ``--data``, ``--budget`` and ``--seeds``. Targets register themselves
in ``TARGETS``: a name mapped to (help text, allowed data sets, default data, run function).
The run function returns a dict; ``bench`` prints its table and, last, the dict as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    help: str
    data_choices: tuple[str, ...]
    default_data: str
    run: Callable[[argparse.Namespace], dict[str, Any]]
    table: Callable[[dict[str, Any]], str]
    extra: Callable[[argparse.ArgumentParser], None] | None = None  # more options
    default_seeds: int = 3


def _targets() -> dict[str, Target]:
    from tutorial_lib.bench_compare import TARGET as COMPARE
    from tutorial_lib.bench_gan import TARGET as GAN
    from tutorial_lib.bench_mle import TARGET as MLE
    from tutorial_lib.bench_vae import TARGET as VAE

    return {"mle": MLE, "vae": VAE, "gan": GAN, "compare": COMPARE}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="run a benchmark: a table, then one JSON line with the same figures"
    )
    sub = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, target in _targets().items():
        t = sub.add_parser(name, help=target.help, description=target.help)
        t.add_argument("--data", default=target.default_data, choices=target.data_choices,
                       help=f"data set (default: {target.default_data})")
        t.add_argument("--budget", default=None, choices=["smoke", "book", "full"],
                       help="budget (default: $TUTORIAL_BUDGET, else book)")
        t.add_argument("--seeds", type=int, default=target.default_seeds,
                       help=f"number of seeds (default: {target.default_seeds})")
        t.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
        if target.extra is not None:
            target.extra(t)
        t.set_defaults(run=_runner(target))


def run_jobs(function: Callable[..., Any], jobs: list[tuple], workers: int = 1) -> list[Any]:
    """``function(*job)`` for every job, results in the order of ``jobs``.

    With ``workers > 1`` the jobs run in that many spawned processes, and each call gets
    one more argument, ``1``: the number of torch threads it should use, so that the
    processes do not compete for the cores.
    """
    if workers == 1:
        return [function(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(function, *job, 1) for job in jobs]
        return [f.result() for f in futures]


def _runner(target: Target) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
        result = target.run(args)
        print(target.table(result))
        print(json.dumps(result, sort_keys=True))
        return 0

    return run
