"""The last good state of a model, kept so that diverged training can be undone.

The training loops save every step and restore once, at a divergence. Saving copies the
parameters and buffers into tensors allocated once, at the start, so that it costs one
memory copy per tensor (a ``copy.deepcopy`` of the state dicts, which it replaces, also
allocated every tensor anew and took about a tenth of a toy GAN's step).
"""

from __future__ import annotations

import torch
from torch import nn


class LastGoodState:
    """Copies of the state dicts of ``modules``, taken at construction and by :meth:`save`.

    Example::

        good = LastGoodState(g, d)
        for step in ...:
            ...  # one training step
            if diverged:
                good.restore()  # g and d as they were at the last save
                raise ...
            good.save()
    """

    def __init__(self, *modules: nn.Module) -> None:
        if not modules or not all(isinstance(m, nn.Module) for m in modules):
            raise TypeError("LastGoodState expects one or more torch.nn.Module objects, got "
                            f"{[type(m).__name__ for m in modules]}")
        self.modules = modules
        with torch.no_grad():
            self.states = [{k: v.detach().clone() for k, v in m.state_dict().items()}
                           for m in modules]

    def save(self) -> None:
        """Copy every module's current parameters and buffers into the saved tensors."""
        with torch.no_grad():
            for module, state in zip(self.modules, self.states, strict=True):
                for key, value in module.state_dict().items():
                    saved = state.get(key)
                    if saved is None or saved.shape != value.shape or \
                            saved.dtype != value.dtype or saved.device != value.device:
                        state[key] = value.detach().clone()  # a tensor that changed form
                    else:
                        saved.copy_(value)

    def restore(self) -> None:
        """Load the saved state back into every module."""
        for module, state in zip(self.modules, self.states, strict=True):
            module.load_state_dict(state)
