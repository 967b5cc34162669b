"""Progress bars of the training loops (``tqdm.auto``: a widget in notebooks, text elsewhere)."""

from __future__ import annotations

from typing import Any


def finish_early(bar: Any, done: int) -> None:
    """Close a ``for step in bar`` loop's bar as finished, just before leaving it on purpose.

    tqdm counts a step when the next one starts, so a loop that breaks after its last step
    (or when a time budget is spent, or when early stopping ends it) would leave the bar one
    step short, and the notebook bar would close red, its sign of an interrupted loop.
    This closes it at ``done`` steps; when the loop stops before its planned total, ``done``
    becomes the total: the bar ends full and green ("12/12" for an early stop after epoch
    12), with its elapsed time kept.
    """
    if getattr(bar, "disable", False):
        return
    if bar.total is not None and done < bar.total:
        start = bar.start_t
        bar.reset(total=done)  # also the notebook widget's maximum; it restarts the clock:
        bar.start_t = start
    bar.n = done
    bar.close()
    if callable(getattr(bar, "disp", None)):
        # tqdm.notebook paints a bar red when the loop leaves it by ``break`` (it sees the
        # GeneratorExit); this one finished on purpose and is drawn no more
        bar.disp = lambda *args, **kwargs: None
