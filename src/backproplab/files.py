"""Atomic file writing: a reader never sees a half-written file.

Everything backproplab writes (downloads, checkpoints, reports) goes through a temporary file in
the destination directory that is renamed into place only once complete.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from backproplab.errors import InputError


def _file_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()  # what open() would give; mkstemp's own 0600 would hide reports from a web server

_Held = tuple[Path, list[tuple[str, Path]]]
_HELD: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("_HELD", default=None)
"""Inside :func:`replaced_together`: its folder, and the renames :func:`atomic_open` holds back for it
(temporary file, path)."""


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it onto ``path`` on success.

    On any exception (including KeyboardInterrupt, which a SIGTERM becomes in the CLI) the temporary
    file is removed and ``path`` is left as it was; an ``OSError`` without a file name (a full disk
    during ``write``) is raised again naming ``path``. Inside :func:`replaced_together` a rename into
    its folder waits for the end of that block, with the other files written there. A ``path`` that
    is (or links to) a device, a pipe or a socket is refused (:class:`InputError`) before anything is
    written: the rename would replace the node itself, and as root ``--json /dev/null`` would turn
    ``/dev/null`` into a file.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        held = _HELD.get()
        if held is None or not path.parent.resolve().is_relative_to(held[0]):
            os.replace(tmp, path)
        elif path.is_dir() and not path.is_symlink():  # the rename would fail later, far from this write
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        else:
            held[1].append((tmp, path))
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename in (None, tmp):  # e.g. ENOSPC in write(): name the file
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise


@contextlib.contextmanager
def replaced_together(folder: str | os.PathLike | None) -> Iterator[list[Path]]:
    """Every file :func:`atomic_open` writes into ``folder`` (or below it) inside the block replaces its
    path only when the block ends without an exception, all of them at once, with Ctrl-C and SIGTERM
    held off for those renames (a signal that comes then is delivered after them); an exception or a
    Ctrl-C before that removes the new files and leaves every path as it was. So a lesson's ``--out``
    (its figures, its page and its CSV) holds the earlier run's files or this run's, never some of each.
    Files written elsewhere (a data cache) are renamed at once, as always; ``folder=None`` holds nothing.

    Yields a list that holds, after the block, the paths written into ``folder``, in order. Inside
    another such block the files join that one (and the list stays empty).
    """
    written: list[Path] = []
    if folder is None or _HELD.get() is not None:
        yield written
        return
    held: list[tuple[str, Path]] = []
    token = _HELD.set((Path(folder).resolve(), held))
    try:
        yield written
        with _signals_held():
            while held:
                tmp, path = held[0]
                os.replace(tmp, path)
                written.append(held.pop(0)[1])
    finally:
        _HELD.reset(token)
        for tmp, _ in held:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM recorded, not acted on, inside the block; each is raised again after it (so
    the handlers in place, e.g. the CLI's, see it then). Only the main thread handles signals; in
    another thread (or for a handler installed outside Python) the block does nothing special."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) is not None}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            signal.raise_signal(sig)


def refuse_special(path: Path, name: str | None = None) -> None:
    """Raise :class:`InputError` when ``path`` is, or is a link to, something other than a regular file
    or a directory (a device such as ``/dev/null``, a pipe, a socket): writing a file there by rename
    would replace the node. ``name`` is the argument named in the message (``"json"`` gives ``--json``)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, or a dangling link: the rename makes a new file (or replaces the link)
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    who = f"--{name} " if name else ""
    raise InputError(f"{who}{str(path)!r} is {kind}; expected a path to a regular file (backproplab writes "
                     f"a new file and renames it into place, which would replace {str(path)!r} itself)")


def open_regular(path: str | os.PathLike, *, follow_links: bool = True) -> int:
    """A read-only descriptor of the regular file ``path``.

    A pipe or a device is refused without blocking (opened non-blocking, then checked: a plain
    ``open`` of a pipe waits for a writer for ever), and so is a symbolic link, as the file or as the
    folder holding it, when ``follow_links`` is False (a file that another process controls may be
    swapped for a link to anything; a graded child that made its ``out`` folder a link to a classmate's
    had the checker read their results as its own). Raises :class:`OSError` naming the path; the caller
    closes the descriptor.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow_links else os.O_NOFOLLOW)
    if follow_links:
        fd = os.open(path, flags)
    else:
        path = Path(path)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        try:
            fd = os.open(path.name, flags, dir_fd=folder)
        finally:
            os.close(folder)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file (a pipe, a device or a folder)", str(path))
    return fd


def create_new(path: str | os.PathLike) -> int:
    """A write-only descriptor of a new, empty file at ``path``, whatever was there before: a file or a
    symbolic link is removed first (never followed: writing through a link that another process planted
    would write wherever it points). Mode 0o600; the caller closes the descriptor."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)


