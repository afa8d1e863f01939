"""The IDX file format used by MNIST and Fashion-MNIST, read with its header checked.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then ``prod(dims)`` items in big-endian order. :func:`read_idx` refuses any
file whose magic is wrong or whose length is not exactly what its header promises, and names the
file, the expected and the actual value in the :class:`~backproplab.errors.ChecksumError`.
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path

import numpy as np

from backproplab.errors import ChecksumError

#: IDX type code -> NumPy dtype (big-endian where it matters).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

GZIP_MAGIC = b"\x1f\x8b"

#: A header promising more than this many bytes (1 TiB) is corrupt: no IDX file is that large.
MAX_IDX_BYTES = 1 << 40


def parse_idx_header(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> tuple[np.dtype, tuple[int, ...], int]:
    """Check an IDX header against the length of ``data``.

    Parameters
    ----------
    data : bytes
        The whole (decompressed) file content.
    name : str
        How to name the file in an error message.

    Returns
    -------
    dtype : numpy.dtype
        Item type declared by the header.
    shape : tuple of int
        Dimensions declared by the header.
    offset : int
        Where the items start (``4 + 4 * ndim``).

    Raises
    ------
    ChecksumError
        Wrong magic number, unknown type code, no dimensions, a shape too large for any real
        file (over :data:`MAX_IDX_BYTES`), or a byte count that differs from
        ``offset + prod(shape) * itemsize`` (computed exactly, without int64 overflow).
    """
    view = memoryview(data)
    if len(view) < 4:
        raise ChecksumError(
            f"{name}: not an IDX file: expected at least a 4-byte magic number, got {len(view)} bytes")
    b0, b1, code, ndim = view[0], view[1], view[2], view[3]
    if b0 != 0 or b1 != 0 or code not in IDX_DTYPES or ndim == 0:
        codes = "/".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ChecksumError(
            f"{name}: wrong IDX magic number: expected 0x00 0x00 <type {codes}> <ndim >= 1>, "
            f"got {bytes(view[:4]).hex(' ')}")
    offset = 4 + 4 * ndim
    if len(view) < offset:
        raise ChecksumError(
            f"{name}: truncated IDX header: expected {offset} header bytes for {ndim} dimensions, "
            f"got {len(view)} bytes in all")
    shape = tuple(int(d) for d in np.frombuffer(view[4:offset], dtype=">u4"))
    dtype = IDX_DTYPES[code]
    # Python ints: four uint32 dimensions can multiply past int64 (np.prod would wrap around)
    expected = offset + math.prod(shape) * dtype.itemsize
    if expected > MAX_IDX_BYTES:
        raise ChecksumError(
            f"{name}: corrupt IDX header: shape {shape} of {dtype.name} would need {expected:.3e} bytes, "
            f"more than any IDX file (at most {MAX_IDX_BYTES:.3e}); got a file of {len(view)} bytes")
    if len(view) != expected:
        kind = "truncated" if len(view) < expected else "longer than its header says"
        raise ChecksumError(
            f"{name}: IDX file {kind}: header says shape {shape} of {dtype.name}, so expected "
            f"{expected} bytes, got {len(view)} bytes")
    return dtype, shape, offset


def read_idx(data: bytes | bytearray, name: str = "<bytes>") -> np.ndarray:
    """Decode the (decompressed) content of an IDX file into a writable array.

    Parameters
    ----------
    data : bytes
        The whole file content, header included.
    name : str
        How to name the file in an error message.

    Returns
    -------
    numpy.ndarray
        Shape as declared by the header; native byte order (``uint8`` stays ``uint8``).

    Raises
    ------
    ChecksumError
        When the header is invalid or disagrees with the length (see :func:`parse_idx_header`).
    """
    dtype, shape, offset = parse_idx_header(data, name)
    array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def gzip_size_bound(max_bytes: int) -> int:
    """The largest gzip file accepted for content of at most ``max_bytes`` bytes.

    gzip never grows content by more than about 0.03 % plus headers, so 1 % plus 1 MiB is generous;
    the loader refuses a larger file unread and the downloader stops a body at this many bytes.
    """
    return max_bytes + max_bytes // 100 + 2**20


def read_file_bytes(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """Return a file's content, decompressed when it is gzip (by magic number, not by name).

    Parameters
    ----------
    path : file path
    max_bytes : int, optional
        Refuse content longer than this (after decompression) without producing it: a small gzip
        file that would inflate to gigabytes is stopped at ``max_bytes + 1``.

    Raises
    ------
    ChecksumError
        When a gzip stream is truncated or corrupt, or the content is over ``max_bytes``; the
        message names the file.
    """
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(2)
    if magic != GZIP_MAGIC:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ChecksumError(f"{path}: expected at most {max_bytes} bytes, got a file of {size}")
        if max_bytes is None:
            return path.read_bytes()
        with path.open("rb") as handle:  # one byte past the bound: /proc and /sys files say 0 bytes
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ChecksumError(f"{path}: expected at most {max_bytes} bytes, got more (its size said {size})")
        return data
    size = path.stat().st_size
    if max_bytes is not None and size > gzip_size_bound(max_bytes):
        raise ChecksumError(f"{path}: expected a gzip file of at most about {max_bytes} bytes (its content may "
                            f"have at most {max_bytes}), got {size} bytes; refusing to read it")
    raw = path.read_bytes()
    try:
        return _gunzip(raw, path, max_bytes)
    except (EOFError, zlib.error) as err:
        raise ChecksumError(
            f"{path}: corrupt or truncated gzip file ({err}); expected a complete gzip stream, "
            f"got {len(raw)} bytes that do not decompress") from err


def _gunzip(raw: bytes, path: Path, max_bytes: int | None) -> bytes:
    """Every gzip member of ``raw`` decompressed, stopping as soon as the output passes ``max_bytes``."""
    out = bytearray()
    data = raw
    while data:
        inflate = zlib.decompressobj(wbits=31)
        room = 0 if max_bytes is None else max_bytes + 1 - len(out)  # 0: no limit
        out += inflate.decompress(data, room)
        if max_bytes is not None and len(out) > max_bytes:
            raise ChecksumError(f"{path}: expected at most {max_bytes} bytes of content, but the gzip stream "
                                f"inflates to more (a {len(raw)}-byte file); refusing to decompress it")
        if not inflate.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        data = inflate.unused_data
    return bytes(out)


def read_idx_file(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file from disk, gzip-compressed or not, with its header checked."""
    return read_idx(read_file_bytes(path), name=str(path))
