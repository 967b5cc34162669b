"""Write a copy of _config.yml for a build that changes how notebooks execute.

    python tools/book_config.py OUT.yml --execute force          # scripts/test.sh
    python tools/book_config.py OUT.yml --cache _build/.jupyter_cache/book   # scripts/book.sh

The copy lives in another folder, so the paths that _config.yml gives relative to itself
(the local extension, the static files) become absolute, and so does the cache folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def book_config(execute: str | None = None, cache: Path | None = None) -> dict:
    """_config.yml with ``execute.execute_notebooks`` and ``execute.cache`` as given (None:
    as they are) and its paths made absolute."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if execute:
        config["execute"]["execute_notebooks"] = execute
    if cache:
        config["execute"]["cache"] = str(cache.resolve())
    sphinx = config["sphinx"]
    sphinx["local_extensions"] = {name: str((ROOT / path).resolve())
                                  for name, path in sphinx.get("local_extensions", {}).items()}
    sphinx["config"]["html_static_path"] = [
        str((ROOT / path).resolve()) for path in sphinx["config"].get("html_static_path", [])]
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where to write the copy")
    parser.add_argument("--execute", choices=["auto", "cache", "force", "off"],
                        help="execute.execute_notebooks (default: as in _config.yml)")
    parser.add_argument("--cache", type=Path, help="execute.cache: the jupyter-cache folder")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as f:
        yaml.safe_dump(book_config(args.execute, args.cache), f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
