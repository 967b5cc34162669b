"""Checks that a cheap trick cannot pass: the type returned, the gradient, fresh randomness.

A loss that matches the reference's numbers can still be useless for training: returned
as ``loss.item()`` (a float), detached, computed under ``torch.no_grad()``, or with part of
its graph cut. :func:`gradient_problem` compares the gradient of the student's output with
the reference's, with respect to the inputs the exercise names. :func:`type_problem` turns
a tuple, a NumPy array, a Python float or None into a message that names it, and
:func:`exception_hint` adds advice to the errors students meet most often.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

TENSOR, NUMBER = "tensor", "number"  # what an exercise's function returns


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return type(value).__name__


def type_problem(value: Any, returns: str) -> str | None:
    """What is wrong with the type of a returned value, or None when it is usable."""
    if value is None:
        return "returned None: is a `return` statement missing?"
    if isinstance(value, (tuple, list)):
        kinds = ", ".join(_kind(v) for v in value[:4])
        return (f"returned a {type(value).__name__} of {len(value)} values ({kinds}); return "
                "one result: when you computed several parts (a real and a generated half, "
                "a penalty and a norm, a KL and its terms), combine them as the formula says "
                "and return only that")
    if isinstance(value, (bool, np.bool_)):
        return f"returned a boolean ({value}), not a number"
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return "returned a complex tensor: take the real part"
        if not (value.is_floating_point() or returns == NUMBER):
            return (f"returned a tensor of dtype {value.dtype}: the result is a real number, "
                    "a floating-point tensor")
        return None
    if returns == TENSOR:
        if isinstance(value, (np.ndarray, np.generic)):
            return ("returned a NumPy array: it carries no gradient, so nothing could be "
                    "trained with it; compute in torch and return the tensor")
        if isinstance(value, (int, float)):
            return (f"returned a Python {type(value).__name__} (from .item() or float()): a "
                    "number carries no gradient, so nothing could be trained with it; return "
                    "the tensor itself")
        return f"returned {type(value).__name__}; expected a torch.Tensor"
    if np.iscomplexobj(value):
        return ("returned a complex number: a matrix square root of a product of covariances "
                "can come back with a tiny imaginary part; take `.real`")
    if not isinstance(value, (int, float, np.ndarray, np.generic)):
        return f"returned {type(value).__name__}; expected a number"
    if not np.issubdtype(np.asarray(value).dtype, np.number):
        return f"returned {type(value).__name__} of {np.asarray(value).dtype}, not a number"
    return None


def as_array(value: Any) -> np.ndarray:
    """A usable output (see :func:`type_problem`) as a float64 array, tensors detached."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value).astype(np.float64)


# (words in the error, what to say): the errors students meet most often.
_HINTS = (
    ("between 0 and 1", "binary_cross_entropy takes probabilities in [0, 1], and these are "
                        "logits: use F.binary_cross_entropy_with_logits"),
    *((words, "scikit-learn's roc_auc_score(y_true, y_score) takes the true labels first "
               "and the scores second (given the scores as labels, it sees many classes)")
      for words in ("continuous format is not supported", "multi_class must be in")),
    ("does not require grad", "the tensor you differentiate has no graph: was it detached, "
                              "computed under torch.no_grad(), or made without "
                              "requires_grad_(True)?"),
    ("backward through the graph a second time",
     "the graph was freed by a first backward: use torch.autograd.grad(..., "
     "create_graph=True) for the penalty, and call backward once"),
    ("Can't call numpy() on Tensor that requires grad",
     "a tensor that carries a gradient was converted to NumPy; stay in torch"),
    ("Expected parameter scale", "a torch.distributions Normal takes the standard "
                                 "deviation as its scale, sigma = exp(log_var / 2), which is "
                                 "positive; the log-variance (or any signed value) is not"),
    ("must match the size of tensor", "two tensors of different shapes were combined: check "
                                      "over which axis you reduce and the shape you return"),
)


def exception_hint(error: BaseException) -> str:
    """Advice for a known error message, or an empty string."""
    text = str(error)
    return next((f": {hint}" for words, hint in _HINTS if words in text), "")


def _leaves(args: list, positions: Sequence[int]) -> list[tuple[int, str, torch.Tensor]]:
    """Make the float tensors at ``positions`` leaves that require grad; modules give their
    parameters. Returns (position, parameter name or "", tensor)."""
    out = []
    for i in positions:
        a = args[i]
        if isinstance(a, nn.Module):
            out += [(i, name, p) for name, p in a.named_parameters()]
            for p in a.parameters():
                p.grad = None
        elif isinstance(a, torch.Tensor) and a.is_floating_point():
            args[i] = a.detach().clone().requires_grad_(True)
            out.append((i, "", args[i]))
    return out


def _gradients(fn: Callable[..., Any], args: tuple, positions: Sequence[int]
               ) -> tuple[Any, list[tuple[int, str, torch.Tensor | None]]]:
    args = list(copy.deepcopy(args))
    leaves = _leaves(args, positions)
    out = fn(*args)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return out, []
    weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
    grads = torch.autograd.grad((out * weights).sum(), [t for _, _, t in leaves],
                                allow_unused=True)
    return out, [(i, n, g) for (i, n, _), g in zip(leaves, grads, strict=True)]


def gradient_problem(fn: Callable[..., Any], reference: Callable[..., Any], args: tuple,
                     positions: Sequence[int], names: Sequence[str]) -> str | None:
    """None when ``fn``'s output has the reference's gradient with respect to the
    arguments at ``positions`` (``names`` are all the arguments' names), else what is wrong."""
    out, got = _gradients(fn, args, positions)
    if not isinstance(out, torch.Tensor):
        return None  # the type check speaks about it
    if not out.requires_grad:
        return ("the result carries no gradient to the inputs: it was computed under "
                "torch.no_grad(), detached (.detach(), .item(), .numpy(), torch.tensor(...) "
                "of a result), built from new tensors, or from a gradient taken without "
                "torch.autograd.grad(..., create_graph=True); return the tensor computed from "
                "the inputs, so that backward() reaches them")
    _, want = _gradients(reference, args, positions)
    for (i, name, g), (_, _, w) in zip(got, want, strict=True):
        if w is None or float(w.abs().max()) == 0:
            continue
        where = f"{names[i]}" + (f" (parameter {name})" if name else "")
        if g is None or float(g.abs().max()) == 0:
            return (f"no gradient reaches {where}, although your values are right: part of "
                    "the computation is cut from the graph (a .detach(), .item() or "
                    "torch.no_grad() on one term)")
        scale = float(w.abs().max())
        if not torch.allclose(g.double(), w.double(), rtol=1e-3, atol=1e-5 * max(1.0, scale)):
            return (f"your values are right but no gradient flows through part of the "
                    f"computation: the gradient with respect to {where} differs from the "
                    "reference's (is one term detached or computed under torch.no_grad(), or "
                    "a gradient taken with torch.autograd.grad without create_graph=True?)")
    return None
