"""Run a student's file in a child process with limits and collect what its probes returned.

The child (:mod:`backproplab.check.child.main`) starts with ``python -I`` in an empty temporary
working directory, with a scrubbed environment, its own resource limits and an audit hook; it tells
the parent over a pipe when it is ready and when each item starts and ends. The parent enforces the
wall clock: an item that runs past its limit, or a child that dies during an item (``os._exit``, a
signal, the CPU or memory limit), costs that item only; the parent starts a fresh child for the items
left. What comes back is JSON and ``.npz`` read with ``allow_pickle=False``: data, never code.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHILD_MAIN = Path(__file__).with_name("child") / "main.py"
ZYGOTE = Path(__file__).with_name("child") / "zygote.py"
MAX_SOURCE_BYTES = 2_000_000


@dataclass(frozen=True)
class Limits:
    """Limits for one submission's child processes.

    Attributes
    ----------
    import_timeout : seconds of wall clock for starting the child and importing the student's file
    overall_timeout : seconds of wall clock for all of a submission's items together (None: the sum
        of the item limits plus ``import_timeout``)
    memory_mb : address-space limit (RLIMIT_AS) in MiB
    file_mb : largest file the child may write (RLIMIT_FSIZE) in MiB
    max_processes : processes/threads the child may add to the user's count (RLIMIT_NPROC; no
        effect for root)
    output_cap : characters of the student's printed output kept per item
    fork_server : fork the children from a process that has imported the libraries once (saves
        torch's import, seconds, per submission); False starts each child from scratch
    """

    import_timeout: float = 120.0
    overall_timeout: float | None = None
    memory_mb: int = 6144
    file_mb: int = 64
    max_processes: int = 64
    output_cap: int = 4000
    fork_server: bool = True


@dataclass
class ProbeOutput:
    """What the child returned for one item, or why it returned nothing (``failure``).

    ``seconds`` is the item's wall clock in the child; ``cpu`` the child's CPU seconds so far (since
    it was started or forked), read when the item ended.
    """

    values: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    error: dict | None = None
    stdout: str = ""
    seconds: float = 0.0
    cpu: float = 0.0
    failure: str = ""


def _scrubbed_env(work: Path) -> dict[str, str]:
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


class _Events:
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

    def next(self, timeout: float):
        deadline = time.monotonic() + max(timeout, 0.0)
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.TIMEOUT
            got = self._fill(min(left, 0.1) if self.alive else left)
            if got is None:
                return self.EOF
            if got is False and self.alive is not None and not self.alive():
                while self._fill(0.0):  # the child's last words
                    pass
                if b"\n" not in self.buf:
                    return self.EOF
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        return event if isinstance(event, dict) else {"event": "garbage"}

    def wait(self, wanted: set[str], timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(deadline - time.monotonic())
            if ev in (self.TIMEOUT, self.EOF) or ev.get("event") in wanted:
                return ev


class _Child:
    """One running child process and its progress pipe."""

    def __init__(self, work: Path, spec: dict):
        read_fd, write_fd = os.pipe()
        spec = dict(spec, progress_fd=write_fd)
        (work / "spec.json").write_text(json.dumps(spec))
        self.stderr_path = work / "_stderr.txt"
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD_MAIN), "spec.json"], cwd=work, env=_scrubbed_env(work),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(write_fd,),
                start_new_session=True)
        os.close(write_fd)
        self.events = _Events(read_fd)
        self.read_fd = read_fd

    def exit_code(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def describe_end(self, cpu_seconds: int) -> str:
        """Why the child ended, for the item it was running."""
        return _describe_end(self.exit_code(), self.stderr_path, cpu_seconds)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        os.close(self.read_fd)


class _Zygote:
    """The fork server of one probe file (:mod:`backproplab.check.child.zygote`), started once."""

    def __init__(self, probes: Path, start_timeout: float):
        self.dir = Path(tempfile.mkdtemp(prefix="backproplab-zygote-"))
        self.proc = subprocess.Popen([sys.executable, "-I", str(ZYGOTE), str(probes)], cwd=self.dir,
                                     env=_scrubbed_env(self.dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True, bufsize=0)
        self.lines = _Events(self.proc.stdout.fileno())
        self.lock = threading.Lock()
        if not isinstance(self.lines.next(start_timeout), dict):
            self.close()
            raise OSError("the checker's fork server did not start")

    def fork(self, work: Path, spec_name: str, exit_name: str) -> int:
        """Fork a child that serves ``work/spec_name``; its pid."""
        with self.lock:
            request = {"work": str(work), "spec": spec_name, "exit": exit_name}
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            answer = self.lines.next(30.0)
        if not isinstance(answer, dict) or not isinstance(answer.get("pid"), int):
            raise OSError("the checker's fork server did not answer")
        return answer["pid"]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_ZYGOTES: dict[str, _Zygote] = {}
_ZYGOTE_LOCK = threading.Lock()


def _zygote(probes: Path, start_timeout: float) -> _Zygote | None:
    """The running fork server for ``probes`` (started on first use), or None if it cannot start."""
    with _ZYGOTE_LOCK:
        z = _ZYGOTES.get(str(probes))
        if z is not None and z.proc.poll() is None:
            return z
        try:
            z = _ZYGOTES[str(probes)] = _Zygote(probes, start_timeout)
        except OSError:
            return None
        return z


@atexit.register
def close_fork_servers() -> None:
    """Stop every fork server this process started."""
    with _ZYGOTE_LOCK:
        for z in _ZYGOTES.values():
            z.close()
        _ZYGOTES.clear()


class _ForkedChild:
    """A child forked by the zygote; progress over a FIFO, exit status from the file the zygote writes."""

    def __init__(self, work: Path, spec: dict, zygote: _Zygote, n: int):
        fifo, self.exit_path = f"_events{n}", work / f"_exit{n}.json"
        os.mkfifo(work / fifo, 0o600)
        self.read_fd = os.open(work / fifo, os.O_RDWR | os.O_NONBLOCK)  # RDWR: no EOF before the child opens it
        (work / f"spec{n}.json").write_text(json.dumps(dict(spec, events_path=fifo)))
        self.stderr_path = work / "_stderr.txt"
        self.pid = zygote.fork(work, f"spec{n}.json", self.exit_path.name)
        self.events = _Events(self.read_fd, alive=lambda: not self.exit_path.exists())

    def exit_code(self, wait: float = 5.0) -> int | None:
        deadline = time.monotonic() + wait
        while not self.exit_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            return int(json.loads(self.exit_path.read_text())["code"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def describe_end(self, cpu_seconds: int) -> str:
        return _describe_end(self.exit_code(), self.stderr_path, cpu_seconds)

    def close(self) -> None:
        if not self.exit_path.exists():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.exit_code(wait=5.0)
        os.close(self.read_fd)


def _describe_end(code: int | None, stderr_path: Path, cpu_seconds: int) -> str:
    """Why a child ended (its exit code, negative for a signal), for the item it was running."""
    if code is None:
        text = "the process stopped answering"
    elif code < 0:
        sig = signal.Signals(-code)
        text = {signal.SIGXCPU: f"the process used more than its {cpu_seconds} s of CPU time",
                signal.SIGKILL: "the process was killed (out of memory?)",
                signal.SIGSEGV: "the process crashed (segmentation fault)"}.get(sig, f"killed by {sig.name}")
    else:
        text = f"the process exited with status {code} (os._exit or a crash)"
    tail = _tail(stderr_path)
    return f"{text}; its last words: {tail}" if tail else text


def _tail(path: Path, n: int = 400) -> str:
    try:
        data = path.read_bytes()[-n:]
    except OSError:
        return ""
    return " ".join(data.decode("utf-8", "replace").split())


def _read_output(out_dir: Path, item: str) -> ProbeOutput:
    try:
        record = json.loads((out_dir / f"{item}.json").read_text())
    except (OSError, ValueError):
        return ProbeOutput(failure="the child reported this item done but left no readable result")
    arrays: dict[str, np.ndarray] = {}
    npz = out_dir / f"{item}.npz"
    if npz.exists():
        try:
            with np.load(npz, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as err:
            return ProbeOutput(failure=f"the child's arrays for this item could not be read ({err})")
    return ProbeOutput(values=record.get("values") or {}, arrays=arrays, error=record.get("error"),
                       stdout=record.get("stdout") or "", seconds=float(record.get("seconds") or 0.0),
                       cpu=float(record.get("cpu") or 0.0))


def _import_failure(out_dir: Path, filename: str) -> str:
    try:
        record = json.loads((out_dir / "_import.json").read_text())
        err = record["error"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"importing {filename} failed"
    where = f" at {err['where']}" if err.get("where") else ""
    text = f"importing {filename} failed: {err['type']}: {err['message']}{where}"
    if err["type"] == "SystemExit":
        text += " — code outside functions runs on import: put the run under `if __name__ == \"__main__\":`"
    if record.get("stdout"):
        text += f"\nyour output:\n{record['stdout']}"
    return text


def _write_inputs(work: Path, source: Path, filename: str, inputs: Mapping[str, np.ndarray],
                  files: Mapping[str, np.ndarray]) -> None:
    data = source.read_bytes()
    if len(data) > MAX_SOURCE_BYTES:
        raise ValueError(f"{source} is {len(data):,} bytes; a submission file may have at most "
                         f"{MAX_SOURCE_BYTES:,}")
    (work / filename).write_bytes(data)
    np.savez(work / "inputs.npz", **inputs)
    for name, array in files.items():
        np.save(work / f"{name}.npy", array, allow_pickle=False)
    (work / "out").mkdir()


def run_items(source: Path, filename: str, module: str, probes: Path, items: Sequence[tuple[str, float]],
              inputs: Mapping[str, np.ndarray], files: Mapping[str, np.ndarray] | None = None,
              required: Sequence[str] = (), limits: Limits = Limits()) -> dict[str, ProbeOutput]:
    """Run the probes of ``items`` (``(item id, wall-clock seconds)``) on the student's ``source``.

    Returns one :class:`ProbeOutput` per item id, in any case: a timeout, a crash, or an import
    failure becomes that item's ``failure`` text; the remaining items go on in a fresh child.
    """
    overall = limits.overall_timeout or (sum(t for _, t in items) + limits.import_timeout)
    cpu_seconds = int(overall) + 30
    work = Path(tempfile.mkdtemp(prefix="backproplab-check-"))
    try:
        _write_inputs(work, Path(source), filename, inputs, files or {})
        spec = {"filename": filename, "module": module, "probes": str(probes), "inputs": "inputs.npz",
                "out": "out", "required": list(required), "cpu_seconds": cpu_seconds,
                "memory_bytes": limits.memory_mb << 20, "file_bytes": limits.file_mb << 20,
                "max_processes": limits.max_processes, "output_cap": limits.output_cap}
        zygote = _zygote(Path(probes), limits.import_timeout) if limits.fork_server else None
        return _drive(work, spec, dict(items), overall, cpu_seconds, limits.import_timeout, filename, zygote)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _drive(work: Path, spec: dict, timeouts: dict[str, float], overall: float, cpu_seconds: int,
           import_timeout: float, filename: str, zygote: _Zygote | None) -> dict[str, ProbeOutput]:
    results: dict[str, ProbeOutput] = {}
    remaining = list(timeouts)
    deadline, n = time.monotonic() + overall, 0
    while remaining:
        if time.monotonic() >= deadline:
            for item in remaining:
                results[item] = ProbeOutput(failure=f"not run: the submission used up its overall limit of "
                                                    f"{overall:.0f} s")
            break
        n += 1
        child = (_ForkedChild(work, dict(spec, items=remaining), zygote, n) if zygote is not None
                 else _Child(work, dict(spec, items=remaining)))
        try:
            remaining = _serve(child, work, remaining, results, timeouts, deadline, cpu_seconds,
                               import_timeout, filename)
        finally:
            child.close()
    return results


def _serve(child: _Child | _ForkedChild, work: Path, remaining: list[str], results: dict[str, ProbeOutput],
           timeouts: dict[str, float], deadline: float, cpu_seconds: int, import_timeout: float,
           filename: str) -> list[str]:
    """Follow one child through its items; return the items still to run (after a timeout/crash)."""
    out_dir = work / "out"
    ev = child.events.wait({"ready", "import_failed"}, min(import_timeout, deadline - time.monotonic()))
    if ev == _Events.TIMEOUT or ev == _Events.EOF or ev["event"] == "import_failed":
        if ev == _Events.TIMEOUT:
            text = (f"importing {filename} took longer than {import_timeout:.0f} s — code outside functions "
                    "runs on import: put the run under `if __name__ == \"__main__\":`")
        elif ev == _Events.EOF:
            text = f"the process ended while importing {filename}: {child.describe_end(cpu_seconds)}"
        else:
            text = _import_failure(out_dir, filename)
        for item in remaining:
            results[item] = ProbeOutput(failure=text)
        return []
    for k, item in enumerate(remaining):
        limit = min(timeouts[item], deadline - time.monotonic())
        ev = child.events.wait({"done"}, limit)
        if isinstance(ev, dict) and ev.get("item") == item:
            results[item] = _read_output(out_dir, item)
            continue
        if ev == _Events.EOF:
            results[item] = ProbeOutput(failure=child.describe_end(cpu_seconds))
        elif ev == _Events.TIMEOUT:
            results[item] = ProbeOutput(failure=f"did not finish within {limit:.0f} s of wall clock "
                                                f"(an endless loop?) and was stopped")
        else:
            results[item] = ProbeOutput(failure="the child's progress reports were garbled")
        return remaining[k + 1:]
    return []
