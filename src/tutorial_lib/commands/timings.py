"""``python -m tutorial_lib timings --budget NAME``: how long each notebook takes to run.

Every notebook is executed top to bottom, each in a fresh Python process that starts its own
Jupyter kernel (as the book build does), with ``TUTORIAL_BUDGET`` set to the budget and
``TUTORIAL_STATIC_WIDGETS=1``: one at a time by default, or ``--jobs N`` at a time, each
kernel then given the CPU's cores divided by N (or by the number of notebooks, if fewer)
as its threads, as the book build (``scripts/book.sh``, two at a time) executes them, last
chapter first. For each notebook it measures

- **seconds**: wall-clock from starting the kernel to the end of the last cell (the time the
  book build spends on that notebook);
- **peak_mb**: the peak resident memory of the kernel process, in MB (10^6 bytes): the
  ``ru_maxrss`` the operating system records for the kernel once it has exited. It counts
  the kernel itself (and any process it started and waited for, whichever was largest),
  not a sum over processes, and not the small runner around it. ``null`` where the
  platform does not record it (Windows) or the notebook ran out of time.

The total is the sum of the notebooks' seconds when they run one at a time, and the
wall-clock of the whole run with ``--jobs`` above 1. It prints a table with the book's
targets on a 2-core CPU (smoke: under 60 s per notebook; book: under 5 minutes per notebook
and under 30 minutes in all), then, as its last line, one JSON object with the same figures.
A notebook's own target is checked only when it ran alone (``--jobs 1``): run side by side,
notebooks share the CPU, and only the total is checked. A notebook that fails or times out
is reported as such in the table and the JSON (its ``error``); the command then exits with
status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tutorial_lib.processes import build_order, run_with_time_limit, threads_per_job

# the book's targets on a 2-core CPU: seconds per notebook, seconds for all notebooks
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "smoke": (60.0, None),
    "book": (300.0, 1800.0),
    "full": (None, None),  # GPU or Colab: no target
}
RESULT_PREFIX = "TIMINGS-RESULT "  # marks the runner's answer among whatever else it prints


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "timings",
        help="execute every notebook at a budget; a table of seconds and peak memory, "
             "then one JSON line",
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
    p.set_defaults(run=run)


def default_notebooks() -> list[Path]:
    """``notebooks/*.ipynb`` under the current folder, else under this package's checkout."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        found = sorted((root / "notebooks").glob("*.ipynb"))
        if found:
            return found
    raise ValueError("no notebooks/*.ipynb here; run from the repository root or name the "
                     "notebooks to time")


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
    env = dict(os.environ, TUTORIAL_BUDGET=budget, TUTORIAL_STATIC_WIDGETS="1",
               **(threads or {}))
    code = "from tutorial_lib.commands.timings import _runner; _runner()"
    start = time.perf_counter()
    # the runner stops itself at the time limit; the extra minute is for a runner that hangs
    finished = run_with_time_limit([sys.executable, "-c", code, str(path.resolve()),
                                    str(timeout)], timeout + 60, env=env)
    if finished.timed_out:
        return {"seconds": round(time.perf_counter() - start, 1), "peak_mb": None,
                "ok": False, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    tail = (finished.stderr.strip().splitlines() or ["no output"])[-1]
    return {"seconds": round(time.perf_counter() - start, 1), "peak_mb": None, "ok": False,
            "error": f"the runner exited with status {finished.returncode}: {tail}"}


def _runner() -> None:
    """In the fresh process: run the notebook (argv[1]) with nbclient; print the result."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path, timeout = Path(sys.argv[1]), float(sys.argv[2])
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = nbclient.NotebookClient(nb, timeout=int(timeout), kernel_name=kernel,
                                     resources={"metadata": {"path": str(path.parent)}})
    result: dict[str, Any] = {"ok": True}
    start = time.perf_counter()
    try:
        client.execute()  # starts the kernel, runs every cell, shuts the kernel down
    except CellTimeoutError:
        result = {"ok": False, "error": f"a cell ran longer than {timeout:.0f} s"}
    except CellExecutionError as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        result = {"ok": False, "error": lines[-1] if lines else type(exc).__name__}
    except Exception as exc:  # the kernel died, could not start, ...
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["peak_mb"] = _children_peak_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _children_peak_mb() -> float | None:
    """Peak resident memory of the largest exited child process (the kernel), in MB."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if maxrss <= 0:
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(maxrss * scale / 1e6, 1)


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
