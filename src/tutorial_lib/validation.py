"""Argument checks shared by the public functions: fail loudly, say what was expected.

The policy every public function follows (so that a bad argument fails at the door, with
its name, rather than deep inside a network or, worse, as a silently wrong number):

- **Types**: tensors where tensors are expected (``TypeError``); integer counts are
  Python integers (``TypeError``) that are positive (``ValueError``).
- **Images** are floating-point tensors (B, C, H, W) with finite values in [0, 1]. Any
  floating dtype is accepted by the functions that only compute on pixels
  (:func:`~tutorial_lib.data.binarize`, :func:`~tutorial_lib.plotting.image_grid`, ...);
  where images meet a network they must have the dtype of its parameters (float32 for
  every network of the book), and float64 or float16 images are refused with the
  conversion to apply (``x.float()``), never converted silently.
- **NaN and infinity** are refused in data and in what is evaluated (images, features,
  scores, samples). The pure loss functions let them through on purpose: during training
  a NaN loss is the signal that :class:`~tutorial_lib.training.DivergenceGuard` acts on.
- **Shapes of labels and scores** are checked exactly, one per example: (N,) is not
  (N, 1), so nothing broadcasts to an N x N table.
- **Empty batches** are refused where a mean or a result over the batch is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def describe(x: object) -> str:
    """A short description of a value for an error message: dtype and shape for tensors."""
    if isinstance(x, torch.Tensor):
        return f"{str(x.dtype).replace('torch.', '')} tensor of shape {tuple(x.shape)}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"{type(x).__name__} of dtype {getattr(x, 'dtype', '?')} and shape {tuple(shape)}"
    return f"{type(x).__name__}"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def check_dtype(x: torch.Tensor, name: str, dtype: torch.dtype) -> torch.Tensor:
    """Check that ``x`` has the dtype of the network it goes into (no silent conversion)."""
    if x.dtype != dtype:
        conversion = "x.float()" if dtype == torch.float32 else f"x.to(torch.{_dtype_name(dtype)})"
        raise TypeError(
            f"{name}: expected {_dtype_name(dtype)} values, the dtype of the network's "
            f"parameters, got {describe(x)}; convert with {conversion.replace('x', name, 1)}"
        )
    return x


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Check that every entry of the tensor ``x`` is finite (no NaN, no infinity)."""
    if x.numel() and not bool(torch.isfinite(x).all()):
        what = "NaN" if bool(torch.isnan(x).any()) else "infinite"
        raise ValueError(f"{name}: expected finite values, got {what} entries in {describe(x)}")
    return x


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    last_dims: Sequence[int] | None = None,
    floating: bool = True,
    finite: bool = False,
    nonempty: bool = False,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Check that ``x`` is a tensor with the given number of dimensions and trailing sizes.

    Args:
        floating: require a floating-point dtype.
        finite: refuse NaN and infinity (for data and evaluations; the forward passes and
            losses used in training leave this off, see the module's docstring).
        nonempty: refuse a batch of size 0 (the first axis).
        dtype: require exactly this dtype (a network's parameters').
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {describe(x)}")
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name}: expected a floating-point tensor, got {describe(x)}"
            " (convert with .float(); images should be scaled to [0, 1] first)"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} dimensions, "
                             f"got {describe(x)}")
    if last_dims is not None and tuple(x.shape[x.ndim - len(last_dims):]) != tuple(last_dims):
        raise ValueError(f"{name}: expected trailing shape {tuple(last_dims)}, got {describe(x)}")
    if nonempty and (x.ndim == 0 or len(x) == 0):
        raise ValueError(f"{name}: expected at least one example, got an empty batch "
                         f"({describe(x)})")
    if dtype is not None:
        check_dtype(x, name, dtype)
    if finite:
        check_finite(x, name)
    return x


