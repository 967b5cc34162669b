"""pyproject.toml and environment.yml list the same packages with the same bounds."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
NOT_PACKAGES = {"python", "pip"}


# extras that need a network at run time (Inception weights): not in the offline
# environment.yml, installed by hand where wanted (Colab)
ONLINE_EXTRAS = ("inception",)


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    return CONDA_NAMES.get(name, name), match.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name in ONLINE_EXTRAS:
            continue
        reqs += extra
    return dict(_split(r) for r in reqs)


def environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    reqs: list[str] = []
    for item in env["dependencies"]:
        if isinstance(item, dict):
            reqs += [r for r in item["pip"] if not r.startswith("-e")]
        else:
            reqs.append(item)
    pairs = dict(_split(r) for r in reqs)
    return {k: v for k, v in pairs.items() if k not in NOT_PACKAGES}


def test_pyproject_and_environment_list_the_same_packages() -> None:
    ours, conda = pyproject_requirements(), environment_requirements()
    assert sorted(ours) == sorted(conda), (
        f"only in pyproject: {sorted(set(ours) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(ours))}"
    )
    differing = {k: (ours[k], conda[k]) for k in ours if ours[k] != conda[k]}
    assert not differing, f"version bounds differ (pyproject, environment.yml): {differing}"


def test_torch_is_unpinned_and_jupyter_book_is_1x() -> None:
    ours = pyproject_requirements()
    assert ours["torch"] == ">=2.1"  # Colab keeps its own torch
    assert ours["jupyter-book"] == ">=1.0.4,<2"


def test_environment_python_floor_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{project['requires-python']}" in env["dependencies"]
