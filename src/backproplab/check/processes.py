"""The processes that run a student's file: spawned from scratch, or forked by a fork server.

:class:`SpawnedChild` starts ``python -I child/main.py`` and hears its progress over a pipe;
:class:`ForkedChild` asks the :class:`ForkServer` of its probe file (``child/zygote.py``, started
once, libraries already imported) for a fork and hears its progress over a FIFO. Both run with a
scrubbed environment (:func:`scrubbed_env`) in the submission's temporary folder, in a session of
their own, so the parent can stop the whole group.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backproplab.files import create_new, open_folder, open_regular, read_regular, write_new

CHILD_MAIN = Path(__file__).with_name("child") / "main.py"
ZYGOTE = Path(__file__).with_name("child") / "zygote.py"


def scrubbed_env(work: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
           "CUDA_VISIBLE_DEVICES": ""}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = "1"
    try:  # share the checker's font cache; the child may read it, not write it
        import matplotlib

        env["MPLCONFIGDIR"] = matplotlib.get_configdir()
    except Exception:  # noqa: BLE001 - matplotlib missing or unusable: the child makes its own
        env["MPLCONFIGDIR"] = str(work / ".matplotlib")
    return env


class Events:
    """JSON lines from the child's progress pipe, read with a timeout."""

    TIMEOUT, EOF = "timeout", "eof"

    def __init__(self, fd: int, alive: Callable[[], bool] | None = None):
        self.fd, self.buf, self.alive = fd, b"", alive

    def _fill(self, wait: float) -> bool | None:
        """Read what is there within ``wait`` s: True if something came, False if not, None at EOF."""
        if not select.select([self.fd], [], [], wait)[0]:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        if not chunk:
            return None
        self.buf += chunk
        return True

    #: The longest progress line kept (the child's are under 100 bytes; the channel is the student's
    #: code's to write too, and a line without an end would grow in the checker's memory).
    MAX_LINE = 1 << 16

    def next(self, timeout: float):
        deadline = time.monotonic() + max(timeout, 0.0)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.TIMEOUT
            got = self._fill(min(left, 0.1) if self.alive else left)
            if got is None:
                return self.EOF
            if len(self.buf) > self.MAX_LINE and b"\n" not in self.buf:
                self.buf = b""
                return {"event": "garbage"}
            if got is False and self.alive is not None and not self.alive():
                while self._fill(0.0):  # the child's last words
                    pass
                if b"\n" not in self.buf:
                    return self.EOF
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            event = json.loads(line) if len(line) <= self.MAX_LINE else None
        except (ValueError, RecursionError):
            event = None
        return event if isinstance(event, dict) else {"event": "garbage"}

    def wait(self, wanted: set[str], timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(deadline - time.monotonic())
            if ev in (self.TIMEOUT, self.EOF):
                return ev
            if isinstance(ev.get("event"), str) and ev["event"] in wanted:  # {"event": ["done"]}: TypeError
                return ev


class SpawnedChild:
    """One running child process and its progress pipe."""

    def __init__(self, work: Path, spec: dict):
        read_fd, write_fd = os.pipe()
        spec = dict(spec, progress_fd=write_fd)
        write_new(work / "spec.json", json.dumps(spec))  # the folder's earlier child may have planted a link
        self.stderr_path = work / "_stderr.txt"
        with os.fdopen(create_new(self.stderr_path), "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD_MAIN), "spec.json"], cwd=work, env=scrubbed_env(work),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(write_fd,),
                start_new_session=True)
        os.close(write_fd)
        self.events = Events(read_fd)
        self.read_fd = read_fd
        self.pid = self.proc.pid

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def describe_end(self, cpu_seconds: int) -> str:
        """Why the child ended, for the item it was running."""
        return describe_end(self.exit_code(), self.stderr_path, cpu_seconds)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        os.close(self.read_fd)


class ForkServer:
    """The fork server of one probe file (:mod:`backproplab.check.child.zygote`), started once."""

    def __init__(self, probes: Path, start_timeout: float):
        self.dir = Path(tempfile.mkdtemp(prefix="backproplab-zygote-"))
        self.proc = subprocess.Popen([sys.executable, "-I", str(ZYGOTE), str(probes)], cwd=self.dir,
                                     env=scrubbed_env(self.dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True, bufsize=0)
        self.lines = Events(self.proc.stdout.fileno())
        self.lock = threading.Lock()
        if not isinstance(self.lines.next(start_timeout), dict):
            self.close()
            raise OSError("the checker's fork server did not start")

    def fork(self, work: Path, spec_name: str, exit_path: str) -> int:
        """Fork a child that serves ``work/spec_name``, whose exit status goes to ``exit_path``; its pid."""
        with self.lock:
            request = {"work": str(work), "spec": spec_name, "exit": exit_path}
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            answer = self.lines.next(30.0)
        if not isinstance(answer, dict) or not isinstance(answer.get("pid"), int):
            raise OSError("the checker's fork server did not answer")
        return answer["pid"]

    def stop(self, pid: int) -> None:
        """Ask the server to kill its child ``pid`` and that child's session (no answer comes): the server
        is the parent, so it knows the pid is still that child's, which the checker cannot."""
        with self.lock:
            try:
                self.proc.stdin.write((json.dumps({"kill": pid}) + "\n").encode())
            except OSError:  # the server is gone, and with it the children it could stop
                pass

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_SERVERS: dict[str, ForkServer] = {}
_SERVERS_LOCK = threading.Lock()


def fork_server(probes: Path, start_timeout: float) -> ForkServer | None:
    """The running fork server for ``probes`` (started on first use), or None if it cannot start."""
    with _SERVERS_LOCK:
        z = _SERVERS.get(str(probes))
        if z is not None and z.proc.poll() is None:
            return z
        try:
            z = _SERVERS[str(probes)] = ForkServer(probes, start_timeout)
        except OSError:
            return None
        return z


@atexit.register
def close_fork_servers() -> None:
    """Stop every fork server this process started. A Ctrl-C meanwhile (the checker is exiting) ends the
    waiting, not the stopping: each server's stdin is closed, on which it stops its children and removes
    their folders by itself (the KeyboardInterrupt was a traceback "ignored in atexit callback")."""
    with _SERVERS_LOCK:
        try:
            for z in _SERVERS.values():
                z.close()
        except KeyboardInterrupt:
            for z in _SERVERS.values():
                try:
                    z.proc.stdin.close()
                except OSError:
                    pass
        _SERVERS.clear()


class ForkedChild:
    """A child forked by the zygote; progress over a FIFO, exit status from the file the zygote writes.

    That file is in the fork server's own folder, which the child can neither write nor read: in the
    child's folder, a status the student's code wrote itself made a live child look ended, so the
    checker moved on without stopping it (one process left running per item, each with its memory,
    until the checker exited)."""

    def __init__(self, work: Path, spec: dict, zygote: ForkServer, n: int):
        fifo, self.exit_path = f"_events{n}", zygote.dir / f"{work.name}-exit{n}.json"
        for stale in (work / fifo, self.exit_path):  # a child that died before may have planted the FIFO
            stale.unlink(missing_ok=True)
        os.mkfifo(work / fifo, 0o600)
        self.read_fd = os.open(work / fifo, os.O_RDWR | os.O_NONBLOCK)  # RDWR: no EOF before the child opens it
        write_new(work / f"spec{n}.json", json.dumps(dict(spec, events_path=fifo)))  # a planted link is replaced
        self.stderr_path = work / "_stderr.txt"
        self.pid, self.zygote = zygote.fork(work, f"spec{n}.json", str(self.exit_path)), zygote
        self.events = Events(self.read_fd, alive=lambda: not self.exit_path.exists())

    def exit_code(self, wait: float = 5.0) -> int | None:
        deadline = time.monotonic() + wait
        while not self.exit_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            return int(json.loads(read_child_file(self.exit_path, 1000))["code"])
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None

    def describe_end(self, cpu_seconds: int) -> str:
        return describe_end(self.exit_code(), self.stderr_path, cpu_seconds)

    def close(self) -> None:
        if not self.exit_path.exists():
            self.zygote.stop(self.pid)  # the child too, in case it has not made its session yet
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.exit_code(wait=5.0)
        self.exit_path.unlink(missing_ok=True)
        os.close(self.read_fd)


def describe_end(code: int | None, stderr_path: Path, cpu_seconds: int) -> str:
    """Why a child ended (its exit code, negative for a signal), for the item it was running."""
    if code is None:
        text = "the process stopped answering"
    elif code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:  # the exit file is in the work folder: the student's code could write it
            sig = None
        text = {signal.SIGXCPU: f"the process used more than its {cpu_seconds} s of CPU time",
                signal.SIGKILL: "the process was killed (out of memory?)",
                signal.SIGSEGV: "the process crashed (segmentation fault)"}.get(
            sig, f"killed by {sig.name}" if sig else f"killed by signal {-code}")
    else:
        text = f"the process exited with status {code} (os._exit or a crash)"
    tail = _tail(stderr_path)
    return f"{text}; its last words: {tail}" if tail else text


def _tail(path: Path, n: int = 400) -> str:
    try:
        fd = open_regular(path, follow_links=False)
    except OSError:
        return ""
    try:
        os.lseek(fd, max(0, os.fstat(fd).st_size - n), os.SEEK_SET)
        data = os.read(fd, n)
    except OSError:
        return ""
    finally:
        os.close(fd)
    return " ".join(data.decode("utf-8", "replace").split())


#: The most entries of a child's folder counted each time (beyond them the child is over its limit anyway).
MAX_ENTRIES = 20_000


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _scan(fd: int, tally: list[int]) -> list[str]:
    """Add the bytes and the count of the entries of the open folder ``fd`` to ``tally``; its folders' names."""
    folders = []
    with os.scandir(fd) as listing:
        for entry in listing:
            tally[1] += 1
            if tally[1] > MAX_ENTRIES:
                break
            try:
                tally[0] += entry.stat(follow_symlinks=False).st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
            except OSError:
                continue
    return folders


def disk_used(work: Path, pid: int | None) -> tuple[int, int]:
    """(bytes on disk, entries) of ``work`` and of the files process ``pid`` holds open that are no longer in
    any folder (written, then removed: the space stays taken while they are open). Links are not followed;
    the count stops past :data:`MAX_ENTRIES`. One open folder at a time, down by name and up by ``..``:
    a child's tree may be thousands of levels deep, past what a path can name (and a walk by paths
    took seconds a look at that depth)."""
    tally = [0, 0]
    try:
        fd = os.open(work, _FOLDER)
    except OSError:
        return 0, 0
    levels = [(os.fstat(fd), _scan(fd, tally))]  # each open level: its identity, its folders still to see
    while levels and tally[1] <= MAX_ENTRIES:
        here, todo = levels[-1]
        if todo:
            try:
                inner = open_folder(todo.pop(), fd)
            except OSError:
                continue
            os.close(fd)
            fd = inner
            levels.append((os.fstat(fd), _scan(fd, tally)))
            continue
        levels.pop()
        if not levels:
            break
        try:
            outer = os.open("..", _FOLDER & ~os.O_NOFOLLOW, dir_fd=fd)
        except OSError:  # removed while counted: what was counted stands
            break
        os.close(fd)
        fd = outer
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (levels[-1][0].st_dev, levels[-1][0].st_ino):
            break  # moved while counted: what was counted stands
    os.close(fd)
    return tally[0] + _removed_but_open(pid), tally[1]


#: How /proc/PID/map_files names shared memory that is no file on a disk (shared anonymous maps, SysV).
_SHARED_MEMORY = ("/dev/zero", "/SYSV")


def _removed_but_open(pid: int | None) -> int:
    """Bytes on disk of the regular files process ``pid`` holds open or mapped that are in no folder any
    more (40 files of 60 MiB mapped, closed and removed held 2.4 GB past a 1 GiB count), each file once."""
    seen: dict[tuple[int, int], int] = {}
    for holder in ("fd", "map_files"):
        folder = Path(f"/proc/{pid}/{holder}")
        try:
            names = os.listdir(folder) if pid else []
        except OSError:
            continue
        for name in names[:MAX_ENTRIES]:
            try:
                st = os.stat(folder / name)  # the open or mapped file itself, even one removed from its folder
                if holder == "map_files" and os.readlink(folder / name).startswith(_SHARED_MEMORY):
                    continue  # memory (mmap(-1, n)), not a file on a disk: RLIMIT_AS counts it
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
                seen[(st.st_dev, st.st_ino)] = st.st_blocks * 512
    return sum(seen.values())


def threads(pid: int) -> int:
    """The threads process ``pid`` runs now (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def read_child_file(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of a file in a child's folder. The child's code may have put a pipe
    there (a plain read would wait for ever: the whole batch stopped) or a link to a file it may not
    read: both raise :class:`OSError`, as a missing file does."""
    return read_regular(path, max_bytes, follow_links=False)
