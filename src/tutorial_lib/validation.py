"""Argument checks shared by the public functions: fail loudly, say what was expected."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def describe(x: object) -> str:
    """A short description of a value for an error message: dtype and shape for tensors."""
    if isinstance(x, torch.Tensor):
        return f"{str(x.dtype).replace('torch.', '')} tensor of shape {tuple(x.shape)}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"{type(x).__name__} of dtype {getattr(x, 'dtype', '?')} and shape {tuple(shape)}"
    return f"{type(x).__name__}"


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    last_dims: Sequence[int] | None = None,
    floating: bool = True,
) -> torch.Tensor:
    """Check that ``x`` is a tensor with the given number of dimensions and trailing sizes."""
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
    return x


def check_images(x: object, name: str = "images", *, binary: bool = False) -> torch.Tensor:
    """Check a batch of images: float tensor, shape (B, C, H, W), values in [0, 1].

    With ``binary=True`` the values must be exactly 0 or 1 (for a Bernoulli likelihood
    evaluated on binarized data).
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
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{name}: expected values in [0, 1], got range [{x.min().item():.3g}, "
            f"{x.max().item():.3g}]"
        )
    if binary and x.numel() and not torch.all((x == 0) | (x == 1)):
        raise ValueError(f"{name}: expected binary values (0 or 1); binarize the images first")
    return x


def check_positive_int(value: object, name: str, *, allow_zero: bool = False) -> int:
    """Check an integer count such as a number of samples or steps."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} "
                         f"integer, got {value}")
    return value


def check_features(x: object, name: str = "features", *, min_rows: int = 1):
    """Check a feature matrix (N, D), a tensor or array of finite numbers with N >= min_rows;
    returns it as a float64 NumPy array."""
    import numpy as np

    if isinstance(x, torch.Tensor):
        array = x.detach().to("cpu", torch.float64).numpy()
    elif isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"{name}: expected numbers, got {describe(x)}")
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
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return array
