"""How long each notebook takes to run: ``python tools/timings.py --budget NAME``.

Every notebook is executed top to bottom by the book's notebook runner
(``tutorial_lib.runner``: a fresh process and Jupyter kernel, in the notebook's folder, as
the book build runs it), with ``TUTORIAL_BUDGET`` set to the budget and
``TUTORIAL_STATIC_WIDGETS=1``: one at a time by default, or ``--jobs N`` at a time, each
kernel then given the CPU's cores divided by N (or by the number of notebooks, if fewer)
as its threads, as the book build (``scripts/book.sh``, two at a time) executes them, last
chapter first. For each notebook it measures

- **seconds**: wall-clock from starting the notebook's process and kernel to the end of
  the last cell (the time the book build spends on that notebook);
- **peak_mb**: the peak resident memory of the kernel process, in MB (10^6 bytes): the
  ``ru_maxrss`` the operating system records for the kernel once it has exited. It counts
  the kernel itself (and any process it started and waited for, whichever was largest),
  not a sum over processes, and not the small runner around it. ``null`` where the
  platform does not record it (Windows) or the notebook ran out of time.

The total is the sum of the notebooks' seconds when they run one at a time, and the
wall-clock of the whole run with ``--jobs`` above 1. It prints a table with the book's
targets on a 2-core CPU (smoke: under 60 s per notebook; book: under 5 minutes per notebook
and under 40 minutes in all), then, as its last line, one JSON object with the same figures.
A notebook's own target is checked only when it ran alone (``--jobs 1``): run side by side,
notebooks share the CPU, and only the total is checked. A notebook that fails or times out
is reported as such in the table and the JSON (its ``error``); the command then exits with
status 1.

A tool for the book's authors, not part of the package: it finds the notebooks of the
repository it lives in (``notebooks/*.ipynb``), whatever the current folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from notebook_jobs import build_order, threads_per_job

from tutorial_lib.runner import run_notebook

ROOT = Path(__file__).resolve().parents[1]  # the repository this tool lives in

# the book's targets on a 2-core CPU: seconds per notebook, seconds for all notebooks
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "smoke": (60.0, None),
    "book": (300.0, 2400.0),  # 15 notebooks: 40 minutes in all
    "full": (None, None),  # GPU or Colab: no target
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python tools/timings.py",
        description=__doc__.split("\n\n", 1)[1].replace("``", "").replace("**", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("notebooks", nargs="*", type=Path,
                   help="notebooks to run (default: notebooks/*.ipynb of the repository)")
    p.add_argument("--budget", required=True, choices=list(TARGETS),
                   help="the budget every notebook runs at (TUTORIAL_BUDGET of the kernel)")
    p.add_argument("--timeout", type=float, default=1200.0,
                   help="seconds one notebook may take before it is stopped and reported "
                        "as timed out (default: 1200)")
    p.add_argument("--jobs", type=int, default=1,
                   help="notebooks run at a time, each kernel with the CPU cores divided by "
                        "JOBS as threads (default: 1; the book build runs 2)")
    return p


def default_notebooks() -> list[Path]:
    """``notebooks/*.ipynb`` of the repository this tool lives in."""
    found = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not found:
        raise ValueError(f"no notebooks in {ROOT / 'notebooks'}; name the notebooks to time")
    return found


def _display_path(path: Path) -> str:
    """The path relative to the current folder when inside it (notebooks/ch01_...ipynb)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def time_notebook(path: Path, budget: str, timeout: float,
                  threads: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute one notebook in a fresh process and kernel; seconds, peak_mb, ok, error.

    ``threads``: the kernel's thread variables, from :func:`threads_per_job` (None: leave
    them as they are)."""
    run = run_notebook(path, timeout=timeout,
                       env={"TUTORIAL_BUDGET": budget, "TUTORIAL_STATIC_WIDGETS": "1",
                            **(threads or {})})
    result: dict[str, Any] = {"seconds": run.seconds, "peak_mb": run.peak_mb, "ok": run.ok}
    if not run.ok:
        result["error"] = run.error
    return result


def _verdict(value: float | None, target: float | None) -> str:
    if target is None:
        return "-"
    if value is None:
        return "no"
    return "yes" if value < target else "no"


def verdicts(result: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Whether each notebook, and the total, met the budget's target: "yes", "no" (also for a
    notebook that failed, and for the total when any failed), or "-" (no target, or a
    notebook that shared the CPU with others: its own target is for a notebook run alone)."""
    per_nb, total = TARGETS[result["budget"]]
    if result.get("jobs", 1) > 1:
        per_nb = None
    each = {name: _verdict(r["seconds"] if r["ok"] else None, per_nb)
            for name, r in result["notebooks"].items()}
    all_ok = all(r["ok"] for r in result["notebooks"].values())
    return each, _verdict(result["total_seconds"] if all_ok else None, total)


def table(result: dict[str, Any]) -> str:
    per_nb, total = TARGETS[result["budget"]]
    target_text = (f"under {per_nb:.0f} s per notebook" if per_nb else "no per-notebook target")
    if total:
        target_text += f", under {total / 60:.0f} min in all"
    jobs = result.get("jobs", 1)
    at_a_time = "one at a time" if jobs == 1 else f"{jobs} at a time, total is wall-clock"
    rows = [f"timings at budget {result['budget']}, {at_a_time} ({target_text}; "
            f"a 2-core CPU)"]
    width = max([len(k) for k in result["notebooks"]] + [len("notebook")])
    rows.append(f"{'notebook':<{width}}  {'seconds':>8}  {'peak MB':>8}  {'target met':>10}"
                f"  status")
    each, all_met = verdicts(result)
    for name, r in result["notebooks"].items():
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "?"
        status = "ok" if r["ok"] else f"FAILED: {r['error']}"
        rows.append(f"{name:<{width}}  {r['seconds']:>8.1f}  {peak:>8}  {each[name]:>10}  "
                    f"{status}")
    rows.append(f"{'total':<{width}}  {result['total_seconds']:>8.1f}  {'':>8}  {all_met:>10}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    """Time the notebooks that ``args`` name; print the table and the JSON line."""
    paths = list(args.notebooks) or default_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"no such notebook: {', '.join(missing)}")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {args.timeout}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    names = [_display_path(p) for p in paths]
    threads = None if args.jobs == 1 else threads_per_job(args.jobs, len(paths))
    found: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(time_notebook, p, args.budget, args.timeout, threads):
                   _display_path(p) for p in build_order(paths)}  # as the build starts them
        for done, future in enumerate(as_completed(futures), 1):
            name, r = futures[future], future.result()
            found[name] = r
            print(f"[{done}/{len(paths)}] {name}: {r['seconds']:.1f} s, "
                  f"{'ok' if r['ok'] else 'FAILED: ' + r['error']}", file=sys.stderr,
                  flush=True)
    wall = time.perf_counter() - start
    notebooks = {name: found[name] for name in names}  # in the order asked for
    per_nb, total = TARGETS[args.budget]
    total_seconds = round(sum(r["seconds"] for r in notebooks.values()) if args.jobs == 1
                          else wall, 1)
    ok = all(r["ok"] for r in notebooks.values())
    result: dict[str, Any] = {
        "budget": args.budget,
        "jobs": args.jobs,
        "notebooks": notebooks,
        "total_seconds": total_seconds,
        "targets": {"seconds_per_notebook": per_nb, "total_seconds": total},
    }
    each, all_met = verdicts(result)
    result["targets_met"] = ok and all(v != "no" for v in [*each.values(), all_met])
    print(table(result))
    print(json.dumps(result, sort_keys=True))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