def check_images(x: object, name: str = "images", *, binary: bool = False,
                 nonempty: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Check a batch of images: float tensor, shape (B, C, H, W), finite values in [0, 1].

    With ``binary=True`` the values must be exactly 0 or 1 (for a Bernoulli likelihood
    evaluated on binarized data). ``nonempty`` refuses B = 0; ``dtype`` requires the dtype
    of the network the images go into.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name}: expected images as a float tensor in [0, 1] with shape (B, C, H, W), "
            f"got {describe(x)}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name}: expected images as a float tensor in [0, 1] with shape (B, C, H, W), "
            f"got {describe(x)}; for uint8 pixels use x.float() / 255"
        )
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected images with shape (B, C, H, W), got {describe(x)}"
            + ("; add the channel axis with x.unsqueeze(1)" if x.ndim == 3 else "")
        )
    if 0 in x.shape[1:]:
        raise ValueError(f"{name}: expected images of at least one channel and pixel "
                         f"(C, H, W >= 1), got {describe(x)}")
    if nonempty and len(x) == 0:
        raise ValueError(f"{name}: expected at least one image, got an empty batch "
                         f"({describe(x)})")
    if dtype is not None:
        check_dtype(x, name, dtype)
    if x.numel():
        # one reduction for both bounds; NaN propagates into both and fails the test
        low, high = (float(v) for v in torch.aminmax(x.detach()))
        if not (low >= 0 and high <= 1):
            if np.isnan(low) or np.isnan(high):
                raise ValueError(f"{name}: expected values in [0, 1], got NaN entries in "
                                 f"{describe(x)}")
            raise ValueError(f"{name}: expected values in [0, 1], got range [{low:.3g}, "
                             f"{high:.3g}]" + ("; divide uint8-scaled pixels by 255"
                                               if 1 < high <= 255 and low >= 0 else ""))
    if binary and x.numel() and not torch.all((x == 0) | (x == 1)):
        raise ValueError(f"{name}: expected binary values (0 or 1); binarize the images first")
    return x


def check_labels(y: object, name: str, n: int, *, num_classes: int | None = None
                 ) -> torch.Tensor:
    """Check integer class labels: a tensor of shape (n,), one label per example, each in
    0..num_classes - 1 when ``num_classes`` is given. A (n, 1) column is refused: compared
    with an (n,) prediction it would broadcast to an n x n table."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name}: expected integer labels as a torch.Tensor of shape ({n},), "
                        f"got {describe(y)}")
    if y.is_floating_point() or y.is_complex():
        raise TypeError(f"{name}: expected integer labels, got {describe(y)}; convert with "
                        f"{name}.long()")
    if tuple(y.shape) != (n,):
        hint = f"; flatten it with {name}.reshape(-1)" if y.numel() == n else ""
        raise ValueError(f"{name}: expected one label per example, shape ({n},), got "
                         f"{describe(y)}{hint}")
    if num_classes is not None and y.numel():
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{name}: expected labels in 0..{num_classes - 1}, got range "
                             f"[{low}, {high}]")
    return y


def check_binary_labels(y: object, name: str, n: int, *, per: str = "example") -> torch.Tensor:
    """Check a 0/1 indicator of shape (n,): bool, or integers that are all 0 or 1 (class
    labels such as digits 0..9 are refused, not read as "non-zero is positive")."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name}: expected a bool tensor of shape ({n},), got {describe(y)}")
    if y.dtype != torch.bool:
        if y.is_floating_point() or y.is_complex():
            raise TypeError(f"{name}: expected a bool (or 0/1 integer) tensor, got "
                            f"{describe(y)}")
        if y.numel() and not bool(((y == 0) | (y == 1)).all()):
            raise ValueError(f"{name}: expected 0/1 indicators (or bools), got values "
                             f"{sorted(set(y.unique().tolist()))[:10]}; for class labels "
                             f"pass (labels == anomaly_class)")
    if tuple(y.shape) != (n,):
        raise ValueError(f"{name}: expected one entry per {per}, shape ({n},), got "
                         f"{describe(y)}")
    return y.bool()


def check_positive_int(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Check an integer count such as a number of samples or steps."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} "
                         f"integer, got {value}")
    return int(value)


def check_number(value: object, name: str, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> float:
    """Check a finite real number, optionally within [low, high] (``*_open``: strict)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if not np.isfinite(v) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name}: expected a finite number in {left}{lo}, {hi}{right}, got "
                         f"{value!r}")
    return v


def check_features(x: object, name: str = "features", *, min_rows: int = 1) -> np.ndarray:
    """Check a feature matrix (N, D), a tensor or array of finite numbers with N >= min_rows;
    returns it as a float64 NumPy array."""
    if isinstance(x, torch.Tensor):
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"{name}: expected real numbers, got {describe(x)}")
        array = x.detach().to("cpu", torch.float64).numpy()
    elif isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"{name}: expected real numbers, got {describe(x)}")
        array = x.astype(np.float64)
    else:
        raise TypeError(f"{name}: expected a feature matrix (N, D) as a torch.Tensor or "
                        f"numpy array, got {describe(x)}")
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a feature matrix of shape (N, D), got "
                         f"{describe(x)}; flatten images first or pass extractor features")
    if len(array) < min_rows:
        raise ValueError(f"{name}: expected at least {min_rows} rows (samples), got "
                         f"{len(array)}")
    if array.shape[1] == 0:
        raise ValueError(f"{name}: expected at least one feature column, got {describe(x)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return array