def write_new(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to a new file at ``path`` made by :func:`create_new`."""
    with os.fdopen(create_new(path), "w", encoding="utf-8") as handle:
        handle.write(text)


def read_regular(path: str | os.PathLike, max_bytes: int, *, follow_links: bool = True) -> bytes:
    """At most ``max_bytes + 1`` bytes of the regular file ``path`` (see :func:`open_regular`): one byte
    past the bound tells the caller the file is over it, even a file whose size says 0 (/proc's)."""
    fd = open_regular(path, follow_links=follow_links)
    try:
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def open_folder(name: str, dir_fd: int) -> int:
    """``os.open`` of the folder ``name`` in the open folder ``dir_fd``, never following a link. A folder
    whose mode shuts its owner out (a graded child's ``os.mkdir("d", 0o300)``: its gigabytes were neither
    counted nor removed) is given its owner's rwx back first, when the caller owns it."""
    try:
        return os.open(name, _FOLDER, dir_fd=dir_fd)
    except PermissionError:
        handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)  # the folder itself: handle names no link
        finally:
            os.close(handle)
        return os.open(name, _FOLDER, dir_fd=dir_fd)


def _unlink(name: str, fd: int) -> None:
    """Remove the entry ``name`` of the open folder ``fd``; a folder that refuses its owner that is given
    rwx back first. What cannot be removed is left."""
    try:
        os.unlink(name, dir_fd=fd)
    except PermissionError:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o700)
            os.unlink(name, dir_fd=fd)
    except OSError:
        pass


def remove_tree(path: str | os.PathLike) -> None:
    """Remove the folder ``path`` and what it holds, however deep, never following a link; what cannot be
    removed is left. One open folder at a time, no recursion: ``shutil.rmtree`` recurses once a level and
    raised RecursionError, even with ``ignore_errors``, on the 3,000-deep tree a graded child had made in
    its working folder (no grade at all, and the folder left behind); paths that deep are too long for
    the system calls, so the walk goes down by name and up by ``..``."""
    try:
        fd = os.open(path, _FOLDER)
    except OSError:
        return
    names: list[str] = []  # the path from ``path`` down to the folder ``fd``
    stuck: set[tuple[int, int]] = set()  # folders that could not be entered or removed
    while True:
        down = None
        with os.scandir(fd) as listing:
            for entry in listing:
                if not entry.is_dir(follow_symlinks=False):
                    _unlink(entry.name, fd)
                elif down is None and (entry.stat(follow_symlinks=False).st_dev, entry.inode()) not in stuck:
                    down = entry
        if down is not None:
            try:
                inner = open_folder(down.name, fd)
            except OSError:
                stuck.add((down.stat(follow_symlinks=False).st_dev, down.inode()))
                continue
            os.close(fd)
            fd = inner
            names.append(down.name)
            continue
        if not names:
            break
        here = os.fstat(fd)
        outer = os.open("..", _FOLDER & ~os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = outer
        name = names.pop()
        try:
            os.rmdir(name, dir_fd=fd)
        except PermissionError:  # the folder holding it shuts its owner out: rwx back, then once more
            try:
                os.fchmod(fd, 0o700)
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add((here.st_dev, here.st_ino))
        except OSError:
            stuck.add((here.st_dev, here.st_ino))
    os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)


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


