"""LastGoodState: the copy the training loops restore after a divergence."""

import pytest
import torch
from torch import nn

from tutorial_lib.snapshot import LastGoodState


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def test_restore_returns_the_state_at_the_last_save_not_later_changes():
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


def test_the_saved_copy_does_not_alias_the_live_tensors():
    net = _net()
    good = LastGoodState(net)
    before = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    good.restore()
    assert torch.equal(net[0].weight, before)


def test_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        LastGoodState(torch.zeros(3))
    with pytest.raises(TypeError, match="one or more"):
        LastGoodState()
