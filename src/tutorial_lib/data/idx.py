"""The IDX file format, in which MNIST and Fashion-MNIST are published.

An IDX file (LeCun, Cortes and Burges, "The MNIST database of handwritten digits") is a
tiny header followed by a dense, row-major array:

========  ===========================================================================
bytes     meaning
========  ===========================================================================
0-1       always zero
2         type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
          0x0E float64 (multi-byte types are big-endian)
3         number of dimensions ``d``
4..4+4d   the ``d`` sizes, each a big-endian unsigned 32-bit integer
rest      ``prod(sizes)`` items of the given type, last index fastest (C order)
========  ===========================================================================

The training images of MNIST are thus ``00 00 08 03`` then ``60000 28 28`` then
47,040,000 bytes of pixels. The published files are gzipped; :func:`read_idx` gunzips
transparently and checks every part of the header against the payload, so that a
truncated download or a wrong file fails loudly here instead of as a strange shape later.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["IDXFormatError", "read_idx", "write_idx"]

_GZIP_MAGIC = b"\x1f\x8b"

# Type code -> big-endian dtype as stored in the file.
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# (kind, itemsize) of a NumPy dtype -> type code, for writing.
_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in _DTYPES.items()}
_SUPPORTED = ", ".join(f"0x{code:02X} {dt.name}" for code, dt in _DTYPES.items())


class IDXFormatError(ValueError):
    """Raised when bytes are not a well-formed IDX file (bad header, wrong length, bad gzip)."""


def _describe(dims: tuple[int, ...], dtype: np.dtype) -> str:
    """``(60000, 28, 28)``, uint8 -> ``"60000x28x28 uint8"`` for error messages."""
    return f"{'x'.join(str(d) for d in dims)} {dtype.name}"


def _load_bytes(source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    """Return the (gunzipped if needed) content of ``source``: raw bytes or a file path."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = Path(source).read_bytes()
    else:
        raise TypeError(f"read_idx needs bytes or a path, got {type(source).__name__}")
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise IDXFormatError(
                f"corrupt gzip stream ({len(data)} compressed bytes): {exc}; "
                "the file is probably damaged or incompletely downloaded"
            ) from exc
    return data


def read_idx(source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> np.ndarray:
    """Parse an IDX file, gzipped or not, into a NumPy array.

    Args:
        source: the file's bytes, or a path to it. Data starting with the gzip magic
            ``1f 8b`` is decompressed first.

    Returns:
        A fresh, writable array in native byte order whose shape is the ``d`` sizes in the
        header, e.g. ``(60000, 28, 28)`` uint8 for MNIST's training images and ``(60000,)``
        uint8 for its labels.

    Raises:
        IDXFormatError: bad gzip stream, first two bytes not zero, unknown type code, no
            dimensions, header cut short, or a payload shorter (truncated) or longer
            (trailing garbage) than the header promises.
        TypeError: ``source`` is neither bytes nor a path.
    """
    data = _load_bytes(source)
    if len(data) < 4:
        raise IDXFormatError(
            f"truncated IDX header: need at least 4 bytes (magic), found {len(data)}"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise IDXFormatError(
            f"bad IDX magic: the first two bytes must be 00 00, found {zero0:02x} {zero1:02x} "
            "(is this an IDX file?)"
        )
    if code not in _DTYPES:
        raise IDXFormatError(f"unknown IDX type code 0x{code:02X}; expected one of {_SUPPORTED}")
    if ndim == 0:
        raise IDXFormatError("IDX header declares 0 dimensions; expected at least 1")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXFormatError(
            f"truncated IDX header: {ndim} dimensions need {header_len} header bytes, "
            f"found {len(data)}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = _DTYPES[code]
    count = math.prod(dims)
    expected = count * dtype.itemsize
    found = len(data) - header_len
    promise = f"header promises {_describe(dims, dtype)} = {expected} bytes, found {found}"
    if found < expected:
        raise IDXFormatError(f"truncated IDX data: {promise}")
    if found > expected:
        raise IDXFormatError(f"trailing bytes after IDX data: {promise} ({found - expected} extra)")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=header_len)
    # astype copies: the result owns writable memory in the machine's byte order.
    return flat.astype(dtype.newbyteorder("=")).reshape(dims)


def write_idx(array: npt.ArrayLike, path: str | os.PathLike[str], compress: bool = True) -> Path:
    """Write an array as an IDX file, the inverse of :func:`read_idx`.

    Args:
        array: any array of at least one dimension (shape ``(d_1, ..., d_k)``, each size
            below 2**32) with dtype uint8, int8, int16, int32, float32 or float64. Other
            dtypes are refused rather than silently converted: cast first, e.g. labels with
            ``labels.astype(np.uint8)``.
        path: where to write; the file is overwritten. No suffix is added.
        compress: gzip the file, as the published MNIST files are (``.gz``). The gzip
            timestamp is fixed, so equal arrays give byte-identical files.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: unsupported dtype, zero dimensions, or a size too large for IDX.
    """
    arr = np.asarray(array)
    code = _CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise ValueError(
            f"IDX cannot store dtype {arr.dtype}; supported: {_SUPPORTED} "
            "(cast first, e.g. array.astype(np.int32))"
        )
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"IDX stores arrays of 1 to 255 dimensions, got shape {arr.shape}")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"IDX sizes must be below 2**32, got shape {arr.shape}")
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = np.ascontiguousarray(arr, dtype=_DTYPES[code]).tobytes()
    blob = header + payload
    if compress:
        blob = gzip.compress(blob, mtime=0)
    out = Path(path)
    out.write_bytes(blob)
    return out
