"""Run ``backproplab`` command lines each in its own process under 1 GiB of memory and 10 s of CPU.

Starting a fresh Python for every case costs seconds of importing torch per case (the tables in
tests/test_bad_inputs.py ran ~40 of them, a quarter of the suite's time). Here one server process is
started fresh, imports the CLI and what building its parser imports (every lesson, torch) once, and forks a child per case; the child sets the limits, runs
``main(argv)`` and exits with its status. The limits are the same as a fresh process's: a forked
child's CPU clock starts at zero and its address space is the server's, which is what a fresh
process holds after the same imports (the CLI's own lazy imports still happen in the child, under
the limits). Where Python's start-up itself must be checked under the limits, a test still starts
a fresh process (tests/test_bad_inputs.py keeps one).

Protocol: one JSON line per request on stdin ``{"argv": [...], "cwd": "...", "timeout": s}``, one
JSON line per answer on stdout ``{"status": int, "stderr": "..."}``; ``status`` is the exit status,
or minus the signal that ended the child (SIGXCPU past 10 s of CPU, SIGKILL past the timeout).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback

ONE_GIB = 1 << 30
CPU_SECONDS = 10


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ONE_GIB, ONE_GIB))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _child(main, argv: list[str], cwd: str, err_fd: int) -> None:
    """In the forked child: limits, the case's folder, stderr to ``err_fd``; never returns."""
    status = 70
    try:
        _limit()
        os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(err_fd, 2)
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - a traceback is what the tests look for
            traceback.print_exc()
            status = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(int(status or 0))


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(code)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -signal.SIGKILL
        time.sleep(0.01)


def serve() -> None:
    from backproplab.cli import build_parser, main

    build_parser()  # imports every lesson (torch, Matplotlib), as any command line does before its checks

    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile() as err:
            pid = os.fork()
            if pid == 0:
                _child(main, request["argv"], request["cwd"], err.fileno())
            status = _wait(pid, request.get("timeout", 120))
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
        sys.stdout.write(json.dumps({"status": status, "stderr": text}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
