"""scripts/execute_notebooks.py: notebooks executed in parallel into the build's cache."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "execute_notebooks.py"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(cache: Path, *notebooks: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--cache", str(cache), "--jobs", "2",
                           *map(str, notebooks)], capture_output=True, text=True, timeout=300)


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

    again = _run(cache, threads, cwd)
    assert again.returncode == 0 and "executing 0 of 2 notebooks" in again.stdout
