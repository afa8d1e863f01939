"""What a check writes: a table for the terminal, our JSON record, Gradescope's ``results.json``,
and a batch's ``gradebook.csv``."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backproplab.check.result import SubmissionResult
from backproplab.errors import InputError
from backproplab.files import atomic_write_text, check_writable_dir
from backproplab.terminal import terminal_text


def first_line(text: str, width: int) -> str:
    """The first line of ``text``, cut to ``width`` characters (… marks a cut)."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 1] + "…"


def format_table(result: SubmissionResult, width: int = 100) -> str:
    """Item, points, and what failed — then the full feedback of each lost item whose row and the
    result's messages do not already say all of it."""
    who = terminal_text(result.student or result.path, one_line=True)
    head = f"{result.assignment} — {who}: {result.score:g} / {result.max_score:g}"
    rows = [head, f"{'item':<6} {'points':>9}  what failed"]
    shown = [first_line(it.headline(), width - 18) for it in result.items]
    rows += [f"{it.id:<6} {it.score:>4g} / {it.points:<3g} {what}" for it, what in zip(result.items, shown, strict=True)]
    rows += [f"({terminal_text(m, one_line=True)})" for m in result.messages]  # a file name may hold a newline
    said = {*result.messages, *shown}
    lost = [it for it in result.items if not it.passed and it.feedback() not in said]  # more than its row says
    for it in lost:
        rows += ["", f"[{it.id}] {it.title} — {it.score:g} / {it.points:g}", it.feedback()]
    notes = [n for it in result.items if it.passed for n in it.notes()]
    if notes:
        rows += ["", "notes:"] + [f"  {n}" for n in notes]
    if result.manual:
        rows += ["", "for the marker (not in the score above):"] + [m.text() for m in result.manual]
    return terminal_text("\n".join(rows))


