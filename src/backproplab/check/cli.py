"""The ``backproplab check`` subcommand behind :mod:`backproplab.cli` (arguments in, tables and files out)."""

from __future__ import annotations

import argparse
import platform
import sys
import threading
from pathlib import Path

from backproplab.check.api import (
    COMPOSITE,
    JOBS_WHY,
    MAX_JOBS,
    check,
    check_arguments,
    check_batch,
    describe,
    names,
    not_graded,
    parts,
    passed_over,
    submissions,
)
from backproplab.check.child import landlock, seccomp
from backproplab.check.outputs import (
    BATCH_FILES,
    check_batch_out,
    first_line,
    format_table,
    gradescope,
    terminal_text,
    write_batch,
    write_json,
)
from backproplab.check.probes import PROBES
from backproplab.check.processes import fork_server
from backproplab.check.runner import Limits
from backproplab.errors import InputError
from backproplab.files import check_output_file, check_writable_dir

MAX_TIMEOUT = 86400.0
"""The longest ``--timeout`` (seconds per item): ``1e309`` (infinity) ended in an OverflowError that
named no option."""


def _validate(args: argparse.Namespace) -> None:
    if args.assignment is None:
        raise InputError(f"check needs an ASSIGNMENT ({', '.join(names())}) and a PATH, or --list")
    parts(args.assignment)
    if not args.paths:
        raise InputError(f"check {args.assignment} needs a PATH: the file, or a folder holding it")
    if not 1 <= args.jobs <= MAX_JOBS:
        raise InputError(f"--jobs must be from 1 to {MAX_JOBS} ({JOBS_WHY}), got {args.jobs}")
    if args.timeout is not None and not 0 < args.timeout <= MAX_TIMEOUT:
        raise InputError(f"--timeout must be a positive number of seconds, at most {MAX_TIMEOUT:g} (a day), "
                         f"got {args.timeout}")


def _graded_files(subs: list[tuple[str, Path]]) -> list[tuple[Path, str]]:
    """The files a check may grade (a file PATH, or the ``.py``/``.ipynb`` files in a folder PATH),
    each with what it is, for :func:`check_output_file` to protect."""
    found: list[tuple[Path, str]] = []
    for student, path in subs:
        files = [path] if not path.is_dir() else [*path.glob("*.py"), *path.glob("*.ipynb")]
        found += [(f, f"{student}'s submission {str(f)!r}") for f in files]
    return found


def _check_outputs(args: argparse.Namespace, subs: list[tuple[str, Path]]) -> None:
    """Refuse, before any grading, an output that cannot be written or would overwrite something:
    ``--json``/``--gradescope`` a folder, a device, a submission, each other or a file that is not
    JSON; a batch's ``--out`` that is not a writable folder."""
    graded = _graded_files(subs)
    if args.json is not None:
        check_output_file(args.json, "json", graded, keys=("assignment", "items"))
    if args.gradescope is not None:
        check_output_file(args.gradescope, "gradescope", graded, keys=("tests",))
        if args.json is not None and Path(args.json).resolve() == Path(args.gradescope).resolve():
            raise InputError(f"--json and --gradescope name the same file {str(args.json)!r}; the second would "
                             "overwrite the first: give each its own file")
    if args.out is not None:
        out = check_batch_out(args.out, [student for student, _ in subs]).resolve()
        if args.json is not None:
            target = Path(args.json).resolve()
            if target.parent == out / "records" or target.parent == out and target.name in BATCH_FILES:
                raise InputError(f"--json {str(args.json)!r} is a file the batch itself writes into --out "
                                 f"{str(args.out)!r}; give --json a path outside {str(args.out / 'records')!r} "
                                 "and not gradebook.csv")


def _init(args: argparse.Namespace) -> int:
    from backproplab.check.templates import init

    if args.assignment is None or len(args.paths) != 1:
        raise InputError("--init needs an ASSIGNMENT and one DIR: backproplab check --init jku-a7 handout/")
    check_writable_dir(args.paths[0], "DIR", flag="DIR for --init")  # '/proc/x: No such file' named no argument
    for path in init(args.assignment, args.paths[0], solution=args.solution):
        print(f"wrote {path}")
    return 0


def _start_fork_servers(args: argparse.Namespace) -> None:
    """Start the fork servers of the run's probes in the background: each imports torch (seconds), and
    this process is about to import it for the assignments' references; the two start-ups overlap instead
    of following each other (``check purdue-numpy-ann --item 1.2``: 5.0 s of wall clock before)."""
    names = COMPOSITE.get(args.assignment, (args.assignment,))
    if not args.paths or not all(n in PROBES for n in names) or not all(Path(p).exists() for p in args.paths):
        return  # nothing will be graded: the usage error comes next
    for probes in sorted({PROBES[n] for n in names}):
        threading.Thread(target=fork_server, args=(probes, Limits().import_timeout), daemon=True).start()


