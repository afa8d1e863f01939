"""Run a student's file in a child process with limits and collect what its probes returned.

The child (:mod:`backproplab.check.child.main`, forked by a fork server or started with
``python -I``: see :mod:`backproplab.check.processes`) runs in an empty temporary working directory,
with a scrubbed environment, its own resource limits and an audit hook; it tells the parent when it
is ready and when each item starts and ends. The parent enforces the
wall clock: an item that runs past its limit, or a child that dies during an item (``os._exit``, a
signal, the CPU or memory limit), costs that item only; the parent starts a fresh child for the items
left. What comes back is JSON and ``.npz`` read with ``allow_pickle=False``: data, never code.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backproplab.check.processes import (
    MAX_ENTRIES,
    Events,
    ForkedChild,
    ForkServer,
    SpawnedChild,
    disk_used,
    fork_server,
    read_child_file,
    threads,
)
from backproplab.files import read_regular, remove_tree

MAX_SOURCE_BYTES = 2_000_000

#: The lab's package folder: the child refuses to import or read anything in it (its references are the
#: answers), except the probes it runs (check/child).
LAB_FOLDER = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class Limits:
    """Limits for one submission's child processes.

    Attributes
    ----------
    import_timeout : seconds of wall clock for starting the child and importing the student's file
    overall_timeout : seconds of wall clock for all of a submission's items together (None: the sum
        of the item limits plus ``import_timeout``)
    memory_mb : address-space limit (RLIMIT_AS) in MiB (None: the assignment's own, enough for a
        plausible correct submission on the full data)
    file_mb : largest file the child may write (RLIMIT_FSIZE) in MiB
    max_processes : processes/threads the child may add to the user's count (RLIMIT_NPROC; no
        effect for root)
    output_cap : characters of the student's printed output kept per item
    disk_mb : MiB a child may add to its folder, with the files it removed but holds open (RLIMIT_FSIZE
        bounds each file, not their number: 40 files of 64 MiB filled 2.5 GiB of the checker's disk)
    max_threads : threads a child may run (each takes a process id: RLIMIT_NPROC does not bind root, and
        3,000 threads ran where the whole machine had 32,768 ids)
    fork_server : fork the children from a process that has imported the libraries once (saves
        torch's import, seconds, per submission); False starts each child from scratch
    """

    import_timeout: float = 120.0
    overall_timeout: float | None = None
    memory_mb: int | None = None
    file_mb: int = 64
    max_processes: int = 64
    output_cap: int = 4000
    disk_mb: int = 1024
    max_threads: int = 512
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


#: The most bytes of arrays one item's ``.npz`` may unpack to (the largest a probe sends is ~10 MiB: the
#: CNN's parameters, three times): the file is the child's to write, a zip bomb of 64 MiB unpacks to 64 GiB.
MAX_RESULT_BYTES = 256 << 20
#: The largest ``.json`` result read (numbers, strings, a plot's lines: kilobytes).
MAX_JSON_BYTES = 16 << 20


def _read_output(out_dir: Path, item: str) -> ProbeOutput:
    """The item's result as the child wrote it; a record not laid out as ``main._save`` writes it (the
    student's code can write the file itself) is a failure of the item, never an error of the checker."""
    try:
        raw = read_child_file(out_dir / f"{item}.json", MAX_JSON_BYTES)
        if len(raw) > MAX_JSON_BYTES:
            return ProbeOutput(failure=f"the child's result for this item is larger than "
                                       f"{MAX_JSON_BYTES >> 20} MiB and was not read")
        record = json.loads(raw)
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested past Python's stack
        return ProbeOutput(failure="the child reported this item done but left no readable result")
    error = _error_record(record.get("error")) if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("values") or {}, dict) or error is False \
            or not isinstance(record.get("stdout") or "", str) or not all(
            isinstance(record.get(k) or 0.0, int | float) for k in ("seconds", "cpu")):
        return ProbeOutput(failure="the child's result for this item is not laid out as the checker writes it "
                                   "(did the submission write it?)")
    arrays: dict[str, np.ndarray] = {}
    npz = out_dir / f"{item}.npz"
    if npz.exists() or npz.is_symlink():
        try:
            raw = read_child_file(npz, MAX_RESULT_BYTES)
            too_big = f"they are larger than {MAX_RESULT_BYTES >> 20} MiB" if len(raw) > MAX_RESULT_BYTES else \
                _oversized(io.BytesIO(raw))
            if too_big:
                return ProbeOutput(failure=f"the child's arrays for this item were not read: {too_big}")
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            return ProbeOutput(failure=f"the child's arrays for this item could not be read ({err})")
    return ProbeOutput(values=record.get("values") or {}, arrays=arrays, error=error,
                       stdout=record.get("stdout") or "", seconds=float(record.get("seconds") or 0.0),
                       cpu=float(record.get("cpu") or 0.0))


def _oversized(npz: io.BytesIO) -> str:
    """Why the ``.npz`` would unpack to more than :data:`MAX_RESULT_BYTES` ('' when it would not): by the
    sizes its zip directory declares (reading stops there) and by each array's header (``np.load``
    allocates the shape the header states before it reads)."""
    total = 0
    with zipfile.ZipFile(npz) as zf:
        for info in zf.infolist():
            total += info.file_size
            if total > MAX_RESULT_BYTES:
                return f"they unpack to more than {MAX_RESULT_BYTES >> 20} MiB"
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                shape, _, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0(f))
            if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                return f"{info.filename} states a shape {shape} larger than the data it holds"
    return ""


