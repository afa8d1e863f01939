"""What a graded child may not read: the places the parent lists (``check.assignment.private_places``) and
the Landlock rules the child builds from them (``check/child/landlock.py``). "Everything but the hidden
places" is built from an index of those places, which must answer exactly as the plain string tests it
replaced (a batch of 1,000 students spent 0.6 s a child on those tests; the index, 0.05 s)."""

from __future__ import annotations

import importlib.util
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from backproplab.check.processes import ZYGOTE

_spec = importlib.util.spec_from_file_location("_landlock", ZYGOTE.with_name("landlock.py"))
landlock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(landlock)


def _holds(full: str, places: tuple[str, ...]) -> bool:
    return any(full == p.rstrip(os.sep) or full.startswith(p) for p in places)


def _below(full: str, places: tuple[str, ...]) -> bool:
    return any(p.startswith(full.rstrip(os.sep) + os.sep) for p in places)


_name = st.text(alphabet="ab-/", min_size=1, max_size=4)
_path = st.lists(_name, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
_place = st.tuples(_path, st.booleans()).map(lambda t: t[0] + ("/" if t[1] else ""))


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.lists(_place, max_size=8).map(tuple), st.lists(_path, min_size=1, max_size=8))
def test_the_index_answers_as_the_string_tests(places, fulls):
    index = landlock._Places(places)
    for full in [*fulls, "/", *places]:
        assert index.hold(full) == _holds(full, places), (full, places)
        assert index.below(full) == _below(full, places), (full, places)


def test_rules_hide_every_other_submission_of_a_large_batch_and_nothing_else(tmp_path):
    batch = tmp_path / "submissions"
    folders = [batch / f"student{k:03d}" for k in range(300)]
    for folder in folders:
        folder.mkdir(parents=True)
    (batch / "gradebook.csv").write_text("student,total\n")
    work = tmp_path / "work"
    work.mkdir()
    hidden = tuple(str(f.resolve()) for f in folders[1:])
    rules = dict(landlock._rules(str(work), hidden, ()))
    granted = {os.path.realpath(p) for p in rules}
    assert str(folders[0].resolve()) in granted and str((batch / "gradebook.csv").resolve()) in granted
    assert not granted & set(hidden)
    assert rules[str(batch.resolve())] == landlock.READ_DIR  # listed, its hidden entries not read


def test_private_places_are_real_paths_and_never_hold_the_python_the_child_runs_on(tmp_path):
    import sys
    from pathlib import Path

    from backproplab.check.assignment import private_places

    real = tmp_path / "alice"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    places = dict(private_places([tmp_path / "link", Path(sys.prefix), Path(sys.prefix).parent, Path("/")],
                                 own=tmp_path / "bob"))
    assert places[str(real.resolve())] == "another submission of this batch"
    assert places[str((tmp_path / "bob").resolve())].startswith("the submission's own folder")
    assert not {p for p in places if os.path.realpath(sys.prefix).startswith(p.rstrip(os.sep) + os.sep)
                or p == os.path.realpath(sys.prefix)}
