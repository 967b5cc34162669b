"""``python -m tutorial_lib bench TARGET``: benchmarks that print a table and a JSON line.

Every target takes ``--data``, ``--budget`` and ``--seeds``. Each benchmark module of
:mod:`tutorial_lib.bench` defines a ``TARGET`` (:class:`~tutorial_lib.bench.jobs.Target`:
help text, allowed data sets, default data, run function, table). The run function
returns a dict; ``bench`` prints its table and, last, the dict as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from tutorial_lib.bench import diffusion, gan, head_to_head, mle, vae
from tutorial_lib.bench.jobs import Target


def _targets() -> dict[str, Target]:
    return {"mle": mle.TARGET, "vae": vae.TARGET, "gan": gan.TARGET,
            "compare": head_to_head.TARGET, "diffusion": diffusion.TARGET}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="run a benchmark: a table, then one JSON line with the same figures"
    )
    sub = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name, target in _targets().items():
        t = sub.add_parser(name, help=target.help, description=target.help)
        t.add_argument("--data", default=target.default_data, choices=target.data_choices,
                       help=f"data set (default: {target.default_data})")
        t.add_argument("--budget", default=None, choices=["smoke", "book", "full",
                                                          *target.extra_budgets],
                       help="budget (default: $TUTORIAL_BUDGET, else book)"
                            + "".join(f"; {name}: {text}"
                                      for name, text in target.extra_budgets.items()))
        t.add_argument("--seeds", type=int, default=target.default_seeds,
                       help=f"number of seeds (default: {target.default_seeds})")
        t.add_argument("--device", default=None, help="cpu | cuda | mps (default: automatic)")
        if target.extra is not None:
            target.extra(t)
        t.set_defaults(run=_runner(target))


def _runner(target: Target) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
        result = target.run(args)
        print(target.table(result))
        print(json.dumps(result, sort_keys=True))
        return 0

    return run
