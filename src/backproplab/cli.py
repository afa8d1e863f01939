"""The ``backproplab`` command: parses arguments, calls lessons and the report, prints.

Every lesson in :mod:`backproplab.lessons` becomes a subcommand. User errors (bad arguments,
bad files, missing data) print one line on stderr and exit with status 2 (1 for missing data);
they never show a traceback. A missing command (a bare ``backproplab``) is a usage error too: the
short usage and the list of commands on stderr, status 2; ``backproplab --help`` prints the whole
help on stdout, status 0.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import os
import re
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from backproplab import __version__, lessons
from backproplab.bench.limits import MAX_ROUNDS, ROUNDS_WHY
from backproplab.checks import check_seed, int_from_to, path_arg
from backproplab.data.fashion_mnist import describe_files
from backproplab.errors import BackproplabError, DataNotFoundError, InputError
from backproplab.files import atomic_write_text, check_writable_dir, replaced_together
from backproplab.progress import progress_mode
from backproplab.terminal import terminal_text
from backproplab.threads import MAX_THREADS, run_threads

# Lazy imports, on purpose: backproplab.bench's runner loads torch and backproplab.report.reproduce the
# report's renderers (markdown-it); only `backproplab bench` and `backproplab reproduce` pay for them.


def _seed(text: str) -> int:
    """argparse type of ``--seed``: an int in [0, 2**32), checked once here for every command."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 0 and < 2**32, got {text[:40]!r}") from None
    try:
        return check_seed(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_folder = path_arg("folder")
"""argparse type of ``--out`` and ``--root``."""
_file = path_arg("file")
"""argparse type of ``--json`` and ``--gradescope``."""


CLI_ONLY = ("command", "lesson", "threads")
"""Parsed options a lesson subcommand handles itself; of the others, ``run`` gets those it declares."""


_threads = int_from_to(1, MAX_THREADS, "more is a typo, not a machine")
"""argparse type of every ``--threads``."""


def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_threads, default=None, metavar="N",
                        help="at most N torch and BLAS threads for the whole run (default: every core; idle "
                             "threads sleep instead of spinning, which measured best on a shared machine)")


def _add_common(parser: argparse.ArgumentParser, writes_text: bool = False) -> None:
    """A lesson's shared options; ``writes_text``: its ``run`` takes ``out`` and writes pages of its own."""
    parser.add_argument("--quick", action="store_true", help="smaller runs, same claims")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed, 0 <= seed < 2**32 (default 0)")
    what = "figures and text" if writes_text else "figures"
    parser.add_argument("--out", type=_folder, default=None, help=f"directory for {what} (default: do not write)")
    _add_threads(parser)


_OPTION_LIKE = re.compile(r"-[A-Za-z0-9_-]*")
"""What an unknown option could be spelled as; a word with any other character is a value."""


