"""The child process that runs a student's file: ``python -I main.py spec.json``.

Standalone on purpose (stdlib, plus NumPy/PyTorch that the probes need): it is started with ``-I``,
so nothing of the checker is importable, and it never sees an expected answer. It

1. sets its own resource limits (CPU seconds, address space, file size, processes),
2. imports the libraries the probes need, limits in the kernel, where Linux has Landlock
   (:mod:`landlock`), its writes to the working directory and its reads to all but what the hook
   below refuses to read, and refuses itself new processes (:mod:`seccomp`), then installs an audit hook that refuses writes outside
   the working directory, new processes, signals, sockets and C calls through ``ctypes``, and any
   import or read of the lab itself (``spec["lab"]``, the ``backproplab`` package, whose references
   would hand a student the answers: ``from backproplab.scratch import NumpyANN`` got full marks),
3. imports the student's file as a module (``__name__`` is not ``"__main__"``, so its run block
   does not start),
4. runs one probe per item and writes what came back to ``out/<item>.json`` (numbers, strings) and
   ``out/<item>.npz`` (arrays), announcing ``start``/``done`` on the progress pipe.

Python-level output of the student is captured per item and cut to ``output_cap`` characters.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import resource
import signal
import sys
import time
import traceback

_EVENTS = None  # the progress pipe (a file object), set in main()


def _emit(**event) -> None:
    _EVENTS.write(json.dumps(event) + "\n")
    _EVENTS.flush()


#: The most files (and pipe ends) the child may hold open at once.
MAX_OPEN_FILES = 1024


def _set_limits(spec: dict) -> None:
    def cap(which, value):
        if value:
            try:
                resource.setrlimit(which, (int(value), int(value)))
            except (ValueError, OSError):
                pass

    cpu = spec.get("cpu_seconds")
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 5))
    cap(resource.RLIMIT_AS, spec.get("memory_bytes"))
    cap(resource.RLIMIT_FSIZE, spec.get("file_bytes"))
    # each pipe may buffer 1 MiB of kernel memory outside RLIMIT_AS (no per-user cap for root): at the
    # 20,000 files a shell may allow, 10 GiB; the child needs a few dozen files
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cap(resource.RLIMIT_NOFILE, MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(MAX_OPEN_FILES, hard))
    nproc = spec.get("max_processes")
    if nproc and hasattr(resource, "RLIMIT_NPROC"):
        cap(resource.RLIMIT_NPROC, _user_threads() + int(nproc))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails with an OSError instead


def _user_threads() -> int:
    """Threads this user runs now (RLIMIT_NPROC counts threads of the whole user)."""
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                continue
    return count


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int):
        self.cap, self.parts, self.kept, self.dropped = cap, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(s[:room])
            self.kept += min(room, len(s))
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped:,} more characters cut]"
        return out


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PATH_EVENTS = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown", "os.truncate",
                "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
                "shutil.move", "os.chdir", "os.chroot", "os.chflags", "os.setxattr",
                "os.removexattr"}
_DENIED = {"os.fork": "start a process (os.fork)", "os.forkpty": "start a process (os.forkpty)",
           "os.system": "run a shell command (os.system)", "os.exec": "replace the process (os.exec*)",
           "os.posix_spawn": "start a process (os.posix_spawn)", "os.spawn": "start a process (os.spawn*)",
           "subprocess.Popen": "start a process (subprocess)", "os.kill": "send a signal (os.kill)",
           "os.killpg": "send a signal (os.killpg)", "socket.connect": "open a network connection",
           "socket.bind": "open a network socket", "socket.__new__": "open a socket",
           "socket.sendto": "send to a socket address", "socket.sendmsg": "send to a socket address", "ctypes.dlopen": "load a C library (ctypes)",
           # the libraries already loaded hold every C function (ctypes.pythonapi.symlink made a link past
           # the os.symlink refusal), and raw memory access could undo this hook: no C call through ctypes
           "ctypes.dlsym": "look up a C function (ctypes)", "ctypes.dlsym/handle": "look up a C function (ctypes)",
           "ctypes.call_function": "call a C function (ctypes)", "ctypes.cdata": "read raw memory (ctypes)",
           "ctypes.string_at": "read raw memory (ctypes)", "ctypes.wstring_at": "read raw memory (ctypes)",
           # every object the collector tracks includes this hook and what it holds: its closure cells
           # could be rewritten (gc.get_objects, then cell_contents = "/"); a tracer sees its frames
           "gc.get_objects": "list the interpreter's objects (gc)", "gc.get_referrers": "walk references (gc)",
           "gc.get_referents": "walk references (gc)", "sys.settrace": "trace the interpreter (sys.settrace)",
           "sys.setprofile": "trace the interpreter (sys.setprofile)",
           "sys._current_frames": "read other threads' frames",
           "os.symlink": "create a symbolic link", "os.link": "create a hard link",
           "os.setuid": "change the user id",
           "resource.setrlimit": "change the resource limits", "resource.prlimit": "change the resource limits"}


class Refused(PermissionError):
    """What the audit hook raises; the message says what was refused."""


class RefusedImport(ImportError):
    """What the audit hook raises for an import of the lab: an ImportError, as for a missing package."""


_LAB = "backproplab"
_NO_LAB = (f"backproplab check: a submission may not use the {_LAB} package (it holds the reference "
           "solutions); write the code yourself")


def _under(folder: str, path, base: str) -> bool:
    """Whether ``path`` (a relative one taken from ``base``) is ``folder`` or inside it; an open file
    descriptor counts as inside."""
    if isinstance(path, int):
        return True
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    full = os.path.realpath(os.path.join(base, path))
    return full == folder or full.startswith(folder + os.sep)


def _lab_copy(full: str) -> bool:
    """Whether the real path ``full`` lies in a copy of the lab's package (a folder named ``backproplab``
    holding ``__init__.py``, such as a second checkout or another environment's install) or is one of
    its archives (``backproplab-1.0-py3-none-any.whl``, an sdist)."""
    parts = full.split(os.sep)
    for k, part in enumerate(parts):
        if part == _LAB and os.path.isfile(os.sep.join(parts[:k + 1] + ["__init__.py"])):
            return True
    return parts[-1].startswith(_LAB + "-") and parts[-1].endswith((".whl", ".zip", ".tar.gz", ".egg"))


def _install_guard(root: str, places, lab: str = "", private: list | None = None) -> None:
    """The audit hook: writes only inside ``root``; nothing read or imported from the lab (its package
    folder ``lab`` or any copy of it; its ``check/child`` probes, which hold no answer, excepted), and
    nothing read under the ``private`` ``[prefix, what]`` pairs (the Fashion-MNIST files, the checker's
    other working folders, a batch's other submissions), ``root`` itself excepted, nor another
    process's ``/proc/PID`` entries (the checker's memory, its command line). ``places``: the index
    class of :mod:`landlock` (``_Places``), so that an open is tested against a batch's 1,000 private
    places in a few set lookups."""
    root = os.path.realpath(root)
    lab = os.path.realpath(lab) if lab else ""
    own = os.path.dirname(os.path.realpath(__file__))
    private = [(str(prefix), str(what)) for prefix, what in private or []]
    private_index = places(tuple(prefix for prefix, _ in private))
    me = str(os.getpid())

    def inside(path) -> bool:
        return _under(root, path, root)

    def refused_read(path) -> str:
        """Why reading ``path`` is refused ('' when it is not)."""
        if isinstance(path, int) or inside(path) or _under(own, path, root):
            return ""
        try:
            full = os.path.realpath(os.path.join(root, os.fsdecode(os.fspath(path))))
        except TypeError:
            return ""
        if (lab and _under(lab, full, root)) or _lab_copy(full):
            return _NO_LAB
        parts = full.split(os.sep)
        if parts[1:2] == ["proc"] and len(parts) > 2 and parts[2].isdigit() and parts[2] != me:
            return (f"backproplab check: a submission may not read another process's memory or files "
                    f"({path!r}: the checker's memory holds the test labels and, in a batch, the answers)")
        if not private_index.hold(full):
            return ""
        for prefix, what in private:  # which place it is, for the message
            if full == prefix.rstrip(os.sep) or full.startswith(prefix):
                return f"backproplab check: a submission may not read {what} ({path!r})"
        return ""

    def hook(event, args):
        if event == "import" and args and isinstance(args[0], str) and args[0].split(".")[0] == _LAB:
            raise RefusedImport(_NO_LAB)
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and path is not None and not inside(path):
                raise Refused(f"backproplab check: writing outside the working directory is not allowed "
                              f"(open {path!r} for writing)")
            why = refused_read(path) if path is not None else ""
            if why:
                raise Refused(why)
        elif event in _PATH_EVENTS:
            for arg in args[:2]:
                if isinstance(arg, str | bytes | os.PathLike) and not inside(arg):
                    raise Refused(f"backproplab check: {event} outside the working directory is not "
                                  f"allowed ({arg!r})")
        elif event in _DENIED:
            raise Refused(f"backproplab check: a submission may not {_DENIED[event]}")

    sys.addaudithook(hook)


def _student_frame(tb, filename: str) -> str:
    """'numpy_ann.py:42 in _backward: dW1 = ...' for the deepest frame in the student's file."""
    where = ""
    for frame in traceback.extract_tb(tb):
        if os.path.basename(frame.filename) == filename:
            where = f"{filename}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"
    return where


