"""tools/execute_notebooks.py: notebooks executed in parallel into the build's cache;
tools/notebook_jobs.py: how many threads each gets, and in which order they start."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from notebook_jobs import build_order, threads_per_job

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "execute_notebooks.py"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(cache: Path, *notebooks: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--cache", str(cache), "--jobs", "2",
                           *map(str, notebooks)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_executes_into_the_cache_skips_what_it_holds_and_leaves_out_failures(tmp_path):
    threads = _notebook(tmp_path / "a.ipynb", "import os\nprint(os.environ['OMP_NUM_THREADS'])")
    cwd = _notebook(tmp_path / "b.ipynb", "import os\nprint(os.path.basename(os.getcwd()))")
    broken = _notebook(tmp_path / "c.ipynb", "raise ValueError('planted')")
    cache = tmp_path / "cache"

    first = _run(cache, threads, cwd, broken)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "executing 3 of 3 notebooks" in first.stdout
    assert "c.ipynb: FAILED" in first.stdout and "planted" in first.stdout

    jc = get_cache(str(cache))
    for path, expected in ((threads, None), (cwd, tmp_path.name)):
        # the build matches a notebook by its code: the unexecuted file must find its outputs
        _, merged = jc.merge_match_into_notebook(nbformat.read(path, as_version=4))
        text = merged.cells[0].outputs[0]["text"].strip()
        if expected is None:
            assert int(text) >= 1  # one thread or more per kernel
        else:
            assert text == expected  # ran from the notebook's own folder, as the build does
    with pytest.raises(KeyError):  # a notebook that failed is not cached
        jc.match_cache_notebook(nbformat.read(broken, as_version=4))
    # the seconds the book's execution statistics show, and the kernel's peak memory
    data = jc.match_cache_notebook(nbformat.read(threads, as_version=4)).data
    assert data["execution_seconds"] > 0 and data["peak_mb"] > 10

    again = _run(cache, threads, cwd)
    assert again.returncode == 0 and "executing 0 of 2 notebooks" in again.stdout


def test_threads_per_job_shares_the_cores_and_gives_each_job_at_least_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert threads_per_job(1) == {"OMP_NUM_THREADS": "16", "MKL_NUM_THREADS": "16"}
    assert threads_per_job(3)["OMP_NUM_THREADS"] == "5"  # 3 x 5 = 15 of the 16 cores
    assert threads_per_job(40)["MKL_NUM_THREADS"] == "1"
    assert threads_per_job(2, tasks=1)["OMP_NUM_THREADS"] == "16"  # alone: every core
    assert threads_per_job(2, tasks=5)["OMP_NUM_THREADS"] == "8"
    assert threads_per_job(2, tasks=0)["OMP_NUM_THREADS"] == "16"  # nothing to run
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one thread each
    assert threads_per_job(2)["OMP_NUM_THREADS"] == "1"
    with pytest.raises(ValueError, match="at least 1"):
        threads_per_job(0)


def test_build_order_starts_the_last_chapter_first_whatever_the_folder() -> None:
    paths = [Path("b/ch02_x.ipynb"), Path("a/ch10_y.ipynb"), Path("c/ch01_z.ipynb")]
    assert build_order(paths) == [paths[1], paths[0], paths[2]]
