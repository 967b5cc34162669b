"""Tuning trials of the stabilizers' own recipes, stored as a result (not as code comments).

    python tools/gan_recipe_trials.py wgan-gp --data ring8 --seeds 0 --set lr=5e-4
    python tools/gan_recipe_trials.py hinge-sn --seeds 0,1,2 --set data_scale=10 \\
        --out gan_hinge_scale --key data_x10

Each run starts from the variant's row of ``STABILIZER_RECIPES`` (``--set`` replaces
fields of that :class:`~tutorial_lib.gan.recipes.ToyVariant`), trains with
``bench.gan.train_and_measure`` on one torch thread, and appends one trial (variant,
data, seed, settings, modes, quality, seconds, the command) to
``src/tutorial_lib/results/<out>.json``. With ``--key`` the file also keeps, under
``summaries.<key>.<data>``, the medians over the seeds of that command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tutorial_lib.bench.gan import train_and_measure
from tutorial_lib.gan.recipes import STABILIZER_RECIPES, ToyVariant

RESULTS = Path(__file__).resolve().parents[1] / "src" / "tutorial_lib" / "results"


def parse_setting(text: str, recipe: ToyVariant) -> tuple[str, Any]:
    """``"lr=5e-4"`` -> ("lr", 0.0005), typed like the recipe's field."""
    name, sep, value = text.partition("=")
    fields = {f.name for f in dataclasses.fields(ToyVariant)}
    if not sep or name not in fields - {"name", "summary", "loss"}:
        raise ValueError(f"expected FIELD=VALUE with FIELD one of "
                         f"{', '.join(sorted(fields))}, got {text!r}")
    current = getattr(recipe, name)
    if name == "betas":
        return name, tuple(float(b) for b in value.split(","))
    if name == "n_critic":
        return name, None if value == "None" else int(value)
    if isinstance(current, bool):
        return name, value.lower() in ("1", "true", "yes")
    return name, type(current)(float(value)) if isinstance(current, int) else float(value)


def settings(recipe: ToyVariant) -> dict[str, Any]:
    out = dataclasses.asdict(recipe)
    out.pop("summary")
    out["betas"] = list(out["betas"])
    return out


def median_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    modes = [r["modes"] for r in runs]
    hq = [r["high_quality"] for r in runs]
    return {"modes_median": float(np.median(modes)), "hq_median": float(np.median(hq)),
            "modes": modes, "hq": [round(h, 2) for h in hq], "seeds": [r["seed"] for r in runs],
            "seconds_mean": float(np.mean([r["seconds"] for r in runs]))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variant", choices=list(STABILIZER_RECIPES))
    p.add_argument("--data", default="ring8", choices=["ring8", "grid25", "both"])
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="replace a field of the recipe (repeatable)")
    p.add_argument("--budget", default="book", choices=["smoke", "book", "full"])
    p.add_argument("--out", default="gan_recipe_trials", help="result name (default: "
                   "gan_recipe_trials)")
    p.add_argument("--key", default=None, help="store the medians under summaries.KEY")
    p.add_argument("--note", default="", help="why this trial (stored with it)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    recipe = STABILIZER_RECIPES[args.variant]
    recipe = dataclasses.replace(recipe, **dict(parse_setting(s, recipe) for s in args.set))
    command = "python tools/gan_recipe_trials.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    path = RESULTS / f"{args.out}.json"
    stored = json.loads(path.read_text()) if path.is_file() else {
        "about": "tuning trials, one per (recipe, data set, seed), written by "
                 "tools/gan_recipe_trials.py; modes captured of 8 (ring8) or 25 (grid25), "
                 "hq = % of 2,500 samples within 3 std of a mode; one torch thread",
        "torch": torch.__version__, "trials": [], "summaries": {}}
    data = ["ring8", "grid25"] if args.data == "both" else [args.data]
    for d in data:
        runs = []
        for seed in (int(s) for s in args.seeds.split(",")):
            r = train_and_measure(recipe, d, seed, args.budget, "cpu")
            r["high_quality"] = round(r["high_quality"], 2)
            r["seconds"] = round(r["seconds"], 1)
            trial = {**r, "budget": args.budget, "settings": settings(recipe),
                     "command": command, "note": args.note}
            runs.append(r)
            stored["trials"].append(trial)
            print(f"{recipe.name} {d} seed {seed}: {r['modes']} modes, "
                  f"{r['high_quality']:.1f}% hq, {r['seconds']:.0f} s"
                  + (f" (diverged: {r['diverged']})" if r["diverged"] else ""), flush=True)
            path.write_text(json.dumps(stored, indent=1) + "\n")
        if args.key:
            stored["summaries"].setdefault(args.key, {})[d] = {
                **median_summary(runs), "settings": settings(recipe), "command": command}
            path.write_text(json.dumps(stored, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
