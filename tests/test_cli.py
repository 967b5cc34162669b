"""The command-line entry: subcommands, and bench's table followed by one JSON line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tutorial_lib.cli import main


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("info", "data", "bench", "train"):
        assert command in out


def test_module_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "tutorial_lib", "info"], capture_output=True,
                          text=True, check=True, timeout=120)
    assert "torch" in done.stdout and "budget" in done.stdout


