"""``python -m tutorial_lib info``: what this machine offers the book."""

from __future__ import annotations

import argparse
import platform


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="versions, device, budget and data folder")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    import tutorial_lib
    from tutorial_lib.budget import get_budget
    from tutorial_lib.data.download import data_dir
    from tutorial_lib.device import device_name, get_device

    rows = [
        ("tutorial_lib", tutorial_lib.__version__),
        ("python", platform.python_version()),
        ("torch", torch.__version__),
        ("device", device_name(get_device())),
        ("budget", get_budget().name),
        ("data folder", str(data_dir())),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
