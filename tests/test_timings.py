"""``python tools/timings.py``: each notebook in a fresh kernel at the budget asked for,
a table with the targets, a failed or slow notebook reported (not a crash), one JSON line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from timings import ROOT, default_notebooks, main, table


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_timings_runs_each_notebook_and_reports_failures_in_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUTORIAL_BUDGET", "book")  # the command's --budget wins in the kernel
    (tmp_path / "notebooks").mkdir()
    good = _notebook(
        tmp_path / "notebooks" / "a_good.ipynb",
        "import os\nassert os.environ['TUTORIAL_BUDGET'] == 'smoke'\n"
        "assert os.environ['TUTORIAL_STATIC_WIDGETS'] == '1'",
        "block = bytearray(300_000_000)  # 300 MB\nblock[::4096] = b'x' * len(block[::4096])",
        "open('ran-here.txt', 'w').write('yes')  # the notebook's own folder is its cwd",
    )
    bad = _notebook(tmp_path / "notebooks" / "b_bad.ipynb", "raise ValueError('boom')")
    slow = _notebook(tmp_path / "notebooks" / "c_slow.ipynb", "import time\ntime.sleep(120)")

    code = main(["--budget", "smoke", "--timeout", "10",
                 str(good), str(bad), str(slow)])
    assert code == 1  # a notebook failed: the command says so, after running all three
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["budget"] == "smoke"
    # run in the book build's order, last chapter first; reported in the order asked for
    progress = [ln.split()[1] for ln in captured.err.splitlines() if ln.startswith("[")]
    assert progress == ["notebooks/c_slow.ipynb:", "notebooks/b_bad.ipynb:",
                        "notebooks/a_good.ipynb:"]
    assert list(result["notebooks"]) == ["notebooks/a_good.ipynb", "notebooks/b_bad.ipynb",
                                         "notebooks/c_slow.ipynb"]
    a, b, c = result["notebooks"].values()
    assert a["ok"] and 0 < a["seconds"] < 60
    assert 300 < a["peak_mb"] < 2000, a  # the kernel's peak includes the 300 MB block
    assert (tmp_path / "notebooks" / "ran-here.txt").read_text() == "yes"
    assert not b["ok"] and "boom" in b["error"]
    assert not c["ok"] and "10 s" in c["error"] and c["seconds"] < 60
    assert result["total_seconds"] == pytest.approx(sum(r["seconds"] for r in (a, b, c)),
                                                    abs=0.2)
    assert result["targets"] == {"seconds_per_notebook": 60.0, "total_seconds": None}
    assert result["targets_met"] is False
    text = "\n".join(out[:-1])
    assert "under 60 s per notebook" in text
    assert "FAILED: " in text and "boom" in text
    assert text.count("notebooks/") == 3 and "total" in text


def test_table_checks_the_book_targets() -> None:
    result = {"budget": "book", "total_seconds": 2500.0, "notebooks": {
        "notebooks/fast.ipynb": {"seconds": 100.0, "peak_mb": 800.0, "ok": True},
        "notebooks/slow.ipynb": {"seconds": 2400.0, "peak_mb": None, "ok": True},
    }}
    rows = table(result).splitlines()
    assert "under 300 s per notebook, under 40 min in all" in rows[0]
    fast, slow, total = rows[2:]
    assert fast.split()[1:4] == ["100.0", "800", "yes"]
    assert slow.split()[1:4] == ["2400.0", "?", "no"]
    assert total.split()[1:3] == ["2500.0", "no"]


def test_timings_refuses_a_missing_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--budget", "smoke", "no/such.ipynb"]) == 2
    assert "no such notebook" in capsys.readouterr().err


@pytest.mark.slow
def test_timings_with_jobs_runs_notebooks_side_by_side_and_checks_only_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    paths = [
        _notebook(tmp_path / f"n{i}.ipynb",
                  f"import os\nassert os.environ['OMP_NUM_THREADS'] == {threads!r}",
                  "import time\ntime.sleep(8)")  # long beside each runner's start-up
        for i in range(2)
    ]
    assert main(["--budget", "book", "--jobs", "2", *map(str, paths)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["jobs"] == 2 and list(result["notebooks"]) == ["n0.ipynb", "n1.ipynb"]
    first, second = result["notebooks"].values()
    assert first["ok"] and second["ok"], result
    # side by side: the whole run's wall-clock is well under the sum of the two notebooks
    assert max(first["seconds"], second["seconds"]) <= result["total_seconds"]
    assert result["total_seconds"] < first["seconds"] + second["seconds"] - 2
    rows = "\n".join(out[:-1]).splitlines()
    assert "2 at a time" in rows[0]
    assert [row.split()[3] for row in rows[2:4]] == ["-", "-"]  # shared CPU: not judged
    assert rows[4].split()[2] == "yes" and result["targets_met"] is True


def test_timings_refuses_jobs_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--budget", "smoke", "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_default_notebooks_are_those_of_the_tools_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # wherever it is run from
    found = default_notebooks()
    assert found == sorted((ROOT / "notebooks").glob("*.ipynb")) and len(found) >= 2
