"""The verified-array cache: an IDX file's array, hashed once and then read back from a stamped ``.npy``.

The first time a file is used its header is checked (:mod:`backproplab.data.idx`) and the SHA-256 of
its decompressed content is compared with the expected one; a file that fails either check is never
used. The verified array is kept in the cache (``verified/<key>-<name>.npy`` plus a JSON stamp keyed
by the source's path, size and modification time and the expected checksum, and holding the SHA-256
of the cached array itself). A cached array that does not match its stamp is never returned: it is
rebuilt from the source with a one-line warning on stderr. An unwritable cache only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backproplab.data.idx import parse_idx_header, read_file_bytes
from backproplab.errors import ChecksumError, InputError
from backproplab.files import atomic_open, atomic_write_text

__all__ = ["cache_dir", "warn", "load_verified", "stamp_paths"]


def warn(message: str) -> None:
    """One line on stderr: something was wrong, backproplab coped, and the user should know."""
    print(f"backproplab: warning: {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """The user cache for backproplab: ``$XDG_CACHE_HOME/backproplab`` or ``~/.cache/backproplab``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "backproplab"


def stamp_paths(path: Path, name: str) -> tuple[Path, Path]:
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    folder = cache_dir() / "verified"
    return folder / f"{key}-{name}.npy", folder / f"{key}-{name}.json"


def read_stamped(name: str, path: Path, stat: os.stat_result, expected: str) -> tuple[np.ndarray | None, str | None]:
    """The cached array when its stamp matches the source and the array matches its stamp.

    Returns ``(array, None)`` on success; ``(None, None)`` when there is no usable stamp for this
    source (absent, or the source changed: a normal rebuild); ``(None, why)`` when the stamp matches
    the source but the cached array does not match the stamp (a corrupted cache).
    """
    npy, stamp = stamp_paths(path, name)
    try:
        meta = json.loads(stamp.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or (
                meta.get("source") != str(path.resolve()) or meta.get("size") != stat.st_size
                or meta.get("mtime_ns") != stat.st_mtime_ns or meta.get("sha256") != expected
                or not isinstance(meta.get("array_sha256"), str)):
            return None, None
    except (OSError, ValueError, TypeError):
        return None, None
    try:
        if meta.get("npy_bytes") != npy.stat().st_size:
            return None, f"{npy} has {npy.stat().st_size} bytes, its stamp says {meta.get('npy_bytes')}"
        array = np.load(npy, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - a garbled .npy header raises SyntaxError, TokenError, ...
        return None, f"{npy} does not load ({type(err).__name__}: {str(err)[:200]})"
    if list(array.shape) != meta.get("shape") or array.dtype != np.uint8:
        return None, f"{npy} holds {array.dtype} {list(array.shape)}, its stamp says uint8 {meta.get('shape')}"
    actual = hashlib.sha256(np.ascontiguousarray(array)).hexdigest()
    if actual != meta["array_sha256"]:
        return None, f"{npy}: SHA-256 of the cached array is {actual}, its stamp says {meta['array_sha256']}"
    return array, None


def write_stamped(name: str, path: Path, stat: os.stat_result, expected: str, array: np.ndarray) -> None:
    npy, stamp = stamp_paths(path, name)
    try:
        with atomic_open(npy, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
        meta = {"source": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                "sha256": expected, "npy_bytes": npy.stat().st_size, "shape": list(array.shape),
                "array_sha256": hashlib.sha256(np.ascontiguousarray(array)).hexdigest()}
        atomic_write_text(stamp, json.dumps(meta, indent=1))
    except (OSError, InputError):
        # An unwritable cache (or a device or pipe where a cache file goes) only costs speed: the next
        # load re-hashes.
        return


def load_verified(name: str, path: Path, expected: str, *, max_bytes: int,
                  check_layout: Callable[[str, np.ndarray, Path], None],
                  rehash: bool = False) -> tuple[np.ndarray, str]:
    """Load one IDX file, checked; returns the array and ``"stamp"`` (from the cache) or ``"hashed"``.

    ``expected`` is the SHA-256 of the decompressed content; ``max_bytes`` bounds the decompressed
    size (a gzip bomb stops there); ``check_layout(name, array, path)`` raises
    :class:`~backproplab.errors.ChecksumError` for an array of the wrong dtype, shape or values.
    ``rehash=True`` ignores the cache and hashes the source again.
    """
    stat = path.stat()
    if not rehash:
        array, problem = read_stamped(name, path, stat, expected)
        if array is not None:
            try:
                check_layout(name, array, stamp_paths(path, name)[0])  # cheap: a second look at labels
                return array, "stamp"
            except ChecksumError as err:
                problem = str(err)
        if problem is not None:
            warn(f"the verified-array cache is corrupt ({problem}); rebuilding it from {path}")
    data = read_file_bytes(path, max_bytes=max_bytes)  # a gzip bomb stops here, not at 47 GB
    dtype, shape, offset = parse_idx_header(data, name=str(path))
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 of the decompressed content does not match: expected {expected}, "
            f"got {actual}; delete or replace this file")
    array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).astype(
        dtype.newbyteorder("="), copy=True)
    check_layout(name, array, path)
    write_stamped(name, path, stat, expected, array)
    return array, "hashed"

