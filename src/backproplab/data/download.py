"""Downloading one gzip file from a list of mirrors: bounded in time, verified, never half-written.

Three limits stop a mirror that answers badly, and the next mirror is tried:

* ``timeout``: seconds to wait for the connection, and for each read;
* ``deadline``: seconds for the whole file from one mirror (a mirror that sends a byte now and
  then never trips ``timeout``, so this is what ends it);
* ``min_rate``: bytes per second, averaged since the request, checked once ``timeout`` seconds
  have passed (a dripping mirror is left long before its deadline).

Limits are checked after each read, and a read waits at most ``timeout``, so a file ends at most
``timeout`` seconds after its deadline.

Size is bounded too, by the file's known content size ``max_bytes``: a body announced or sent past
``gzip_size_bound(max_bytes)`` (the largest gzip file the loader reads), a gzip stream that inflates
past ``max_bytes``, and any byte after the end of the gzip stream that does not start another gzip member
(the loader reads every member of a file, as ``gzip`` does) are refused on arrival, before they are
written, and the next mirror is tried. A mirror (the first one is plain http) cannot fill the disk.

The body is streamed into ``.<name>.<pid>-<random>.part`` beside the destination and renamed into
place only after the SHA-256 of its decompressed content matched. The part file is removed on every
way out: an error, Ctrl-C (KeyboardInterrupt) and SIGTERM (caught while downloading when nothing
else handles it, then delivered again, so the process still ends by that signal). A part file
left by a process killed outright (SIGKILL, a power cut) is removed by the next download of the
same file once its process is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tqdm import tqdm

from backproplab import __version__
from backproplab.data.idx import GZIP_MAGIC, gzip_size_bound
from backproplab.errors import ChecksumError, InputError

#: Seconds a download waits for a connection or for the next bytes before giving up on a mirror.
DEFAULT_TIMEOUT = 30.0
#: Seconds one file may take from one mirror (26 MB at 15 kB/s).
DEFAULT_DEADLINE = 1800.0
#: Bytes per second a mirror must average once ``timeout`` seconds have passed.
DEFAULT_MIN_RATE = 2048.0
#: A part file without a live owner, or not written to for this long (seconds), is stale.
STALE_PART_S = 3600.0
_CHUNK = 1 << 16


class TooSlow(Exception):
    """A mirror missed the deadline or the minimum rate; the message says which and by how much."""


class TooLarge(Exception):
    """A mirror announced or sent more than the file can be; the message says how much."""


class _Terminated(BaseException):
    """SIGTERM arrived while downloading: unwind (removing the part file), then end by that signal."""


@dataclass(frozen=True)
class Limits:
    """How long one mirror may take for one file (see the module docstring); checked on creation."""

    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    min_rate: float = DEFAULT_MIN_RATE

    def __post_init__(self) -> None:
        for arg in ("timeout", "deadline"):
            value = getattr(self, arg)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(f"{arg} must be a positive number of seconds, got {value!r}")
        rate = self.min_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0 <= rate < math.inf):
            raise InputError(f"min_rate must be a finite number of bytes per second >= 0, got {rate!r}")


def reason(err: BaseException, timeout: float) -> str:
    """One line saying why a mirror failed."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        inner = err.reason
        if isinstance(inner, TimeoutError):
            return f"no answer within {timeout:g} s"
        return f"cannot connect: {inner}"
    if isinstance(err, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(err, (TooSlow, TooLarge)):
        return str(err)
    return f"{type(err).__name__}: {err}"


def ensure_writable(directory: Path, hint: str) -> str | None:
    """None when files can be created in ``directory``; otherwise why not (ending with ``hint``)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        return f"the cache directory {directory} is not writable ({err.strerror or err}); {hint}"
    return None


def try_mirrors(name: str, directory: Path, mirrors: Sequence[str], expected: str, limits: Limits,
                progress: bool, *, max_bytes: int) -> tuple[Path | None, list[tuple[str, str]]]:
    """Download ``<name>.gz`` into ``directory`` from the first mirror that gives the right content.

    ``max_bytes`` is the most the decompressed content may be (its known size); it bounds the body.

    Returns
    -------
    (path or None, failures)
        The verified file (None when every mirror failed) and ``(url, reason)`` for each failure.
    """
    dest = directory / f"{name}.gz"
    sweep_stale_parts(dest)
    failures: list[tuple[str, str]] = []
    with _sigterm_unwinds():
        for base in mirrors:
            url = f"{base if base.endswith('/') else base + '/'}{name}.gz"
            try:
                fetch(url, dest, name, expected, limits, progress, max_bytes)
            except Exception as err:  # noqa: BLE001 - any failure moves on to the next mirror
                failures.append((url, reason(err, limits.timeout)))
                continue
            return dest, failures
    return None, failures


def fetch(url: str, dest: Path, name: str, expected: str, limits: Limits, progress: bool, max_bytes: int) -> None:
    """Stream ``url`` (a gzip file of at most ``max_bytes`` decompressed) into ``dest`` via a part file,
    checking as it goes."""
    start = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": f"backproplab/{__version__}"})
    with urllib.request.urlopen(request, timeout=min(limits.timeout, limits.deadline)) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        body = _Body(url, max_bytes)
        body.check_announced(total)
        with part_file(dest) as out, tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{name}.gz",
                disable=not progress, leave=False) as bar:
            while True:
                _check_pace(url, body.received, time.monotonic() - start, limits)
                chunk = response.read1(_CHUNK)  # what has arrived, not a full 64 kB: limits stay live
                if not chunk:
                    break
                body.take(chunk)  # checked before it is written
                out.write(chunk)
                bar.update(len(chunk))
            body.finish(total, expected)


def _check_pace(url: str, received: int, elapsed: float, limits: Limits) -> None:
    if elapsed > limits.deadline:
        raise TooSlow(f"not finished within the deadline of {limits.deadline:g} s per file "
                      f"({received} bytes in {elapsed:.1f} s)")
    if elapsed > limits.timeout and received < limits.min_rate * elapsed:
        raise TooSlow(f"too slow: {received} bytes in {elapsed:.1f} s, below the minimum rate of "
                      f"{limits.min_rate:g} bytes/s")


class _Body:
    """One gzip body as it arrives: its size, decompressed size and SHA-256, checked chunk by chunk.

    The body may have at most ``gzip_size_bound(max_bytes)`` bytes, its content at most ``max_bytes``,
    and what follows the end of a gzip member must be another member (the loader reads a file of several,
    as ``gzip`` does, but would refuse other trailing bytes for ever).
    """

    def __init__(self, url: str, max_bytes: int) -> None:
        self.url, self.max_bytes = url, max_bytes
        self.received = 0  # bytes of the body
        self.produced = 0  # bytes of content decompressed from them
        self.inflate = zlib.decompressobj(wbits=31)
        self.member_start = 0  # where the member being inflated starts in the body
        self.digest = hashlib.sha256()

    @property
    def bound(self) -> int:
        return gzip_size_bound(self.max_bytes)

    def _too_large(self, what: str) -> TooLarge:
        return TooLarge(f"too large: {what}, but a gzip file of this file's {self.max_bytes} bytes of content "
                        f"has at most {self.bound}")

    def check_announced(self, total: int | None) -> None:
        if total is not None and total > self.bound:
            raise self._too_large(f"Content-Length announces {total} bytes")

    def take(self, chunk: bytes) -> None:
        if self.received == 0 and chunk[:2] != GZIP_MAGIC[: len(chunk)]:
            raise ChecksumError(f"{self.url}: expected a gzip file, got bytes starting {chunk[:4].hex(' ')}")
        if self.received + len(chunk) > self.bound:
            raise self._too_large(f"sent more than {self.bound} bytes (stopped there)")
        data, offset = chunk, self.received  # offset: where ``data`` starts in the body
        while data:
            if self.inflate.eof:  # a member ended: what follows must be the next one
                self.inflate, self.member_start = zlib.decompressobj(wbits=31), offset
            try:
                content = self.inflate.decompress(data, self.max_bytes + 1 - self.produced)  # never a byte more
            except zlib.error as err:
                if self.member_start:
                    raise self._trailing(self.member_start) from err
                raise
            self.produced += len(content)
            if self.produced > self.max_bytes:
                raise TooLarge(f"too large: the gzip stream inflates to more than this file's {self.max_bytes} "
                               f"bytes of content after {self.received + len(chunk)} bytes received (stopped there)")
            self.digest.update(content)
            offset += len(data) - len(self.inflate.unused_data)
            data = self.inflate.unused_data
        self.received += len(chunk)

    def _trailing(self, end: int) -> ChecksumError:
        return ChecksumError(f"{self.url}: data after the end of the gzip stream at byte {end}; "
                             f"expected the file to end there or another gzip member to start")

    def finish(self, total: int | None, expected: str) -> None:
        if total is not None and self.received != total:
            raise ChecksumError(f"{self.url}: truncated body: expected {total} bytes, got {self.received}")
        self.digest.update(self.inflate.flush())  # nothing left over: take() consumed all input
        if not self.inflate.eof:
            raise ChecksumError(f"{self.url}: truncated gzip stream after {self.received} bytes")
        actual = self.digest.hexdigest()
        if actual != expected:
            raise ChecksumError(
                f"{self.url}: SHA-256 of the decompressed content does not match: expected {expected}, got {actual}")


@contextlib.contextmanager
def part_file(dest: Path) -> Iterator[IO[bytes]]:
    """Write to ``.<dest name>.<pid>-<random>.part``; rename it onto ``dest`` on success, else remove it."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_PART = re.compile(r"\.(?P<pid>\d+)-[0-9a-f]+\.part$")


def sweep_stale_parts(dest: Path) -> list[Path]:
    """Remove part files of ``dest`` whose process is gone, or that nobody wrote to for an hour.

    Returns the files removed. Part files of a live process (another download in progress) stay.
    """
    removed = []
    if not dest.parent.is_dir():
        return removed
    for part in dest.parent.glob(f".{glob_escape(dest.name)}.*.part"):
        match = _PART.search(part.name)
        try:
            stale = (match is None or not _alive(int(match["pid"]))
                     or time.time() - part.stat().st_mtime > STALE_PART_S)
            if stale:
                part.unlink()
                removed.append(part)
        except OSError:
            continue
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters made literal."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or an odd number): leave it be
    return True


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While active, SIGTERM unwinds the stack (part files are removed), then ends the process by SIGTERM.

    Only when the default action is in place (a caller with its own handler keeps it) and only in
    the main thread (the only one where Python runs signal handlers).
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, _frame) -> None:
        raise _Terminated(signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # not reached: the default action ends the process
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