def gradescope(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's autograder ``results.json``: one test per contract item, ``number`` its id.

    A written item becomes a test of 0 points with ``visibility: hidden`` (the marker sees its reference
    answers; students never do); its notes (which network a JKU notebook states, what is wrong with
    it) go into the visible ``output`` too, so a student can still fix what the marker will read.
    """
    tests = [{"name": f"{it.id} {it.title}", "number": it.id, "score": it.score, "max_score": it.points,
              "output": it.feedback(), "visibility": "visible"} for it in result.items]
    tests += [{"name": f"{m.id} {m.title} (marked by hand: reference answers for the marker)", "number": m.id,
               "score": 0, "max_score": 0, "output": m.text(), "visibility": "hidden"} for m in result.manual]
    lines = list(result.messages) + [f"{m.id} ({m.title}): {n}" for m in result.manual for n in m.notes]
    output = "\n".join(lines) if lines else f"graded by backproplab check ({result.assignment})"
    return {"score": result.score, "max_score": result.max_score, "output": output,
            "execution_time": round(result.seconds, 3), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON, atomically."""
    return atomic_write_text(Path(path), json.dumps(payload, indent=2, allow_nan=False) + "\n")


#: Longest record name kept from a student's name; a longer one is cut and ends in a hash of the whole name,
#: so that the record, its temporary file (``.<name>.xxxxxxxx.part``) and a kept copy fit in 255 bytes.
MAX_RECORD_NAME = 100
#: Names Windows keeps for devices, with any extension (``records/CON.json`` cannot be copied there).
_DEVICE_NAME = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def safe_name(student: str) -> str:
    """A file name for a student's record: letters, digits, ``.-_``, at most :data:`MAX_RECORD_NAME`
    characters (a longer name is cut and ends in 8 hex digits of its SHA-256: a 250-character folder name
    made a record name the file system refused, after the whole batch was graded), never a device name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"
    if len(name) > MAX_RECORD_NAME:
        digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        name = f"{name[:MAX_RECORD_NAME - 9].rstrip('._')}-{digest}"
    return f"{name}_" if _DEVICE_NAME.fullmatch(name) else name


def record_names(students: Sequence[str]) -> list[str]:
    """Each student's record name (:func:`safe_name`), unique without regard to case: ``Alice`` and ``alice``
    are one file on macOS's and Windows' file systems, where the second record replaced the first; a
    repeated name gets ``-2``, ``-3``, … (it got one more ``_`` each time, past the file system's limit
    for a class of students whose names have no letter in A-Z)."""
    used: set[str] = set()
    names = []
    for student in students:
        base = name = safe_name(student)
        n = 1
        while name.casefold() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.casefold())
        names.append(name)
    return names


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """``text`` as a gradebook cell that a spreadsheet shows as text: a leading ``'`` when it starts with
    ``= + - @``, a tab or a carriage return (a student folder named ``=HYPERLINK("http://…","grades")`` was a
    live formula once the gradebook was opened), on one line, with what :func:`terminal_text` writes out
    written out (the gradebook is read in terminals too), among it the halves of a character that a file
    name not in UTF-8 leaves (``caf\\udce9``: they stopped the gradebook from being written at all)."""
    shown = terminal_text(text, one_line=True)
    return f"'{shown}" if text.startswith(_FORMULA_START) else shown


def gradebook_csv(results: Sequence[SubmissionResult]) -> str:
    """One row per student, one column per item (``1.6 (3)``), then total and maximum; the student and the
    path as :func:`spreadsheet_cell` writes them."""
    items = [(it.id, it.points) for it in results[0].items] if results else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "path"] + [f"{i} ({p:g})" for i, p in items] + ["total", "max"])
    for res in results:
        scores = {it.id: it.score for it in res.items}
        writer.writerow([spreadsheet_cell(res.student), spreadsheet_cell(res.path)]
                        + [f"{scores.get(i, 0):g}" for i, _ in items] + [f"{res.score:g}", f"{res.max_score:g}"])
    return buf.getvalue()


BATCH_MANIFEST = ".backproplab-check.json"
"""In a batch's ``--out``: the SHA-256 of each file the last batch wrote, to tell ours from a user's."""
BATCH_FILES = ("gradebook.csv", BATCH_MANIFEST)
"""What a batch writes at the top of its ``--out`` (besides ``records/``)."""


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def _written_before(out_dir: Path) -> dict[str, list[str]]:
    """``relative path -> SHA-256s`` a batch wrote into ``out_dir`` (two while a batch was writing:
    the old and the new); empty when unknown (none, damaged, over 64 MiB, or a link: never read through)."""
    manifest = out_dir / BATCH_MANIFEST
    try:
        if manifest.is_symlink() or manifest.stat().st_size > 64 * 2**20:
            return {}
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, RecursionError, AttributeError):
        return {}
    if not isinstance(files, dict):
        return {}
    shas = {rel: [sha] if isinstance(sha, str) else sha for rel, sha in files.items()}
    return {rel: sha for rel, sha in shas.items()
            if isinstance(rel, str) and isinstance(sha, list) and all(isinstance(h, str) for h in sha)}


def _write_manifest(out_dir: Path, files: dict[str, list[str]]) -> None:
    atomic_write_text(out_dir / BATCH_MANIFEST, json.dumps({"written_by": "backproplab check", "files": files},
                                                           indent=1) + "\n")


def _keep_aside(path: Path) -> Path:
    """Rename ``path`` to the first free ``<name>.kept-N`` beside it; returns the new path."""
    n = 1
    while os.path.lexists(path.with_name(f"{path.name}.kept-{n}")):
        n += 1
    kept = path.with_name(f"{path.name}.kept-{n}")
    os.rename(path, kept)
    return kept


def check_batch_out(out_dir: Path, students: Sequence[str] | None = None) -> Path:
    """Refuse (:class:`InputError` naming ``--out``), before any grading, a batch folder that cannot be
    written or whose ``records`` is a link (the records would be written wherever it points) or a file,
    or where a folder stands in the place of ``gradebook.csv``, of the manifest or of the record of one
    of ``students`` (found only once the whole batch was graded, with the records after it unwritten)."""
    out_dir = check_writable_dir(out_dir, "out")
    records = out_dir / "records"
    if records.is_symlink() or (records.exists() and not records.is_dir()):
        what = f"a link to {os.readlink(records)!r}" if records.is_symlink() else "not a folder"
        raise InputError(f"out: {str(records)!r} is {what}; the records are written only into a real folder "
                         "inside --out: move it away or choose another --out")
    targets = {name: "its gradebook" if name == "gradebook.csv" else "its list of the files it wrote"
               for name in BATCH_FILES}
    students = list(students or [])
    targets |= {f"records/{name}.json": f"{student}'s record"
                for student, name in zip(students, record_names(students), strict=True)}
    for rel, what in targets.items():
        target = out_dir / rel
        if target.is_dir() and not target.is_symlink():
            raise InputError(terminal_text(f"out: {str(target)!r} is a folder, where the batch writes {what}; move "
                                           "it away or choose another --out", one_line=True))
    return out_dir


def _as_written(out_dir: Path, listed: dict[str, list[str]]) -> dict[str, list[str]]:
    """Of ``listed`` (a file's SHA-256s a batch may have left there), the files that are there as one of
    them, each with its SHA-256 now: the manifest after a batch stopped part-way names no file it did
    not write."""
    now = {rel: _sha256(out_dir / rel) for rel in listed}
    return {rel: [sha] for rel, sha in now.items() if sha is not None and sha in listed[rel]}


def write_batch(out_dir: Path, results: Sequence[SubmissionResult],
                note: Callable[[str], None] | None = None) -> list[Path]:
    """``gradebook.csv`` and ``records/<student>.json`` under ``out_dir``; returns the paths.

    A file there that the last batch did not write as it is now (a gradebook with marks added by
    hand, someone else's file, a symbolic link to anything) is never overwritten: it is renamed (a
    link itself, never followed) to ``<name>.kept-N`` first and ``note`` (default: a line on stderr)
    says so. Records an earlier batch wrote for students not in this one are removed (unless edited
    since: kept), so ``records/`` holds this batch only.
    """
    note = note or (lambda line: print(line, file=sys.stderr))
    out_dir = Path(out_dir)
    check_batch_out(out_dir, [r.student for r in results])
    manifest = out_dir / BATCH_MANIFEST
    if manifest.is_symlink():  # read through, a list outside --out could claim a user's gradebook as ours
        note(f"kept {manifest} (a symbolic link, not written by a batch) as {_keep_aside(manifest)}")
    before = _written_before(out_dir)
    (out_dir / "records").mkdir(parents=True, exist_ok=True)
    texts = {"gradebook.csv": gradebook_csv(results)}
    for res, name in zip(results, record_names([r.student for r in results]), strict=True):
        texts[f"records/{name}.json"] = json.dumps(res.to_dict(), indent=2, allow_nan=False) + "\n"
    new = {rel: [hashlib.sha256(text.encode()).hexdigest()] for rel, text in texts.items()}
    listed = {rel: before.get(rel, []) + new.get(rel, []) for rel in sorted({*before, *new})}
    _write_manifest(out_dir, listed)  # a stop from here on (Ctrl-C): each file is ours, old or new
    try:
        removed = []
        for rel in sorted(set(before) - set(texts)):
            if rel.startswith("records/") and "/" not in rel[8:] and _sha256(out_dir / rel) in before[rel]:
                (out_dir / rel).unlink()
                removed.append(rel[8:-5] if rel.endswith(".json") else rel[8:])
        if removed:  # one student graded into the class's --out: the class's records went without a word
            shown = ", ".join(terminal_text(n, one_line=True) for n in removed[:10])
            more = f" and {len(removed) - 10} more" if len(removed) > 10 else ""
            note(f"removed {len(removed)} record(s) of the last batch in {out_dir}, of students not in this one: "
                 f"{shown}{more} (the gradebook now lists this batch only; grade into another --out to keep both)")
        for rel in texts:
            target = out_dir / rel
            # a link is the user's whatever it points to (a link to a folder was replaced without a word):
            # the link itself is kept aside, never followed (_sha256 reads no link)
            in_the_way = target.is_symlink() or (target.exists() and not target.is_dir())
            if in_the_way and _sha256(target) not in before.get(rel, []):
                note(f"kept {target} (not written by the last batch as it is now) as {_keep_aside(target)}")
        paths = [atomic_write_text(out_dir / rel, text) for rel, text in texts.items()]
    except BaseException:  # a write refused part-way (a full disk), or a stop: list what is there, as it is
        with contextlib.suppress(OSError):  # else the list above stays, and the first error is the one told
            _write_manifest(out_dir, _as_written(out_dir, listed))
        raise
    _write_manifest(out_dir, new)
    return paths
