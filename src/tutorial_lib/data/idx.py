"""The IDX file format, in which MNIST and Fashion-MNIST are published (gzipped).

An IDX file (LeCun, Cortes and Burges, "The MNIST database of handwritten digits") is the
magic ``00 00 08 d`` (two zero bytes, type code 0x08 for uint8, ``d`` dimensions), then the
``d`` sizes as big-endian uint32, then the pixels or labels in C order. MNIST's training
images are thus ``00 00 08 03``, ``60000 28 28`` and 47,040,000 bytes. The header is
checked against the payload, so that a wrong or truncated file fails loudly here instead
of as a strange shape later.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDXFormatError", "read_idx"]


class IDXFormatError(ValueError):
    """Raised when a file is not a well-formed gzipped uint8 IDX file."""


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a gzipped uint8 IDX file, such as ``train-images-idx3-ubyte.gz``.

    Args:
        path: the ``.gz`` file.

    Returns:
        A uint8 array whose shape is the header's sizes, e.g. ``(60000, 28, 28)`` for
        MNIST's training images and ``(60000,)`` for its labels.

    Raises:
        IDXFormatError: not gzip or a cut-off gzip stream, a magic other than
            ``00 00 08 d`` with ``d >= 1``, or a payload shorter or longer than the header
            promises. The message names the file.
    """
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise IDXFormatError(
            f"{path}: not a complete gzip file ({exc}); is it damaged or cut short?"
        ) from exc
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] == 0:
        raise IDXFormatError(
            f"{path}: expected an IDX magic 00 00 08 d (uint8, d >= 1 dimensions), "
            f"found {data[:4].hex(' ') or 'nothing'}"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(
            f"{path}: truncated IDX header: {ndim} sizes need {header} bytes, found {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    size, found = math.prod(dims), len(data) - header
    if found != size:
        problem = "truncated IDX data" if found < size else "extra bytes after the IDX data"
        raise IDXFormatError(
            f"{path}: {problem}: the header promises {'x'.join(map(str, dims))} = {size} "
            f"bytes of uint8, found {found}"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()