def _a_value(arg: str) -> bool:
    """Whether ``arg``, which starts with one ``-`` and names no option, is surely a value: a number
    (``-1e-3``, ``-inf``: argparse takes only ``-1`` and ``-.5`` for numbers) or an expression (``-x^2``)."""
    try:
        float(arg)
        return True
    except ValueError:
        return not _OPTION_LIKE.fullmatch(arg)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (status 2), like the other errors.

    A value that starts with ``-`` is taken as a value when it cannot be an option (see
    :func:`_a_value`): ``--expr "-x^2"`` and ``--start -1e-3 2`` were 'expected one argument'.
    """

    def error(self, message: str):
        short = re.match(r"argument (--[\w-]+): expected one argument$", message)
        if short:  # e.g. --expr -x: a word like an option is not taken as a value
            message += f"; a value that starts with '-' is written {short[1]}=-..."
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see '{self.prog} --help')\n")

    def _parse_optional(self, arg_string: str):
        found = super()._parse_optional(arg_string)
        # argparse's answer for an option it does not know: (None, arg, None) (a list of such from 3.12)
        unknown = found is not None and all(t[0] is None for t in (found if isinstance(found, list) else [found]))
        if unknown and not arg_string.startswith("--") and _a_value(arg_string):
            return None
        return found


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def plain_help(doc: str | None, width: int = 88) -> str:
    """A docstring as terminal text: reST roles and ``literals`` unmarked, paragraphs wrapped, bullets and
    numbered items kept one to a line.

    Indented blocks (examples) are kept line for line.
    """
    text = _ROLE.sub(r"\1", inspect.cleandoc(doc or "")).replace("``", "")
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        if all(line.startswith("    ") for line in block.splitlines()):
            out += [block, ""]  # the paragraph after it starts after a blank line, as in the docstring
            continue
        for item in re.split(r"\n(?=[*-] |\d+\. )", block):
            words = " ".join(item.split())
            bullet = re.match(r"([*-]|\d+\.) ", item)
            if bullet:  # '* x' and '- x' become '  • x'; a numbered item keeps its number
                mark = "•" if bullet[1] in "*-" else bullet[1]
                out.append(textwrap.fill(words[len(bullet[0]):], width, initial_indent=f"  {mark} ",
                                         subsequent_indent=" " * (len(mark) + 3)))
            else:
                out.append(textwrap.fill(words, width))
        out.append("")
    return "\n".join(out).rstrip()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (lessons are discovered from :mod:`backproplab.lessons`)."""
    parser = _Parser(
        prog="backproplab",
        description="A lab for learning and teaching neural networks: lessons that run, plot "
                    "and check themselves against PyTorch.")
    parser.add_argument("--version", action="version", version=f"backproplab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="where Fashion-MNIST was found, and whether it verified")
    data.add_argument("--root", type=_folder, default=None, help="look here first")
    data.add_argument("--no-download", dest="download", action="store_false",
                      help="never download; exit 1 if the data is missing")

    rep = sub.add_parser("reproduce", help="run every lesson and write the report")
    rep.add_argument("--quick", action="store_true", help="subsets and fewer epochs, the same claims (about a minute on 2 CPU cores)")
    rep.add_argument("--out", type=_folder, default=Path("backproplab-report"),
                     help="report directory (default ./backproplab-report)")
    rep.add_argument("--only", action="append", default=None, metavar="NAME",
                     help="run only this lesson (repeatable)")
    rep.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                     help="device for PyTorch lessons")
    rep.add_argument("--seed", type=_seed, default=0, help="random seed, 0 <= seed < 2**32 (default 0)")
    rep.add_argument("--force", action="store_true",
                     help="write into --out even if it holds files that are not an earlier report")
    rep.add_argument("--resume", action="store_true",
                     help="continue an interrupted reproduce in --out")
    _add_threads(rep)

    bench = sub.add_parser(
        "bench", help="time our training loops against the references (a table)",
        description="One epoch of each workload, ours against a reference doing the same work: the NumPy "
                    "engine vs torch, NumpyANN vs scikit-learn, fit vs a plain loop and the course's "
                    "DataLoader loop, PyTorchCNN, and time per epoch as batch size and width grow. A "
                    "Markdown table on stdout, progress on stderr. About 3 minutes on 2 CPU cores.")
    bench.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                       help="device for the torch fit/loop/CNN rows (default auto)")
    bench.add_argument("--json", type=_file, default=None, metavar="PATH", help="also write the table as JSON")
    bench.add_argument("--quick", action="store_true", help="tiny subsets: checks the table, not the speed")
    bench.add_argument("--threads", type=_threads, default=1, metavar="N",
                       help=f"BLAS and torch threads for both sides, 1 to {MAX_THREADS} (default 1)")
    bench.add_argument("--rounds", type=int_from_to(1, MAX_ROUNDS, ROUNDS_WHY), default=1, metavar="N",
                       help=f"timings per side, 1 to {MAX_ROUNDS} ({ROUNDS_WHY}); the median is shown (default 1)")
    bench.add_argument("--seed", type=_seed, default=0, help="random seed, 0 <= seed < 2**32 (default 0)")

    _add_check(sub)

    for name, lesson in lessons.registry().items():  # looked up now: tests swap the registry
        lp = sub.add_parser(name, help=lesson.TITLE, description=plain_help(lesson.__doc__),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common(lp, writes_text="out" in inspect.signature(lesson.run).parameters)
        if hasattr(lesson, "add_arguments"):
            lesson.add_arguments(lp)
        lp.set_defaults(lesson=lesson)
    return parser


def _add_check(sub) -> None:
    chk = sub.add_parser(
        "check", help="grade a student's file against the course contract (autograder)",
        description="Grade a student's file (or a folder of student folders) against the course contract: one "
                    "check per contract item with its points, the code run in a child process with limits. "
                    "ASSIGNMENTs: see --list. Exit status 0 when every submission got full marks, 1 when one "
                    "lost points, 2 for a mistake in the command.")
    chk.add_argument("assignment", nargs="?", metavar="ASSIGNMENT", help="e.g. purdue-numpy-ann, or purdue")
    chk.add_argument("paths", nargs="*", metavar="PATH", help="the file, a folder holding it, or a folder "
                     "of student folders (several PATHs or student folders make a batch)")
    chk.add_argument("--list", action="store_true", help="list the assignments with their items and points")
    chk.add_argument("--init", action="store_true", help="write the starter files of ASSIGNMENT into the folder "
                     "PATH (what an instructor hands out)")
    chk.add_argument("--solution", action="store_true", help="with --init: write the reference solution instead")
    chk.add_argument("--json", type=_file, default=None, metavar="FILE", help="write our full record as JSON")
    chk.add_argument("--gradescope", type=_file, default=None, metavar="FILE",
                     help="write Gradescope's results.json (one submission)")
    chk.add_argument("--quick", action="store_true", help="accuracy items on a documented subset and bound")
    chk.add_argument("--jobs", type=int, default=1, metavar="N", help="grade N submissions in parallel (1 to 64)")
    chk.add_argument("--timeout", type=float, default=None, metavar="S",
                     help="wall-clock seconds per item (default: each item's own)")
    chk.add_argument("--item", action="append", default=None, metavar="ID",
                     help="grade only this contract item, e.g. 1.6 (repeatable)")
    chk.add_argument("--out", type=Path, default=None, metavar="DIR",
                     help="where gradebook.csv and records/ go: a batch's (default ./check-results), or one "
                          "submission's when given")


def _cmd_check(args: argparse.Namespace) -> int:
    from backproplab.check.cli import run_check

    return run_check(args)


def _cmd_data(args: argparse.Namespace) -> int:
    rows = describe_files(root=args.root, download=args.download)
    for row in rows:
        print(f"{row['file']:<28} {row['status']:<9} {row['bytes']:>10,} bytes  {row['path']}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from backproplab.report.reproduce import reproduce

    outcome = reproduce(quick=args.quick, out=args.out, only=args.only, device=args.device,
                        seed=args.seed, force=args.force, resume=args.resume, threads=args.threads)
    if outcome.interrupted:
        return 130  # a partial report was written; --resume continues it
    return 0 if outcome.passed else 1


def _cmd_bench(args: argparse.Namespace) -> int:
    from backproplab.bench import check_json_path, run_bench, to_json, to_markdown

    if args.json is not None:
        check_json_path(args.json)
    rows, meta = run_bench(args.device, quick=args.quick, threads=args.threads, rounds=args.rounds, seed=args.seed)
    print(to_markdown(rows, meta))
    if args.json is not None:
        print(f"wrote {atomic_write_text(args.json, to_json(rows, meta))}", file=sys.stderr)
    return 0


def lesson_kwargs(run: Callable[..., object], args: argparse.Namespace) -> dict[str, object]:
    """The parsed options ``run`` declares, by name: ``quick``, ``seed`` and the lesson's own options.

    The CLI parses ``--out`` for every lesson (it saves the figures), but a lesson receives ``out``
    only when its ``run`` takes it (one that writes files of its own); the options in
    :data:`CLI_ONLY` never. A ``run`` with ``**kwargs`` receives every other option.
    """
    params = inspect.signature(run).parameters.values()
    options = {k: v for k, v in vars(args).items() if k not in CLI_ONLY}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return options
    names = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return {k: v for k, v in options.items() if k in names}


def _cmd_lesson(args: argparse.Namespace) -> int:
    lesson = args.lesson
    early = getattr(lesson, "early_output", None)  # e.g. backprop --print-example: text instead of a run
    text = early(vars(args)) if early is not None else None
    if text is not None:
        print(text, end="")
        return 0
    if args.out is not None:
        check_writable_dir(args.out, "out")  # before the lesson runs, not after
    # a bar on a terminal, one line per epoch in a log; what --out receives (figures, and the pages some
    # lessons write themselves) replaces the earlier run's files all at once, or not at all on Ctrl-C
    with run_threads(args.threads), progress_mode("on"), \
            replaced_together(args.out) as written:
        result = lesson.run(**lesson_kwargs(lesson.run, args))
        print(result.format_claims())
        for key, text in result.text.items():
            if key.startswith("print"):
                print(text)
        if result.timings:
            print("time: " + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in result.timings.items()))
        if args.out is not None:
            _save_figures(result, Path(args.out))
    for path in written:
        print(f"wrote {path}")
    result.close_figures()
    return 0 if result.passed else 1


def _save_figures(result, out: Path) -> dict[str, Path]:
    """``result.save_figures(out)``; a file that cannot be written there (a folder in the way of a
    figure) is one line naming ``--out`` (a full disk keeps its own line)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        return result.save_figures(out)
    except OSError as err:
        if err.errno == errno.ENOSPC or isinstance(err, BackproplabError):
            raise
        where = err.filename if err.filename is not None else out
        raise InputError(f"out: could not write {str(where)!r} ({err.strerror or err}); the claims above hold but "
                         f"the figures were not all saved: move it away or choose another --out") from None


def _one_line(err: BaseException) -> str:
    """The one stderr line for an error that reached the door (no traceback), with the characters a terminal
    would act on written out: the error may name a student's file (``check jku-a7 alice/`` with a notebook
    named ``\\x1b]2;…\\x07\\x1b[2J….ipynb`` set the window's title and cleared the screen)."""
    return terminal_text(_reason(err), one_line=True)


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and not isinstance(err, BackproplabError):
        where = err.filename if err.filename is not None else "a file"
        if err.errno == errno.ENOSPC:
            return f"{where}: no space left on device while writing; free some space and run again"
        reason = err.strerror or " ".join(str(err).split()) or type(err).__name__
        return f"{where}: {reason}"
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to read (RecursionError); expected a flatter file or value"
    if isinstance(err, MemoryError):
        return "out of memory (MemoryError); expected smaller inputs or --quick"
    if isinstance(err, OverflowError):
        return f"a number is too large ({' '.join(str(err).split())}); expected values that fit in 64 bits"
    return " ".join(str(err).split())


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: temporary files are removed on the way out


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The parser of ``command`` (the top-level parser when there is none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def _missing_command(parser: argparse.ArgumentParser) -> str:
    """What a bare ``backproplab`` prints on stderr: the short usage, the error, and the commands."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))._choices_actions
    width = max(len(c.dest) for c in commands) + 2
    lines = [parser.format_usage().rstrip(), f"{parser.prog}: error: missing COMMAND, one of:"]
    lines += [f"  {c.dest:<{width}}{c.help}" for c in commands]
    lines.append(f"(see '{parser.prog} COMMAND --help' for a command's options, '{parser.prog} --help' for all)")
    return "\n".join(lines) + "\n"


_COMMANDS = {"data": _cmd_data, "reproduce": _cmd_reproduce, "bench": _cmd_bench, "check": _cmd_check}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``backproplab`` console script; returns the exit status."""
    try:  # building the parser imports every lesson: a second a Ctrl-C may fall into
        parser = build_parser()
    except KeyboardInterrupt:
        print("backproplab: interrupted", file=sys.stderr)
        return 130
    args, extra = parser.parse_known_args(argv)
    if args.command == "check" and args.assignment and extra and not any(e.startswith("-") for e in extra):
        # argparse hands out positionals in one go, so in `check purdue --quick alice/` the PATH after an
        # option is left over: it is one more PATH, as in every other order
        args.paths, extra = [*args.paths, *extra], []
    if extra:  # name the subcommand whose --help lists what it takes, not the top level's
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:  # a usage error, as argparse's for a missing required argument
        parser.exit(2, _missing_command(parser))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = _COMMANDS.get(args.command, _cmd_lesson)(args)
        sys.stdout.flush()  # a reader that left shows here, where it is handled, not at the interpreter's exit
        return status
    except DataNotFoundError as err:
        print(f"backproplab: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `backproplab check ... | head`: the reader left; say nothing, as `yes | head` does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more reaches the closed pipe
        return 141  # 128 + SIGPIPE, what a shell reports for a process its reader left
    except (BackproplabError, ValueError, OSError, RecursionError, OverflowError, MemoryError) as err:
        print(f"backproplab: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backproplab: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