def check_writable_dir(path: str | os.PathLike, name: str = "out", flag: str | None = None) -> Path:
    """Check, before any work, that ``path`` is (or can be made) a writable directory.

    ``path`` may be missing: then its nearest existing ancestor must be a writable directory. Nothing
    is created (a nameless temporary file tests that writing works, and is gone at once). Raises
    :class:`~backproplab.errors.InputError` naming ``name`` (and the option ``flag``, default
    ``--<name>``) when ``path`` is a file, lies below a file, or cannot be written; returns ``Path(path)``.
    """
    flag = flag or f"--{name}"
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"{name} must be a folder path, got {type(path).__name__}")
    path = Path(path)
    probe = path
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        if probe.is_symlink() and not probe.exists():
            where = f"{str(probe)!r} is a link to {os.readlink(probe)!r}, which does not exist"
        else:
            kind = "file" if probe.is_file() else "device, pipe or socket"  # /dev/null was 'a file'
            where = f"{str(path)!r} is a {kind}" if probe == path else \
                f"{str(path)!r} lies below the {kind} {str(probe)!r}"
        raise InputError(f"{name} must be a directory, but {where}; choose another {flag}")
    what = "it" if probe == path else f"its parent {str(probe)!r}"
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{name}: cannot write into {str(path)!r}: {what} is not writable; choose another {flag}")
    try:  # root passes os.access everywhere, also in /proc or a read-only mount: try a nameless file
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as err:
        raise InputError(f"{name}: cannot write into {str(path)!r}: {what} refused a file "
                         f"({err.strerror or err}); choose another {flag}") from None
    return path


def safe_stem(name: object, limit: int = 100) -> str:
    """A file or folder name made from ``name``: letters, digits and ``_.-`` only, no leading dot,
    at most ``limit`` characters; ``"figure"`` when nothing is left. So ``"a/../../victim"`` becomes
    ``"a-victim"``: a name from a user's file can never leave the folder it is written into."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)[: 4 * limit]).strip("-.")[:limit].rstrip("-.")
    return stem or "figure"


MAX_OVERWRITE_BYTES = 64 * 2**20
"""The largest existing file an output option reads to see whether it is JSON it may replace."""


def _not_ours(path: Path, keys: Sequence[str]) -> str | None:
    """Why the existing ``path`` cannot be an earlier JSON output of ours, or None when it can be: it is
    over :data:`MAX_OVERWRITE_BYTES`, not JSON, a Jupyter notebook (JSON too, and someone's work), or
    JSON without the ``keys`` our output has (in an object, or in each object of a list)."""
    try:
        if path.stat().st_size > MAX_OVERWRITE_BYTES:
            return f"is larger than {MAX_OVERWRITE_BYTES} bytes"
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return "is not a JSON file"
    if isinstance(doc, dict) and "nbformat" in doc:
        return "is a Jupyter notebook"
    docs = doc if isinstance(doc, list) else [doc]
    if keys and not all(isinstance(d, dict) and all(k in d for k in keys) for d in docs):
        return f"is JSON without the keys {', '.join(map(repr, keys))} of what this option writes"
    return None


def check_output_file(path: str | os.PathLike, name: str,
                      protect: Sequence[tuple[str | os.PathLike, str]] = (), keys: Sequence[str] = ()) -> Path:
    """Check, before any work, that the JSON file ``--<name> PATH`` can be written and loses nothing.

    Refused (:class:`InputError` naming ``--<name>``): a directory; a device, pipe or socket (see
    :func:`refuse_special`); a path whose folder cannot be written (:func:`check_writable_dir`); the
    same file as one of ``protect`` (``(path, what it is)``: e.g. the submission being graded); and an
    existing file that is not an earlier output of ours: not JSON, a notebook, or JSON without ``keys``
    (the top-level keys the option writes: a user's ``package.json`` is never replaced). Returns
    ``Path(path)``.
    """
    if isinstance(path, str) and not path.strip():  # Path("") is the current folder: 'got the directory .'
        raise InputError(f"--{name} must be a file path, got an empty one")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--{name} must be a file path, got the directory {str(path)!r}; "
                         f"name a file, e.g. {str(path / (name + '.json'))!r}")
    refuse_special(path, name)
    check_writable_dir(path.parent, f"the folder of --{name}", flag=f"--{name}")
    if not path.exists():
        return path
    for other, what in protect:
        with contextlib.suppress(OSError):
            if os.path.samefile(path, other):
                raise InputError(f"--{name} {str(path)!r} is {what}; writing there would overwrite it: "
                                 f"choose another --{name}")
    why = _not_ours(path, keys)
    if why is not None:
        raise InputError(f"--{name} {str(path)!r} exists and {why}, so it is not an earlier output to replace; "
                         f"expected a new file name or an earlier JSON output: choose another --{name} or "
                         "remove the file")
    return path
