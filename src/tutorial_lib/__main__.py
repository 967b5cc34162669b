"""``python -m tutorial_lib``: the book's command-line entry (see :mod:`tutorial_lib.cli`)."""

from tutorial_lib.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
