"""Execute the book's notebooks several at a time into the cache that the book build reads.

``jupyter-book build`` (``execute_notebooks: cache``) executes a notebook only when the
cache at ``execute.cache`` holds no executed copy with the same code, and it executes them
one after another. On a CPU with few cores, two kernels with one thread each get through
more training steps than one kernel with two threads (about 1.6 times as many on this
book's toy GAN step), so ``scripts/book.sh`` runs this first:

    python tools/execute_notebooks.py --cache _build/.jupyter_cache/book --jobs 2

Each notebook that the cache lacks runs with the book's notebook runner
(``tutorial_lib.runner``: a fresh process and kernel, from the notebook's own folder, as the
build runs it; the environment's ``TUTORIAL_BUDGET`` and ``TUTORIAL_DEVICE`` apply;
``OMP_NUM_THREADS`` is the core count divided by ``--jobs``, or by the number of notebooks
to run where that is smaller). The cache records each notebook's seconds, which the book's
execution statistics page shows, and its kernel's peak memory. A notebook that fails is
reported and left out of the cache: the build then executes it again and shows the error.
Later chapters train longest, so the notebooks start in reverse order.
"""

from __future__ import annotations

import argparse
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from notebook_jobs import build_order, threads_per_job

from tutorial_lib.runner import run_notebook

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: notebooks/*.ipynb of the repository")
    parser.add_argument("--cache", type=Path,
                        help="the jupyter-cache folder the build reads (execute.cache)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks at a time (default 2)")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds per cell (default: execute.timeout of _config.yml)")
    args = parser.parse_args()
    if args.timeout is None:  # the build's own limit, so that both stop a cell alike
        import yaml

        args.timeout = int(yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"])
    if args.cache is None:
        parser.error("--cache is required: the jupyter-cache folder the build reads")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    paths = [p.resolve() for p in (args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb")))]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    cache = get_cache(str(args.cache))
    todo = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:  # no executed copy of this code
            todo.append(path)
    print(f"==> executing {len(todo)} of {len(paths)} notebooks, {args.jobs} at a time "
          f"(the cache {args.cache} holds the others)", flush=True)
    env = threads_per_job(args.jobs, len(todo))
    lock, failed = threading.Lock(), []

    def execute(path: Path) -> None:
        run = run_notebook(path, cell_timeout=args.timeout, env=env)
        with lock:  # one writer at a time for the cache's database
            if not run.ok:
                failed.append(path.name)
                print(f"    {path.name}: FAILED after {run.seconds:.0f} s: {run.error}",
                      flush=True)
                return
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(
                CacheBundleIn(run.notebook, record.uri,
                              data={"execution_seconds": run.seconds,
                                    "peak_mb": run.peak_mb}),
                check_validity=False, overwrite=True)
            print(f"    {path.name}: {run.seconds:.0f} s, peak {run.peak_mb} MB", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(execute, build_order(todo)))
    if failed:
        print(f"==> {len(failed)} failed ({', '.join(failed)}); the build will run them "
              "again and show the error", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