def _error_record(error) -> dict | None | bool:
    """The child's description of an error (``main.describe_error``): None for none, False when it is
    not laid out so."""
    if error is None:
        return None
    if not isinstance(error, dict) or not all(isinstance(error.get(k), str) for k in ("type", "message")) \
            or not isinstance(error.get("where") or "", str):
        return False
    return error


def _import_failure(out_dir: Path, filename: str) -> str:
    try:
        raw = read_child_file(out_dir / "_import.json", MAX_JSON_BYTES)
        record = json.loads(raw) if len(raw) <= MAX_JSON_BYTES else {}
        err = _error_record(record["error"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return f"importing {filename} failed"
    if not err:
        return f"importing {filename} failed"
    where = f" at {err['where']}" if err.get("where") else ""
    text = f"importing {filename} failed: {err['type']}: {err['message']}{where}"
    if err["type"] == "SystemExit":
        text += " — code outside functions runs on import: put the run under `if __name__ == \"__main__\":`"
    if isinstance(record.get("stdout"), str) and record["stdout"]:
        text += f"\nyour output:\n{record['stdout']}"
    return text


def _write_inputs(work: Path, source: Path, filename: str, inputs: Mapping[str, np.ndarray],
                  files: Mapping[str, np.ndarray]) -> None:
    data = read_regular(source, MAX_SOURCE_BYTES)
    if len(data) > MAX_SOURCE_BYTES:
        raise ValueError(f"{source} is over {MAX_SOURCE_BYTES:,} bytes, the most a submission file may have")
    (work / filename).write_bytes(data)
    np.savez(work / "inputs.npz", **inputs)
    for name, array in files.items():
        np.save(work / f"{name}.npy", array, allow_pickle=False)
    (work / "out").mkdir()


def run_items(source: Path, filename: str, module: str, probes: Path, items: Sequence[tuple[str, float]],
              inputs: Mapping[str, np.ndarray], files: Mapping[str, np.ndarray] | None = None,
              required: Sequence[str] = (), limits: Limits = Limits(),
              after: Mapping[str, str] | None = None, memory_mb: int = 6144,
              private: Sequence[tuple[str, str]] = ()) -> dict[str, ProbeOutput]:
    """Run the probes of ``items`` (``(item id, wall-clock seconds)``) on the student's ``source``.

    Returns one :class:`ProbeOutput` per item id, in any case: a timeout, a crash, or an import
    failure becomes that item's ``failure`` text; the remaining items go on in a fresh child,
    except those that judge the run of an item that failed so (``after[item]``: that item's id).
    ``memory_mb`` is the address-space limit when ``limits.memory_mb`` is None. The child may not read
    the lab, the checker's other working folders (another submission's outputs) nor the ``private``
    ``(folder or file, what it is)`` pairs (:func:`private_paths`).
    """
    overall = limits.overall_timeout or (sum(t for _, t in items) + limits.import_timeout)
    cpu_seconds = int(overall) + 30
    work = Path(tempfile.mkdtemp(prefix="backproplab-check-"))
    try:
        _write_inputs(work, Path(source), filename, inputs, files or {})
        spec = {"filename": filename, "module": module, "probes": str(probes), "inputs": "inputs.npz",
                "out": "out", "required": list(required), "cpu_seconds": cpu_seconds,
                "memory_bytes": (limits.memory_mb or memory_mb) << 20, "file_bytes": limits.file_mb << 20,
                "max_processes": limits.max_processes, "output_cap": limits.output_cap, "lab": LAB_FOLDER,
                "private": private_paths(private, work)}
        zygote = fork_server(Path(probes), limits.import_timeout) if limits.fork_server else None
        keep = {filename, "inputs.npz", *(f"{name}.npy" for name in files or {})}
        return _drive(work, spec, dict(items), overall, cpu_seconds, limits, filename, zygote, dict(after or {}),
                      keep)
    finally:
        remove_tree(work)


def private_paths(private: Sequence[tuple[str, str]], work: Path) -> list[list[str]]:
    """The child's ``[prefix, what]`` pairs of real paths it may not read: each of ``private`` (a folder
    stands for everything in it), and every other ``backproplab-*`` folder beside ``work`` (the
    working folders of the submissions graded at the same time: their outputs are the answers)."""
    pairs = [[str(Path(work).resolve().parent / "backproplab-"),
              "the checker's other working folders (another submission's results)"]]
    for path, what in private:
        full = Path(path).resolve()
        pairs.append([str(full) + (os.sep if full.is_dir() else ""), what])
    return pairs


def _drive(work: Path, spec: dict, timeouts: dict[str, float], overall: float, cpu_seconds: int, limits: Limits,
           filename: str, zygote: ForkServer | None, after: dict[str, str], keep: set[str]) -> dict[str, ProbeOutput]:
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
        child = (ForkedChild(work, dict(spec, items=remaining), zygote, n) if zygote is not None
                 else SpawnedChild(work, dict(spec, items=remaining)))
        watch = _Watch(work, child.pid, disk_used(work, None)[0] + (limits.disk_mb << 20), limits.disk_mb,
                       limits.max_threads)
        try:
            remaining = _serve(child, watch, remaining, results, timeouts, deadline, cpu_seconds,
                               limits.import_timeout, filename)
        finally:
            child.close()
        if watch.over(every=0.0):
            _clear(work, keep)
        remaining = _skip_dependents(remaining, results, after)
    return results


@dataclass
class _Watch:
    """A child's folder, the bytes it may hold while the child runs (what the checker put there, plus
    ``Limits.disk_mb``), the child's pid (its removed but open files count too) and its most threads."""

    work: Path
    pid: int
    quota: int
    mb: int
    max_threads: int
    counted: float = 0.0  # when the folder was last counted (once a second: a full folder takes some ms)

    def over(self, every: float = 1.0) -> str:
        """Why the child is over its limits ('' when it is not); the folder is counted at most once in
        ``every`` seconds."""
        if threads(self.pid) > self.max_threads:
            return f"started more than {self.max_threads} threads and was stopped"
        if time.monotonic() - self.counted < every:
            return ""
        self.counted = time.monotonic()
        used, entries = disk_used(self.work, self.pid)
        if entries > MAX_ENTRIES:
            return f"made more than {MAX_ENTRIES:,} files and folders in its working folder and was stopped"
        if used > self.quota:
            return f"wrote more than {self.mb:,} MiB in its working folder and was stopped"
        return ""

    def wait(self, events: Events, wanted: set[str], limit: float):
        """``events.wait(wanted, limit)``, looking at the child five times a second: the event, or the text
        of :meth:`over` once the child is over a limit."""
        deadline = time.monotonic() + limit
        while True:
            ev = events.wait(wanted, min(0.2, max(deadline - time.monotonic(), 0.0)))
            if ev != Events.TIMEOUT or time.monotonic() >= deadline:
                return ev
            why = self.over()
            if why:
                return why


def _clear(work: Path, keep: set[str]) -> None:
    """Remove what the children put in ``work`` (all but ``keep``, the checker's inputs) after one filled it."""
    for entry in work.iterdir():
        if entry.name not in keep:
            if entry.is_dir() and not entry.is_symlink():
                remove_tree(entry)
            else:
                entry.unlink(missing_ok=True)
    (work / "out").mkdir(exist_ok=True)


def _skip_dependents(remaining: list[str], results: dict[str, ProbeOutput], after: dict[str, str]) -> list[str]:
    """Items whose prerequisite run failed (timeout, crash) are not run again: they get its failure."""
    keep = []
    for item in remaining:
        pre = after.get(item)
        if pre in results and results[pre].failure:
            results[item] = ProbeOutput(failure=f"not run: it judges the run of item {pre}, which did not finish "
                                                f"({results[pre].failure})")
        else:
            keep.append(item)
    return keep


def _serve(child: SpawnedChild | ForkedChild, watch: _Watch, remaining: list[str],
           results: dict[str, ProbeOutput], timeouts: dict[str, float], deadline: float, cpu_seconds: int,
           import_timeout: float, filename: str) -> list[str]:
    """Follow one child through its items; return the items still to run (after a timeout/crash)."""
    out_dir = watch.work / "out"
    ev = watch.wait(child.events, {"ready", "import_failed"}, min(import_timeout, deadline - time.monotonic()))
    if isinstance(ev, str) or ev["event"] == "import_failed":
        if ev == Events.TIMEOUT:
            text = (f"importing {filename} took longer than {import_timeout:.0f} s — code outside functions "
                    "runs on import: put the run under `if __name__ == \"__main__\":`")
        elif ev == Events.EOF:
            text = f"the process ended while importing {filename}: {child.describe_end(cpu_seconds)}"
        elif isinstance(ev, str):
            text = f"while importing {filename}, the process {ev}"
        else:
            text = _import_failure(out_dir, filename)
        for item in remaining:
            results[item] = ProbeOutput(failure=text)
        return []
    for k, item in enumerate(remaining):
        limit = min(timeouts[item], deadline - time.monotonic())
        ev = watch.wait(child.events, {"done"}, limit)
        if isinstance(ev, dict) and ev.get("item") == item:
            results[item] = _read_output(out_dir, item)
            continue
        if ev not in (Events.EOF, Events.TIMEOUT) and isinstance(ev, str):
            results[item] = ProbeOutput(failure=f"the process {ev}")
        elif ev == Events.EOF:
            results[item] = ProbeOutput(failure=child.describe_end(cpu_seconds))
        elif ev == Events.TIMEOUT:
            results[item] = ProbeOutput(failure=f"did not finish within {_seconds(limit)} of wall clock "
                                                f"(an endless loop?) and was stopped")
        else:
            results[item] = ProbeOutput(failure="the child's progress reports were garbled")
        return remaining[k + 1:]
    return []


def _seconds(limit: float) -> str:
    """A time limit in words: whole seconds, or its significant digits below one (``--timeout 0.001``
    had said "within 0 s")."""
    return f"{limit:.0f} s" if limit >= 1 else f"{limit:.2g} s"
