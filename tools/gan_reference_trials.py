"""Tuning trials of chapter 10's reference GAN, stored as a result (not as code comments).

    python tools/gan_reference_trials.py --seconds 1200 --set hidden=32 --note "cheaper steps"

Each run trains the head-to-head GAN (``applications.head_to_head.train_for``) on the
book's digits for ``--seconds`` of wall-clock on one torch thread, with ``--set`` replacing
fields of its recipe (``gan.recipes.image_recipe``: a field of ``GANConfig`` or of
``GANTrainConfig``), scores it like the reference checkpoints (chapter 9's digit-feature
metrics on 1,000 samples), and appends one trial (the changes, updates, seconds, scores and
the exact command) to ``src/tutorial_lib/results/gan_reference_trials.json``. The recipe
itself, trained by ``train head-to-head``, is the baseline: ``bench_compare``'s
``reference.gan``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from tutorial_lib.applications.head_to_head import score, train_for
from tutorial_lib.checkpoints import atomic_write_text
from tutorial_lib.data import load_images
from tutorial_lib.gan.recipes import image_recipe
from tutorial_lib.metrics import load_classifier

RESULTS = Path(__file__).resolve().parents[1] / "src" / "tutorial_lib" / "results"
SCORES = ("fid", "kid", "precision", "recall", "class_tv", "classes_present")


def parse_change(text: str) -> tuple[str, Any]:
    """``"hidden=32"`` -> ("hidden", 32), typed like the recipe's field."""
    name, sep, value = text.partition("=")
    model, train = image_recipe((1, 28, 28))
    current = {**dataclasses.asdict(model), **dataclasses.asdict(train)}
    if not sep or name not in current:
        raise ValueError(f"expected FIELD=VALUE with FIELD a field of the GAN's recipe "
                         f"({', '.join(sorted(current))}), got {text!r}")
    old = current[name]
    if isinstance(old, bool):
        return name, value.lower() in ("1", "true", "yes")
    if isinstance(old, int):
        return name, int(value)
    if isinstance(old, float):
        return name, float(value)
    if isinstance(old, str):
        return name, value
    if value == "None":
        return name, None
    try:
        return name, float(value) if "." in value or "e" in value else int(value)
    except ValueError:
        return name, value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=1200.0,
                   help="training wall-clock (default: 1200, the reference budget)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="replace a field of the GAN's recipe (repeatable)")
    p.add_argument("--n-samples", type=int, default=1000, help="images scored (default 1000)")
    p.add_argument("--budget", default="book", choices=["smoke", "book", "full"],
                   help="data budget (default: book, the reference models' data)")
    p.add_argument("--out", default="gan_reference_trials", help="result name")
    p.add_argument("--note", default="", help="why this trial (stored with it)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    changes = dict(parse_change(s) for s in args.set)
    command = "python tools/gan_reference_trials.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    data = load_images("mnist5k", args.budget)
    trained = train_for("gan", data, args.seconds, seed=args.seed, device="cpu",
                        budget=args.budget, gan_changes=changes)
    scores = score(trained, data, load_classifier(device="cpu"), n_samples=args.n_samples,
                   seed=args.seed)
    trial = {"changes": changes, "seed": args.seed, "seconds": round(trained.seconds, 1),
             "updates": trained.steps, "diverged": trained.diverged,
             **{k: scores[k] for k in SCORES}, "n_samples": args.n_samples,
             "budget": args.budget, "command": command, "note": args.note}
    path = RESULTS / f"{args.out}.json"
    # trials run side by side: read, append and write under a lock, so none is lost
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(path.read_text()) if path.is_file() else {
            "about": "tuning trials of chapter 10's reference GAN (the head-to-head recipe "
                     "with the changes listed), one torch thread, scored on digit features "
                     "like bench_compare's reference block (its reference.gan is the "
                     "baseline); written by tools/gan_reference_trials.py",
            "torch": torch.__version__, "trials": []}
        stored["trials"].append(trial)
        atomic_write_text(path, json.dumps(stored, indent=1) + "\n")
    print(f"{changes or 'recipe'}: FID {scores['fid']:.1f}, precision "
          f"{scores['precision']:.3f}, recall {scores['recall']:.3f}, class TV "
          f"{scores['class_tv']:.3f}; {trained.steps} updates in {trained.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
