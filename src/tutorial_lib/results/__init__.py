"""Measured benchmark results shipped with the package, so that a notebook on Colab shows
the same tables as the rendered book.

Each file is the JSON line printed by a ``python -m tutorial_lib bench ...`` command; the
command is recorded in the file under ``"command"``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_result(name: str) -> dict[str, Any]:
    """The stored result ``name`` (e.g. ``"bench_compare"``) as a dict.

    Raises:
        FileNotFoundError: no such result; the message lists the stored ones.
    """
    folder = resources.files(__name__)
    path = folder / f"{name}.json"
    if not path.is_file():
        stored = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))
        raise FileNotFoundError(f"no stored result {name!r}; stored: {', '.join(stored) or 'none'}")
    return json.loads(path.read_text())
