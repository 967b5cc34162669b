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


# what a bad argument, a missing file or an unavailable device raises: the message is the
# whole story
EXPECTED_ERRORS = (ValueError, TypeError, LookupError, RuntimeError, OSError, ImportError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand. Returns its exit code: 0 on success; 2 with a one-line message on
    standard error for any error (as argparse does for a bad command line); 130 when
    interrupted (Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as err:
        print(f"error: {err or type(err).__name__}", file=sys.stderr)
        return 2
    except Exception as err:  # anything else is still an error of this command, not a crash
        print(f"error: {type(err).__name__}: {err} (unexpected; please report it with the "
              "command line that caused it)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
