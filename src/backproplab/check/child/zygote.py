"""A fork server for the graded children: ``python -I zygote.py PROBES``.

Started once per probe file by the checker (never by a student), it imports the probe module's
libraries (NumPy, torch, Matplotlib: seconds) and then waits for requests on stdin, one JSON line
each. ``{"kill": PID}`` stops that child of its own (no answer). For ``{"work": DIR, "spec": SPEC,
"exit": EXIT}`` it forks a child that starts its own session, moves into DIR, points stdin/stdout
at ``/dev/null`` and stderr at ``DIR/_stderr.txt`` (so it cannot talk to the zygote), and runs
:func:`main.serve` with ``DIR/SPEC``: limits, guard, the student's import, the items. The zygote
answers ``{"pid": PID}`` and, when the child ends, writes its exit code (negative: the signal) to
the path ``EXIT`` (atomically), in the zygote's own folder, out of the child's reach (a status the
child wrote itself made the checker leave it running). It holds no expected value and runs no
student code itself; when stdin closes (the checker ended, or was killed) it stops the children
still running and exits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time

_WORK: dict[int, tuple[str, str]] = {}  # child pid -> (its folder, the file its exit status goes to)


def _load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _create(path: str) -> int:
    """A new file at ``path``, whatever the child left there: a link it planted is removed, never followed
    (as :func:`backproplab.files.create_new`; this script imports nothing of the lab)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)


def _reap(signum=None, frame=None) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _, target = _WORK.pop(pid, ("", None))
        if target is not None:
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            try:
                with os.fdopen(_create(target + ".tmp"), "w") as f:
                    json.dump({"code": code}, f)
                os.replace(target + ".tmp", target)
            except OSError:
                pass  # the checker is gone: nobody waits


def _child(main, probes, work: str, spec_name: str) -> None:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    os.chdir(work)
    null = os.open(os.devnull, os.O_RDWR)
    err = _create("_stderr.txt")
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    os.close(null)
    os.close(err)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = sys.__stderr__ = open(2, "w", closefd=False)  # noqa: SIM115
    code = 1
    try:
        with open(spec_name) as f:
            spec = json.load(f)
        main.open_events(spec)
        code = main.serve(spec, probes)
        sys.stdout.flush()
    finally:
        os._exit(code)


def run(probes_path: str) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    main = _load(os.path.join(here, "main.py"), "_backproplab_child_main")
    probes = _load(probes_path, "_backproplab_probes")
    probes.setup()
    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if type(request.get("kill")) is int:
                _stop(request["kill"])
                continue
            work, spec_name, exit_name = request["work"], request["spec"], request["exit"]
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # record the pid before reaping it
        pid = os.fork()
        if pid == 0:
            _child(main, probes, work, spec_name)
        _WORK[pid] = (work, os.path.abspath(exit_name))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        _reap()
        try:
            out.write(json.dumps({"pid": pid}) + "\n")
            out.flush()
        except OSError:  # the checker died before the answer: the zygote had died of the error, leaving the
            break        # child it had just forked, and every other, running and their folders behind
    _stop_children()


def _kill(pid: int) -> None:
    """SIGKILL to the child ``pid`` itself, then to its session: one forked a moment ago may not have called
    setsid yet, and then no group of its pid exists (killing the group alone left it running)."""
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _stop(pid: int) -> None:
    """The checker gave up on child ``pid`` (a timeout, Ctrl-C): kill it if it is still this server's, not
    reaped. SIGCHLD is held meanwhile, so the pid cannot have been reaped and given to another process."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        if pid in _WORK:
            _kill(pid)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})


def _stop_children() -> None:
    """The checker is gone (stdin closed): stop every child still running, with its session, and
    remove what the checker could not (the children's folders, this server's own)."""
    import shutil

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # reaped below only: no exit file lands in a folder being removed
    folders = {work for work, _ in _WORK.values()}
    for pid in list(_WORK):
        _kill(pid)
    deadline = time.monotonic() + 5
    while _WORK and time.monotonic() < deadline:
        _reap()
        time.sleep(0.01)
    for folder in folders | {os.getcwd()}:
        if os.path.basename(folder).startswith(("backproplab-check-", "backproplab-zygote-")):
            try:
                shutil.rmtree(folder, ignore_errors=True)
            except RecursionError:  # a tree too deep for it (the checker's own removal handles those)
                pass


if __name__ == "__main__":
    run(sys.argv[1])
