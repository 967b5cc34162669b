"""Run one notebook for the grader: ``python -m tutorial_lib.exercises.run_notebook NB LIMIT``.

Executes every cell in a fresh kernel of this Python environment, going on after errors,
and appends one JSON line per executed cell (its index and, if it failed, the error) to
the file named by ``TUTORIAL_GRADING_PROGRESS``. The notebook file is not modified.
"""

from __future__ import annotations

import json
import os
import sys

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient


class CurrentEnvironmentKernels(KernelSpecManager):
    """Every kernel name resolves to this interpreter's ipykernel (not to a kernel
    installed elsewhere on the machine under the same name)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


def main(argv: list[str]) -> int:
    path, limit = argv[0], float(argv[1])
    progress = os.environ.get("TUTORIAL_GRADING_PROGRESS")
    nb = nbformat.read(path, as_version=4)

    def record(cell, cell_index, execute_reply=None, error=None) -> None:
        if not progress:
            return
        entry: dict = {"cell": cell_index}
        outputs = cell.get("outputs", [])
        failed = [o for o in outputs if o.get("output_type") == "error"]
        if failed:
            entry["error"] = f"{failed[-1]['ename']}: {failed[-1]['evalue']}"[:500]
        with open(progress, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    km = AsyncKernelManager(kernel_name="python3",
                            kernel_spec_manager=CurrentEnvironmentKernels())
    client = NotebookClient(
        nb, km=km, timeout=int(limit), allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        on_cell_executed=lambda cell, cell_index, execute_reply: record(cell, cell_index),
    )
    client.execute()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