def describe_error(err: BaseException, filename: str) -> dict:
    """The error as data: type, message (cut) and where in the student's file it was raised."""
    if isinstance(err, SystemExit):
        message = f"called sys.exit({err.code!r})"
    else:
        message = str(err)
    if len(message) > 600:
        message = message[:600] + " [...]"
    info = {"type": type(err).__name__, "message": message, "where": _student_frame(err.__traceback__, filename)}
    if isinstance(err, SyntaxError):
        info["where"] = f"{filename}:{err.lineno}: {(err.text or '').strip()}"
    return info


def _sibling(name: str):
    """A stdlib-only module of this folder, loaded by path as this one is (``-I``: no package to import)."""
    spec = importlib.util.spec_from_file_location(f"_backproplab_child_{name}",
                                                  os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_probes(path: str):
    spec = importlib.util.spec_from_file_location("_backproplab_probes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _import_student(filename: str, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(os.getcwd(), filename))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _save(out_dir: str, item: str, record: dict, arrays: dict) -> None:
    import numpy as np

    if arrays:
        np.savez(os.path.join(out_dir, f"{item}.npz"), **arrays)
    with open(os.path.join(out_dir, f"{item}.json"), "w") as f:
        json.dump(record, f)


def _split(values: dict):
    """Arrays go to the .npz, everything JSON-able to the .json, anything else as its repr."""
    import numpy as np

    arrays, plain = {}, {}
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                plain[key] = repr(value)[:300]
            else:
                arrays[key] = value
            continue
        try:
            json.dumps(value, allow_nan=True)
            plain[key] = value
        except (TypeError, ValueError):
            plain[key] = repr(value)[:300]
    return arrays, plain


def _run_item(probes, item: str, module, inputs: dict, spec: dict) -> None:
    capture = CappedWriter(int(spec.get("output_cap", 20000)))
    old = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    values, error, start = {}, None, time.perf_counter()
    try:
        values = probes.PROBES[item](module, inputs) or {}
    except BaseException as err:  # noqa: BLE001 - the student's code may raise anything, even SystemExit
        error = describe_error(err, spec["filename"])
    finally:
        sys.stdout, sys.stderr = old
    arrays, plain = _split(values)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {"values": plain, "error": error, "stdout": capture.text(),
              "seconds": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime}
    _save(spec["out"], item, record, arrays)


def serve(spec: dict, probes) -> int:
    """Set the limits, raise the guard, import the student's file and run the items.

    ``probes`` is the probe module, its ``setup()`` already done (here, or in the zygote that
    forked this process).
    """
    _set_limits(spec)
    sys.setrecursionlimit(3000)
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE
    inputs = probes.load_inputs(spec["inputs"]) if spec.get("inputs") else {}
    hidden = [os.path.realpath(spec["lab"]) + os.sep] if spec.get("lab") else []
    hidden += [prefix for prefix, _ in spec.get("private") or []]
    landlock = _sibling("landlock")
    landlock.restrict(os.getcwd(), tuple(hidden), keep=(os.path.dirname(os.path.realpath(__file__)),))
    seccomp = _sibling("seccomp")
    seccomp.drop_capabilities()  # as root, no immutable files and no bypassing of the kernel's checks
    seccomp.forbid_processes()  # the kernel's refusal of new processes and memfds, where it has one
    _install_guard(os.getcwd(), landlock._Places, spec.get("lab", ""), spec.get("private"))
    capture = CappedWriter(int(spec.get("output_cap", 20000)))
    sys.stdout = sys.stderr = capture
    try:
        module = _import_student(spec["filename"], spec["module"])
        missing = [name for name in spec.get("required", []) if not hasattr(module, name)]
        if missing:
            raise AttributeError(f"{spec['filename']} defines no {' or '.join(missing)} "
                                 f"(the contract's class name)")
    except BaseException as err:  # noqa: BLE001
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        _save(spec["out"], "_import", {"error": describe_error(err, spec["filename"]),
                                       "stdout": capture.text()}, {})
        _emit(event="import_failed")
        return 0
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    _emit(event="ready")
    for item in spec["items"]:
        _emit(event="start", item=item)
        _run_item(probes, item, module, inputs, spec)
        _emit(event="done", item=item)
    return 0


def open_events(spec: dict) -> None:
    """The progress channel: an inherited pipe (``progress_fd``) or a FIFO (``events_path``)."""
    global _EVENTS
    if spec.get("events_path"):
        _EVENTS = open(spec["events_path"], "w")  # noqa: SIM115 - kept open for the process's life
    else:
        _EVENTS = os.fdopen(int(spec["progress_fd"]), "w")


def main(spec_path: str) -> int:
    with open(spec_path) as f:
        spec = json.load(f)
    open_events(spec)
    probes = _load_probes(spec["probes"])
    probes.setup()  # imports NumPy / torch / Matplotlib before the guard goes up
    return serve(spec, probes)


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    os._exit(code)  # skip interpreter shutdown: the student's objects may misbehave in __del__
