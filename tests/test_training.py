"""The machinery every training loop shares (tutorial_lib.training): budget, divergence
guard with its last good state, history, progress bar."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

from tutorial_lib.training import (
    Budget,
    DivergenceGuard,
    LastGoodState,
    ProgressBar,
    TrainingDiverged,
    all_finite,
    record,
)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


# --- the budget ----------------------------------------------------------------------------

def test_a_step_budget_counts_steps_and_is_spent_at_the_last() -> None:
    budget = Budget(4)
    assert budget.total == 4
    for step in range(1, 5):
        assert not budget.spent
        budget.tick(step)
        assert budget.done == step
    assert budget.spent


def test_a_time_budget_is_spent_when_time_is_out_and_counts_time_as_steps() -> None:
    budget = Budget(1000, max_seconds=1e-9)
    assert budget.total is None  # the bar cannot know the number of steps
    budget.tick(1)
    assert budget.spent and budget.done == 1000.0  # all the time used: as if all steps
    long = Budget(10, max_seconds=1e9)
    assert long.tick(3) >= 0 and long.done == 3 and not long.spent  # time is not further


def test_a_budget_rejects_what_cannot_be_trained() -> None:
    with pytest.raises(ValueError, match="steps"):
        Budget(0)
    with pytest.raises(ValueError, match="max_seconds"):
        Budget(10, max_seconds=0)


# --- the last good state ---------------------------------------------------------------

def test_restore_returns_the_state_at_the_last_save_not_later_changes() -> None:
    a, b = _net(), nn.Linear(2, 2)
    good = LastGoodState(a, b)
    a(torch.randn(8, 3))  # training mode: updates BatchNorm's running statistics (buffers)
    with torch.no_grad():
        for p in [*a.parameters(), *b.parameters()]:
            p.add_(1.0)
    good.save()
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in (a, b)]
    with torch.no_grad():  # a step that "diverges"
        for p in [*a.parameters(), *b.parameters()]:
            p.fill_(float("nan"))
    a(torch.randn(8, 3))
    good.restore()
    for m, state in zip((a, b), saved, strict=True):
        for k, v in m.state_dict().items():
            assert torch.equal(v, state[k]), k


def test_the_saved_copy_does_not_alias_the_live_tensors() -> None:
    net = _net()
    good = LastGoodState(net)
    before = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    good.restore()
    assert torch.equal(net[0].weight, before)


def test_rejects_what_is_not_a_module() -> None:
    with pytest.raises(TypeError, match="torch.nn.Module"):
        LastGoodState(torch.zeros(3))
    with pytest.raises(TypeError, match="one or more"):
        LastGoodState()


# --- the divergence guard ------------------------------------------------------------------

def _train(net: nn.Linear, steps: int, bad_step: int | None = None) -> dict:
    """SGD on a linear regression whose weight gradient is made NaN at ``bad_step``: the
    loss of that step is finite, the parameters after it are not."""
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    calls = {"n": 0}

    def poison(grad: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == bad_step else grad

    net.weight.register_hook(poison)
    history: dict[str, list[float]] = {}
    guard = DivergenceGuard(net, history=history)
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(1))
    for step in range(1, steps + 1):
        loss = (net(x) - x.sum(1, keepdim=True)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        guard.check(step, {"loss": loss.item()})
        record(history, step=float(step), loss=loss.item())
    return history


def test_a_nan_gradient_with_a_finite_loss_is_caught_and_undone() -> None:
    torch.manual_seed(0)
    net = nn.Linear(2, 1)
    with pytest.raises(TrainingDiverged) as info:
        _train(net, steps=6, bad_step=3)
    err = info.value
    message = str(err)
    assert "at step 3" in message and "a parameter became NaN or infinite" in message
    assert "restored to their state after step 2" in message and "learning rate" in message
    assert err.step == 3 and err.restored_to == 2 and err.partial is None
    assert err.history["step"] == [1.0, 2.0]  # the history before the divergence is kept
    assert all(math.isfinite(v) for v in err.history["loss"])
    torch.manual_seed(0)
    healthy = nn.Linear(2, 1)
    assert _train(healthy, steps=2) == err.history
    assert all_finite(net.parameters())  # the restored weights are those after step 2, exactly
    for name, value in net.state_dict().items():
        assert torch.equal(value, healthy.state_dict()[name]), name


def test_a_divergence_at_the_first_step_restores_the_initial_state() -> None:
    torch.manual_seed(0)
    net = nn.Linear(2, 1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    guard = DivergenceGuard(net, history={}, partial="run so far", unit="epoch",
                            explode=10.0, hint="Lower lr.")
    with torch.no_grad():
        net.weight.add_(1.0)
    with pytest.raises(TrainingDiverged, match="epoch 1 \\(loss 11\\); the networks were "
                       "restored to their initial state. Lower lr.") as info:
        guard.check(1, {"loss": 11.0})  # finite, but above ``explode``
    assert info.value.partial == "run so far" and info.value.restored_to == 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_check_without_save_keeps_the_earlier_good_state() -> None:
    net = nn.Linear(2, 1)
    guard = DivergenceGuard(net, history={})
    before = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    guard.check(1, {"loss": 0.5}, save=False)  # finite, but not a point to come back to
    with torch.no_grad():
        net.bias.fill_(float("inf"))
    with pytest.raises(TrainingDiverged, match="initial state"):
        guard.check(1, {"loss": 0.5})
    assert torch.equal(net.weight, before)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_one_bad_entry_makes_the_tensors_not_finite(bad: float) -> None:
    tensors = [torch.randn(3, 4), torch.zeros(0), torch.randn(5)]
    assert all_finite(tensors) and all_finite([])
    tensors[2][1] = bad
    assert not all_finite(tensors)
    tensors[2][1] = 3e38  # finite, however large
    assert all_finite(tensors)


def test_the_history_takes_plain_numbers_only() -> None:
    history: dict[str, list[float]] = {"step": []}
    record(history, step=1.0, loss=0.5)
    record(history, step=2.0, loss=0.25)
    assert history == {"step": [1.0, 2.0], "loss": [0.5, 0.25]}
    with pytest.raises(TypeError, match="plain number"):
        record(history, loss=torch.tensor(0.5, requires_grad=True))


# --- the progress bar -----------------------------------------------------------------

def _run(total: int | None, stop_after: int, out: io.StringIO, enabled: bool = True
         ) -> ProgressBar:
    with ProgressBar("train", total, enabled, file=out) as progress:
        for _ in range(stop_after):
            progress.advance({"loss": 0.5})
    return progress


def _last_line(out: io.StringIO) -> str:
    return out.getvalue().rsplit("\r", 1)[-1]


def test_an_early_stop_becomes_the_total_and_keeps_the_clock() -> None:
    out = io.StringIO()
    with ProgressBar("train", 10, file=out) as progress:
        start = progress.bar.start_t
        for _ in range(4):
            progress.advance()
    assert progress.bar.total == 4 and progress.bar.n == 4 and progress.bar.start_t == start
    assert "100%" in _last_line(out) and "4/4" in _last_line(out)


def test_the_last_step_counts_and_an_unknown_total_stays_unknown() -> None:
    out = io.StringIO()
    _run(5, 5, out)
    assert "5/5" in _last_line(out)
    out = io.StringIO()
    bar = _run(None, 3, out).bar  # a time budget: no total
    assert bar.total is None and "3it" in _last_line(out) and "loss=0.5" in _last_line(out)
    out = io.StringIO()
    disabled = _run(5, 2, out, enabled=False).bar
    assert disabled.total == 5 and out.getvalue() == ""  # a disabled bar is left alone


def test_a_divergence_leaves_the_bar_where_it_stood() -> None:
    out = io.StringIO()
    with pytest.raises(TrainingDiverged):
        with ProgressBar("train", 10, file=out) as progress:
            progress.advance()
            raise TrainingDiverged("x", step=2, restored_to=1, history={})
    assert progress.bar.total == 10 and "1/10" in _last_line(out)


def test_the_notebook_bar_closes_green_or_red(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_tqdm

    from tutorial_lib import training

    monkeypatch.setattr(training, "tqdm", notebook_tqdm)
    for total, stop_after in ((10, 4), (4, 4)):
        with ProgressBar("train", total) as progress:
            for _ in range(stop_after):
                progress.advance()
        _, widget, text = progress.bar.container.children
        assert widget.bar_style == "success", (total, stop_after)
        assert widget.value == 4 and "4/4" in text.value
    with pytest.raises(TrainingDiverged):
        with ProgressBar("train", 10) as progress:
            progress.advance()
            raise TrainingDiverged("x", step=2, restored_to=1, history={})
    assert progress.bar.container.children[1].bar_style == "danger"
