"""Atomic file writing: a reader never sees a half-written file.

Everything backproplab writes (downloads, checkpoints, reports) goes through a temporary file in
the destination directory that is renamed into place only once complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from backproplab.errors import InputError


def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()  # what open() would give; mkstemp's own 0600 would hide reports from a web server


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it onto ``path`` on success.

    On any exception (including KeyboardInterrupt, which a SIGTERM becomes in the CLI) the temporary
    file is removed and ``path`` is left as it was; an ``OSError`` without a file name (a full disk
    during ``write``) is raised again naming ``path``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename in (None, tmp):  # e.g. ENOSPC in write(): name the file
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def check_writable_dir(path: str | os.PathLike, name: str = "out") -> Path:
    """Check, before any work, that ``path`` is (or can be made) a writable directory.

    ``path`` may be missing: then its nearest existing ancestor must be a writable directory. Nothing
    is created (a nameless temporary file tests that writing works, and is gone at once). Raises
    :class:`~backproplab.errors.InputError` naming ``name`` when ``path`` is a file,
    lies below a file, or cannot be written; returns ``Path(path)``.
    """
    path = Path(path)
    probe = path
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = f"{str(path)!r} is a file" if probe == path else f"{str(path)!r} lies below the file {str(probe)!r}"
        raise InputError(f"{name} must be a directory, but {where}; choose another --{name}")
    what = "it" if probe == path else f"its parent {str(probe)!r}"
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot write into {str(path)!r}: {what} is not writable; choose another --{name}")
    try:  # root passes os.access everywhere, also in /proc or a read-only mount: try a nameless file
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as err:
        raise InputError(f"{name}: cannot write into {str(path)!r}: {what} refused a file "
                         f"({err.strerror or err}); choose another --{name}") from None
    return path


def safe_stem(name: object, limit: int = 100) -> str:
    """A file or folder name made from ``name``: letters, digits and ``_.-`` only, no leading dot,
    at most ``limit`` characters; ``"figure"`` when nothing is left. So ``"a/../../victim"`` becomes
    ``"a-victim"``: a name from a user's file can never leave the folder it is written into."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)[: 4 * limit]).strip("-.")[:limit].rstrip("-.")
    return stem or "figure"