def kernel_limits_note() -> str:
    """What an instructor should know when this machine cannot hold the graded code in the kernel ('' when
    it can): without Landlock or the seccomp filter, an audit hook that determined code can switch off is
    all that keeps it from the test labels, the instructor's files and new processes."""
    missing = ([] if landlock.abi_version() else ["Landlock (Linux 5.13+), which limits its reads and writes"]) + (
        [] if platform.machine() in seccomp.ARCHES else [f"a seccomp filter for {platform.machine()}, which "
                                                         "refuses it new processes"])
    if not missing:
        return ""
    return (f"note: this machine lacks {' and '.join(missing)}; the graded code is held by an audit hook alone, "
            "which determined code can switch off: grade untrusted work in a container (docs/checking.md)")


def _wrote(paths: list[Path]) -> None:
    print(f"wrote {paths[0]} and {len(paths) - 1} records in {paths[0].parent / 'records'}", file=sys.stderr)


def _refused_for_gradescope(args: argparse.Namespace, path: Path, err: InputError) -> int:
    """``--gradescope`` on a submission that holds nothing to grade (an empty upload, another assignment's
    notebook): the student's results.json says why, every item 0, as for a submission refused whole, and
    the status is 1; a usage error (exit 2) left Gradescope saying only "the autograder failed"."""
    subs = [(path.name, path)]
    _check_outputs(args, subs)
    check_arguments(args.assignment, path, timeout=args.timeout, items=args.item)  # a usage error stays one
    result = not_graded(args.assignment, path.name, path, f"not graded: {err}", items=args.item, quick=args.quick)
    print(format_table(result))
    if args.json is not None:
        print(f"wrote {write_json(args.json, result.to_dict())}", file=sys.stderr)
    print(f"wrote {write_json(args.gradescope, gradescope(result))}", file=sys.stderr)
    return 1


def run_check(args: argparse.Namespace) -> int:
    """``backproplab check``: list, grade one submission, or grade a batch into a gradebook."""
    if getattr(args, "init", False):
        return _init(args)
    if getattr(args, "solution", False):
        raise InputError("--solution goes with --init: backproplab check --init ASSIGNMENT DIR --solution")
    if args.list:
        print("\n\n".join(describe(n) for n in names() if n != "purdue"))
        total = sum(a.points for a in parts("purdue"))
        print(f"\npurdue: a folder holding all three files ({total:g} points)")
        return 0
    _start_fork_servers(args)
    _validate(args)
    try:
        subs = submissions(args.assignment, args.paths)
    except InputError as err:
        if args.gradescope is None or len(args.paths) != 1 or not Path(args.paths[0]).exists():
            raise
        return _refused_for_gradescope(args, Path(args.paths[0]), err)
    note = kernel_limits_note()
    if note:
        print(note, file=sys.stderr)
    if len(subs) > 1 and args.gradescope is not None:
        raise InputError("--gradescope writes one submission's results.json; got a batch of "
                         f"{len(subs)} submissions")
    if len(subs) > 1 and args.out is None:
        args.out = Path("check-results")  # a batch always writes its gradebook; one submission when asked
    _check_outputs(args, subs)
    for _, path in subs:  # what is wrong with the command is a usage error (exit 2), before any grading
        check_arguments(args.assignment, path, timeout=args.timeout, items=args.item)
    loose = passed_over(args.assignment, args.paths)  # said once nothing can refuse the run any more
    if loose:
        print(loose, file=sys.stderr)
    # earlier results there hold the expected values: the student's code may not read them
    outputs = [p for p in (args.out, args.json, args.gradescope) if p is not None]
    if len(subs) == 1:
        student, path = subs[0]
        try:
            result = check(args.assignment, path, quick=args.quick, timeout=args.timeout, student=student,
                           items=args.item, outputs=outputs)
        except (OSError, ValueError) as err:  # the submission cannot be graded at all: 0 and why, as in a batch
            result = not_graded(args.assignment, student, path, f"not graded: {err}", items=args.item,
                                quick=args.quick)
        print(format_table(result))
        if args.json is not None:
            print(f"wrote {write_json(args.json, result.to_dict())}", file=sys.stderr)
        if args.gradescope is not None:
            print(f"wrote {write_json(args.gradescope, gradescope(result))}", file=sys.stderr)
        if args.out is not None:  # a gradebook of one (a folder of student folders that holds one)
            _wrote(write_batch(args.out, [result]))
        return 0 if result.score == result.max_score else 1
    results = check_batch(args.assignment, [p for _, p in subs], jobs=args.jobs, quick=args.quick,
                          timeout=args.timeout, items=args.item, outputs=outputs)
    for res in results:
        lost = ", ".join(res.lost()) or "-"
        print(f"{terminal_text(res.student, one_line=True):<24} {res.score:>6g} / {res.max_score:<4g} lost: {lost}")
        reasons = {it.error for it in res.items}
        if len(reasons) == 1 and all(it.error for it in res.items):  # every item failed alike: say why once
            print(f"{'':<24} {terminal_text(first_line(reasons.pop(), 100), one_line=True)}")
    _wrote(write_batch(args.out, results))
    if args.json is not None:
        print(f"wrote {write_json(args.json, [r.to_dict() for r in results])}", file=sys.stderr)
    return 0 if all(r.score == r.max_score for r in results) else 1
