"""The report directory (``--out``): what backproplab wrote there, and replacing it safely.

Rules, each a cure for a way a report could lose or leak data:

* **A manifest of what we wrote.** The marker file ``.backproplab-report`` lists every file of the
  report (relative paths). Anything else in ``--out`` is *foreign*: it is never deleted or
  overwritten; without ``force`` the run is refused before any work.
* **Only our own figures are read back.** A figure path from an earlier ``results.json`` is used only
  when it is one this module makes (``figures/<lesson>/<figure>.png``), is listed in the manifest,
  resolves inside ``out/figures`` and no part of it is a symbolic link (:func:`safe_figure`).
* **Staging, then renames.** A new report is written completely into ``out/.backproplab-staging``
  (same file system), then moved into place by renames only; a failure before that (a lesson's
  crash, a full disk) leaves the earlier report exactly as it was. A running reproduce holds a lock
  on its staging folder, so a second one into the same ``--out`` is refused instead of mixing in.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backproplab.errors import InputError
from backproplab.files import atomic_write_text, check_writable_dir
from backproplab.report.schema import FIGURE_PATTERN, FORMAT, schema_errors

MARKER = ".backproplab-report"
"""Marker and manifest: says a directory holds a report of ours, and lists the files we wrote."""
STAGING = ".backproplab-staging"
"""The folder inside ``out`` where a new report is assembled before it is moved into place."""
STAGING_TAG = ".made-by-backproplab"
REPORT_FILES = ("index.html", "summary.md", "results.json")

_FIGURE = re.compile(FIGURE_PATTERN)
_PART = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.part$")  # atomic_open's temporaries: .<name>.<8 random characters>.part
_SCAN_LIMIT = 10_000
MAX_READ_BYTES = 64 * 2**20
"""The largest ``results.json`` or marker read back (a full report's results.json is about 150 kB): a
larger one, crafted or damaged, is not a report of ours, and reading it whole could exhaust memory."""


MAX_FIGURE_BYTES = 32 * 2**20
"""The largest figure read back from an earlier report (ours are 20 to 500 kB): the HTML inlines each
one whole, so a crafted 3 GB one ran the machine out of memory after every lesson had run."""


def _small_text(path: Path) -> str:
    """``path``'s UTF-8 text, or ``ValueError`` when it is over :data:`MAX_READ_BYTES`."""
    size = path.stat().st_size
    if size > MAX_READ_BYTES:
        raise ValueError(f"it is {size} bytes, more than the {MAX_READ_BYTES} a report's file may have")
    return path.read_text(encoding="utf-8")


@dataclass
class OutDir:
    """What ``out`` holds before a run.

    Attributes
    ----------
    path : Path
    ours : set of str
        Files (relative POSIX paths) an earlier report of ours wrote there.
    foreign : list of str
        Entries we did not write (left alone; reported in messages).
    previous : dict or None
        The earlier ``results.json``, when there is one and it is a valid document.
    problem : str or None
        Why ``previous`` is None although an earlier report is there.
    """

    path: Path
    ours: set[str] = field(default_factory=set)
    foreign: list[str] = field(default_factory=list)
    previous: dict | None = None
    problem: str | None = None


def inspect_out(out: Path, force: bool, names: Iterable[str] = ()) -> OutDir:
    """Check ``out`` before any work and say what it holds.

    Refuses (``InputError``) when ``out`` is a file or lies below one, cannot be written, or holds
    files backproplab did not write (unless ``force``); and, even with ``force``, when a foreign
    file sits where the new report must write (``index.html``, or a figure of a lesson in ``names``).
    """
    check_writable_dir(out, "out")
    state = OutDir(out)
    if not out.exists() or not any(out.iterdir()):
        return state
    marker = out / MARKER
    if marker.is_file() and not marker.is_symlink():
        state.previous, state.problem = read_previous(out)
        state.ours = _manifest(marker, out, state.previous)
        state.foreign = _scan(out, state.ours)
    else:
        state.foreign = sorted(p.name for p in out.iterdir())
    _refuse_foreign(state, force, names)
    return state


def _refuse_foreign(state: OutDir, force: bool, names: Iterable[str]) -> None:
    foreign, out = state.foreign, state.path
    shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
    if foreign and not force:
        reason = (f"it holds an earlier report plus other files backproplab did not write ({shown})" if state.ours
                  else f"it is not empty and holds no earlier report (found {shown})")
        raise InputError(f"out: refusing to write the report into {str(out)!r}: {reason}; "
                         f"choose another --out or pass --force (files that are not ours are never deleted)")
    names = set(names)

    def in_the_way(entry: str) -> bool:  # where the new report writes: never replaced, even with force
        parts = entry.rstrip("/").split("/")
        if len(parts) == 1:
            return parts[0] in (*REPORT_FILES, MARKER, "figures")  # "figures" is foreign only as a link/file
        return parts[0] == "figures" and parts[1] in names and (len(parts) == 2 or entry.endswith(".png"))

    blocked = [entry for entry in foreign if in_the_way(entry)]
    if blocked:
        raise InputError(f"out: {str(out)!r} holds {', '.join(blocked[:5])}, which the report would replace "
                         f"but backproplab did not write; move it away or choose another --out")


def _no_constant(name: str) -> float:
    """``json.loads``' hook for NaN and Infinity, which JSON has not (the report writes none): refused here,
    not after the lessons ran, when writing the document back failed ('Out of range float values')."""
    raise ValueError(f"{name} is not a JSON number")


def read_previous(out: Path) -> tuple[dict | None, str | None]:
    """The earlier ``out/results.json`` if it is a valid report document: ``(doc, None)``, else
    ``(None, why)``; ``(None, None)`` when there is none."""
    path = out / "results.json"
    if not path.exists() and not path.is_symlink():
        return None, None
    if path.is_symlink() or not path.is_file():
        return None, f"{str(path)!r} is not a regular file"
    try:
        doc = json.loads(_small_text(path), parse_constant=_no_constant)
    except (OSError, ValueError, RecursionError) as err:
        return None, f"cannot read {str(path)!r} ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None, f"{str(path)!r} is not a {FORMAT} document"
    errors = schema_errors(doc, where="results.json")
    if errors:
        return None, f"{str(path)!r} does not have the report's structure: " + "; ".join(errors)
    return doc, None


def _manifest(marker: Path, out: Path, previous: dict | None) -> set[str]:
    try:
        listed = json.loads(_small_text(marker)).get("files")
    except (OSError, ValueError, RecursionError, AttributeError):
        listed = None
    if isinstance(listed, list) and all(isinstance(f, str) for f in listed):
        return {f for f in listed if f in REPORT_FILES or _FIGURE.fullmatch(f)}
    # a report from before the manifest: its three files and the figures its results.json lists
    ours = {f for f in REPORT_FILES if (out / f).is_file()}
    for entry in (previous or {}).get("lessons", {}).values():
        ours.update(rel for rel in entry["figures"].values() if _FIGURE.fullmatch(rel))
    return ours


def _scan(out: Path, ours: set[str]) -> list[str]:
    """Entries under ``out`` that are not ours (our staging folder and temporaries excepted)."""
    foreign: list[str] = []
    seen = 0
    for root, dirs, files in os.walk(out):
        rel_root = Path(root).relative_to(out).as_posix()
        rel_root = "" if rel_root == "." else rel_root + "/"
        if rel_root == "" and STAGING in dirs and (out / STAGING / STAGING_TAG).is_file():
            dirs.remove(STAGING)
        for d in list(dirs):
            rel = rel_root + d
            structural = rel == "figures" or (rel_root == "figures/" and re.fullmatch(r"[A-Za-z0-9_][\w.-]*", d))
            if os.path.islink(os.path.join(root, d)) or not structural:
                foreign.append(rel + "/")
                dirs.remove(d)
        for f in files:
            rel = rel_root + f
            if rel not in ours and rel != MARKER and not _PART.fullmatch(f):
                foreign.append(rel)
        seen += len(files) + len(dirs)
        if seen > _SCAN_LIMIT:
            break
    return sorted(foreign)


def safe_figure(out: Path, rel: Any, ours: set[str] | None = None) -> Path | None:
    """``out/rel`` when ``rel`` names a figure this module wrote, else None.

    ``rel`` must be ``figures/<lesson>/<figure>.png`` (our naming), be listed in ``ours`` (when
    given), be a regular file of at most :data:`MAX_FIGURE_BYTES`, resolve inside ``out/figures`` and
    have no symbolic link on the way.
    """
    if not isinstance(rel, str) or not _FIGURE.fullmatch(rel) or (ours is not None and rel not in ours):
        return None
    path = out / rel
    steps = [out / "figures", path.parent, path]
    if any(p.is_symlink() for p in steps) or not path.is_file() or path.stat().st_size > MAX_FIGURE_BYTES:
        return None
    try:
        path.resolve(strict=True).relative_to((out / "figures").resolve(strict=True))
    except (OSError, ValueError):
        return None
    return path


def remove_our_temporaries(out: Path, ours: set[str]) -> None:
    """Delete leftovers of a killed run: our atomic-write temporaries (Stage removes its folder)."""
    dirs = {out} | {(out / rel).parent for rel in ours}
    for folder in dirs:
        if folder.is_dir() and not folder.is_symlink():
            for p in folder.iterdir():
                if _PART.fullmatch(p.name) and p.is_file() and not p.is_symlink():
                    with contextlib.suppress(OSError):
                        p.unlink()


class Stage:
    """``out/.backproplab-staging``: a new report is assembled here, then moved into ``out``.

    Use as a context manager; the folder is removed on every way out. :meth:`adopt` brings an
    earlier report's figure in (hard link, or copy), :meth:`commit` moves the new report into place.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / STAGING

    def __enter__(self) -> Stage:
        self.out.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if not (self.path / STAGING_TAG).is_file() or self.path.is_symlink():
                raise InputError(f"out: {str(self.path)!r} exists but was not made by backproplab; move it away")
            if not _unlocked(self.path / STAGING_TAG):
                raise InputError(f"out: another backproplab reproduce is writing a report into {str(self.out)!r}; "
                                 f"wait for it to end or choose another --out")
            shutil.rmtree(self.path)  # left by a run that was killed
        self.path.mkdir()
        tag = self.path / STAGING_TAG
        tag.write_text("a report being written by backproplab reproduce\n")
        self._lock = os.open(tag, os.O_RDONLY)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until the run ends, even if killed
        return self

    def __exit__(self, *exc: Any) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock)

    def adopt(self, rel: str, ours: set[str]) -> bool:
        """Bring the earlier report's figure ``rel`` into the stage (only a safe one of ours)."""
        source = safe_figure(self.out, rel, ours)
        if source is None:
            return False
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target, follow_symlinks=False)
        return True

    def staged_files(self) -> list[str]:
        """The report's files in the stage (relative POSIX paths), figures first."""
        figures = sorted(p.relative_to(self.path).as_posix() for p in (self.path / "figures").glob("*/*.png"))
        return figures + [f for f in REPORT_FILES if (self.path / f).is_file()]

    def commit(self, ours: set[str]) -> set[str]:
        """Move the staged report into ``out`` by renames; delete the earlier report's files that the
        new one no longer has (only files of ours). Returns the new manifest.

        Every byte is written before the first rename: the marker first lists the old and the new
        files together, so a crash part-way leaves nothing of ours unlisted.
        """
        new = self.staged_files()
        clash = [rel for rel in new if (rel not in ours and os.path.lexists(self.out / rel))
                 or any((self.out / rel).parents[i].is_symlink() for i in range(rel.count("/")))]
        if clash:
            raise InputError(f"out: {', '.join(clash[:5])} in {str(self.out)!r} would be replaced but backproplab "
                             f"did not write it; move it away and run again")
        both, final = self.path / ".manifest-both", self.path / ".manifest-new"
        atomic_write_text(both, _marker_text(sorted(set(new) | ours)))
        atomic_write_text(final, _marker_text(new))
        os.replace(both, self.out / MARKER)
        for rel in new:  # figures first, results.json last
            (self.out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / rel, self.out / rel)
        for rel in sorted(ours - set(new)):
            _remove_ours(self.out, rel)
        os.replace(final, self.out / MARKER)
        return set(new)


def _unlocked(tag: Path) -> bool:
    """True when no running reproduce holds the lock on this staging folder's tag."""
    fd = os.open(tag, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _marker_text(files: list[str]) -> str:
    return json.dumps({"format": FORMAT, "written_by": "backproplab reproduce", "files": files}, indent=1) + "\n"


def _remove_ours(out: Path, rel: str) -> None:
    path = out / rel
    if rel in REPORT_FILES or safe_figure(out, rel) is not None:
        with contextlib.suppress(OSError):
            path.unlink()
    if rel not in REPORT_FILES and not path.parent.is_symlink():
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty: a file someone put there keeps its folder
