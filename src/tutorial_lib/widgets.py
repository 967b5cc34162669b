"""When the interactive explorers (ipywidgets) can be live, and when they draw static figures.

In a live notebook (Jupyter, Colab) each explorer shows sliders and redraws on every move.
Where no kernel runs, as in the rendered book, sliders would be an empty box, so the
explorer draws a static figure of the same thing instead. The book's build scripts set
``TUTORIAL_STATIC_WIDGETS=1``; set it yourself for static output anywhere.

The explorers live with their chapters: :mod:`tutorial_lib.vae.explorers` (the latent
space, chapter 4) and :mod:`tutorial_lib.gan.explorers` (the game, chapter 6).
"""

from __future__ import annotations

import os

STATIC_ENV = "TUTORIAL_STATIC_WIDGETS"


def interactive_available() -> bool:
    """True when sliders can work: ipywidgets importable and no static override."""
    if os.environ.get(STATIC_ENV, "").strip() not in ("", "0"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True
