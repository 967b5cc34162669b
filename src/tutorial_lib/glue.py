"""Hand a notebook's figures and numbers to the chapter's theory page.

When the book is built, myst-nb runs each notebook and keeps what :func:`glue` names; the
theory page pastes it (a ``glued-figure`` directive, or the ``{glue:text}`` role with
``notebook::name``). So the pictures and the run figures in the text are the ones this run
made. Outside a book build (Colab, a local Jupyter) myst-nb may be missing; then
:func:`glue` does nothing, and the notebook shows its figures as usual.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def glue(name: str, value: Any) -> None:
    """Keep ``value`` (a matplotlib figure, a number, a string) under ``name`` for the book.

    Args:
        name: lower-case letters, digits and hyphens, unique within the notebook, e.g.
            ``"vae-samples"``; a theory page refers to it as ``notebook.ipynb::name``.
        value: what to keep. A figure is kept as its PNG; a number as its text, which the
            page formats (``{glue:text}`` with a format such as ``:.1f``).

    Raises:
        ValueError: ``name`` is not of the form above.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"glue name must be lower-case letters, digits and hyphens "
                         f"(e.g. 'vae-samples'), got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # not a book build: nothing to hand over
        return
    myst_glue(name, value, display=False)
