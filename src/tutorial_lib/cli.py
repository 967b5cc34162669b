"""``python -m tutorial_lib``: the book's command-line entry.

Subcommands:
    info        versions, device, budget and data folder of this machine
    data        list the data sets; download full MNIST / Fashion-MNIST
    bench       benchmarks; each takes --data, --budget and --seeds, prints a table and,
                as its last line, one JSON object with the same figures
    train       train a model with the book's recipe; save a verified checkpoint
    exercises   list the code exercises; student versions; grade notebooks

Only what a reader or a teacher runs: the tools that build the book (the notebook
timings, the solutions appendix, the build's cache) live in ``tools/`` of the repository.
A subcommand is a module with ``add_parser(subparsers)``, listed in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("tutorial_lib.commands.info", "tutorial_lib.commands.data",
               "tutorial_lib.commands.bench", "tutorial_lib.commands.train",
               "tutorial_lib.commands.exercises")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_lib",
        description="Command-line tools of the book 'GANs and VAEs, derived and built'.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
