"""``backproplab check``'s output side: --json, --gradescope and a batch's --out are checked before
any grading, and never overwrite a submission, a device, each other or a user's file that is not JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backproplab.check import cli as check_cli
from backproplab.cli import main


@pytest.fixture
def no_grading(monkeypatch):
    """Grading would take seconds to minutes: every case here must be refused before it starts."""
    def refuse(*args, **kwargs):
        raise AssertionError("grading started although an output was refused")

    monkeypatch.setattr(check_cli, "check", refuse)
    monkeypatch.setattr(check_cli, "check_batch", refuse)


def _submission(folder: Path, text: str = "x = 1\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "numpy_ann.py").write_text(text)
    return folder / "numpy_ann.py"


def _refused(argv: list[str], capsys) -> str:
    assert main(["check", "purdue-numpy-ann", *argv, "--item", "1.2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("option", ["--json", "--gradescope"])
@pytest.mark.parametrize("given", ["file", "folder"])
def test_an_output_onto_the_submission_is_refused_and_the_submission_kept(tmp_path, capsys, no_grading,
                                                                           option, given):
    """`check ... sub --json sub/numpy_ann.py` used to replace the student's file with our record."""
    source = _submission(tmp_path / "alice", "def student_work():\n    return 42\n")
    path = source if given == "file" else source.parent
    err = _refused([str(path), option, str(source)], capsys)
    assert f"{option} '{source}' is alice's submission" in err and "would overwrite it" in err
    assert source.read_text() == "def student_work():\n    return 42\n"


def test_a_batch_json_onto_a_students_file_is_refused(tmp_path, capsys, no_grading):
    _submission(tmp_path / "batch" / "alice")
    bob = _submission(tmp_path / "batch" / "bob", "bob's work\n")
    err = _refused([str(tmp_path / "batch"), "--json", str(bob)], capsys)
    assert "--json" in err and "bob's submission" in err and bob.read_text() == "bob's work\n"


@pytest.mark.parametrize("option", ["--json", "--gradescope"])
def test_a_users_file_that_is_not_json_is_refused_and_kept(tmp_path, capsys, no_grading, option):
    notes = tmp_path / "notes.txt"
    notes.write_text("my marking notes\n")
    err = _refused([str(_submission(tmp_path / "s")), option, str(notes)], capsys)
    assert f"{option} '{notes}' exists and is not a JSON file" in err
    assert notes.read_text() == "my marking notes\n"


def test_a_character_device_is_refused_and_stays_a_device(tmp_path, capsys, no_grading):
    """As root, `--json /dev/null` renamed a file over /dev/null itself; a pipe is refused alike."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    err = _refused([str(_submission(tmp_path / "s")), "--json", str(fifo)], capsys)
    assert f"--json '{fifo}' is a pipe; expected a path to a regular file" in err
    assert fifo.is_fifo()
    err = _refused([str(_submission(tmp_path / "s")), "--gradescope", "/dev/null"], capsys)
    assert "--gradescope '/dev/null' is a character device" in err
    assert Path("/dev/null").is_char_device()


def test_json_and_gradescope_on_one_file_are_refused(tmp_path, capsys, no_grading):
    target = tmp_path / "out.json"
    err = _refused([str(_submission(tmp_path / "s")), "--json", str(target), "--gradescope",
                    str(tmp_path / "." / "out.json")], capsys)
    assert "--json and --gradescope name the same file" in err and not target.exists()


@pytest.mark.parametrize("argv_tail, words", [
    (["--json", "{dir}"], "--json must be a file path, got the directory"),
    (["--gradescope", "{dir}"], "--gradescope must be a file path, got the directory"),
    (["--json", "{file}/r.json"], "is a file; choose another --json"),
])
def test_an_output_that_cannot_be_written_is_refused_before_grading(tmp_path, capsys, no_grading, argv_tail,
                                                                     words):
    (tmp_path / "afile").write_text("x")
    tail = [a.format(dir=tmp_path, file=tmp_path / "afile") for a in argv_tail]
    assert words in _refused([str(_submission(tmp_path / "s")), *tail], capsys)


def test_a_batch_out_that_is_a_file_is_refused_before_grading(tmp_path, capsys, no_grading):
    _submission(tmp_path / "batch" / "alice")
    _submission(tmp_path / "batch" / "bob")
    (tmp_path / "afile").write_text("x")
    err = _refused([str(tmp_path / "batch"), "--out", str(tmp_path / "afile")], capsys)
    assert "out must be a directory" in err and (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("option, content", [
    ("--json", {"name": "my-app", "version": "1.0.0"}),
    ("--gradescope", {"assignment": "purdue-numpy-ann", "items": []}),
])
def test_a_json_file_that_is_not_an_earlier_output_of_the_option_is_refused(tmp_path, capsys, no_grading, option,
                                                                             content):
    """--json package.json replaced the user's package.json: any JSON counted as an earlier record."""
    target = tmp_path / "package.json"
    target.write_text(json.dumps(content))
    err = _refused([str(_submission(tmp_path / "s")), option, str(target)], capsys)
    assert f"{option} '{target}' exists and is JSON without the keys" in err
    assert json.loads(target.read_text()) == content


def test_an_earlier_json_record_is_replaced(tmp_path, capsys):
    record = tmp_path / "r.json"
    record.write_text(json.dumps({"assignment": "purdue-numpy-ann", "items": [], "earlier": True}))
    source = _submission(tmp_path / "s", "def nothing():\n    pass\n")
    assert main(["check", "purdue-numpy-ann", str(source), "--item", "1.2", "--json", str(record)]) == 1
    assert json.loads(record.read_text())["items"][0]["id"] == "1.2"


def _batch(root: Path, *students: str) -> Path:
    for student in students:
        _submission(root / student)
    return root


def _run_batch(batch: Path, out: Path, capsys) -> str:
    assert main(["check", "purdue-numpy-ann", str(batch), "--item", "1.2", "--out", str(out)]) == 1
    return capsys.readouterr().err


def test_a_gradebook_edited_by_hand_is_kept_aside_not_overwritten(tmp_path, capsys):
    """A second batch into one --out replaced gradebook.csv, with the marks an instructor had added."""
    batch, out = _batch(tmp_path / "batch", "alice", "bob"), tmp_path / "grades"
    _run_batch(batch, out, capsys)
    first = (out / "gradebook.csv").read_text()
    _run_batch(batch, out, capsys)  # unchanged since we wrote it: simply replaced
    assert not list(out.glob("*.kept-*"))
    (out / "gradebook.csv").write_text(first + "alice,manual mark 3\n")
    (out / "records" / "notes.json").write_text('{"mine": true}')
    err = _run_batch(batch, out, capsys)
    assert f"kept {out / 'gradebook.csv'}" in err and f"as {out / 'gradebook.csv.kept-1'}" in err
    assert (out / "gradebook.csv.kept-1").read_text() == first + "alice,manual mark 3\n"
    assert (out / "gradebook.csv").read_text() == first
    assert (out / "records" / "notes.json").read_text() == '{"mine": true}'


def test_records_of_an_earlier_batch_are_removed_only_when_ours_and_unchanged(tmp_path, capsys):
    out = tmp_path / "grades"
    _run_batch(_batch(tmp_path / "one", "alice", "bob", "carol"), out, capsys)
    (out / "records" / "carol.json").write_text('{"edited": true}')
    err = _run_batch(_batch(tmp_path / "two", "alice", "dave"), out, capsys)
    assert sorted(p.name for p in (out / "records").iterdir()) == ["alice.json", "carol.json", "dave.json"]
    assert (out / "records" / "carol.json").read_text() == '{"edited": true}' and "kept" not in err
    assert json.loads((out / "records" / "dave.json").read_text())["student"] == "dave"
    assert "bob" not in (out / "gradebook.csv").read_text()


def test_a_records_link_out_of_the_batch_folder_is_refused_before_grading(tmp_path, capsys, no_grading):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "grades"
    out.mkdir()
    (out / "records").symlink_to(elsewhere)
    err = _refused([str(_batch(tmp_path / "batch", "alice", "bob")), "--out", str(out)], capsys)
    assert f"out: '{out / 'records'}' is a link to '{elsewhere}'" in err and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("inside", ["records/alice.json", "gradebook.csv", "records/new.json"])
def test_a_batch_json_onto_a_file_the_batch_writes_is_refused(tmp_path, capsys, no_grading, inside):
    out = tmp_path / "grades"
    err = _refused([str(_batch(tmp_path / "batch", "alice", "bob")), "--out", str(out), "--json",
                    str(out / inside)], capsys)
    assert "is a file the batch itself writes into --out" in err and not out.exists()


def test_a_notebook_is_never_replaced_by_a_record(tmp_path, capsys, no_grading):
    """A notebook is JSON too: --json onto another student's notebook would have replaced it."""
    notebook = tmp_path / "other" / "jku_a7.ipynb"
    notebook.parent.mkdir()
    text = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    notebook.write_text(text)
    err = _refused([str(_submission(tmp_path / "s")), "--json", str(notebook)], capsys)
    assert f"--json '{notebook}' exists and is a Jupyter notebook" in err and notebook.read_text() == text


def test_a_batch_stopped_while_writing_leaves_nothing_to_keep_aside_next_time(tmp_path, capsys, monkeypatch):
    """Every file a batch writes is listed (old and new SHA-256) before the first is replaced, so a
    Ctrl-C between two records does not make the next batch take its own files for a user's."""
    from backproplab.check import outputs

    batch, out = _batch(tmp_path / "batch", "alice", "bob", "carol"), tmp_path / "grades"
    _run_batch(batch, out, capsys)
    (batch / "alice" / "numpy_ann.py").write_text("y = 2\n")  # a new record for alice
    write = outputs.atomic_write_text
    calls = []

    def stop_at_the_third(path, text):
        calls.append(path)
        if len(calls) == 3:  # the manifest, gradebook.csv, then alice's record
            raise KeyboardInterrupt
        return write(path, text)

    monkeypatch.setattr(outputs, "atomic_write_text", stop_at_the_third)
    assert main(["check", "purdue-numpy-ann", str(batch), "--item", "1.2", "--out", str(out)]) == 130
    monkeypatch.setattr(outputs, "atomic_write_text", write)
    err = _run_batch(batch, out, capsys)
    assert "kept" not in err and not list(out.rglob("*.kept-*"))


@pytest.mark.parametrize("timeout", ["1e309", "inf", "nan", "0", "-1", "86401"])
def test_a_timeout_that_is_not_a_positive_finite_number_of_seconds_is_named(tmp_path, capsys, no_grading, timeout):
    """--timeout 1e309 ended 'a number is too large (cannot convert float infinity to integer)'."""
    err = _refused([str(_submission(tmp_path / "s")), "--timeout", timeout], capsys)
    assert f"--timeout must be a positive number of seconds, at most 86400 (a day), got {float(timeout)}" in err


def test_init_into_a_place_that_cannot_be_a_folder_names_dir(tmp_path, capsys):
    """'check --init purdue-numpy-ann afile/x' said 'afile/x: Not a directory'; /proc/x named nothing."""
    (tmp_path / "afile").write_text("mine")
    assert main(["check", "--init", "purdue-numpy-ann", str(tmp_path / "afile" / "x")]) == 2
    err = capsys.readouterr().err
    assert err == (f"backproplab: error: DIR must be a directory, but '{tmp_path / 'afile' / 'x'}' lies below the "
                   f"file '{tmp_path / 'afile'}'; choose another DIR for --init\n")
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("inside, what", [("gradebook.csv", "its gradebook"), ("records/bob.json", "bob's record"),
                                          (".backproplab-check.json", "its list of the files it wrote")])
def test_a_folder_where_the_batch_writes_a_file_is_refused_before_grading(tmp_path, capsys, no_grading, inside,
                                                                           what):
    """A folder named gradebook.csv, or records/bob.json, was found only once the whole batch was graded:
    'Is a directory' (exit 2), the records after it unwritten and listed in the manifest all the same."""
    out = tmp_path / "grades"
    (out / inside).mkdir(parents=True)
    err = _refused([str(_batch(tmp_path / "batch", "alice", "bob", "carol")), "--out", str(out)], capsys)
    assert f"out: '{out / inside}' is a folder, where the batch writes {what}; move it away" in err
    assert [p for p in out.rglob("*") if not p.is_dir()] == []  # nothing written


def test_a_write_that_fails_part_way_leaves_a_manifest_of_the_files_written(tmp_path, capsys, monkeypatch):
    """The manifest listed every file the batch meant to write, also those a failed write left unwritten
    (a full disk at bob's record): it names only the files there, as the batch wrote them."""
    import errno

    from backproplab.check import outputs

    write = outputs.atomic_write_text

    def full_at_bob(path, text):
        if Path(path).name == "bob.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return write(path, text)

    monkeypatch.setattr(outputs, "atomic_write_text", full_at_bob)
    out = tmp_path / "grades"
    assert main(["check", "purdue-numpy-ann", str(_batch(tmp_path / "batch", "alice", "bob", "carol")), "--item",
                 "1.2", "--out", str(out)]) == 2
    assert "bob.json: no space left on device" in capsys.readouterr().err
    listed = json.loads((out / outputs.BATCH_MANIFEST).read_text())["files"]
    assert sorted(listed) == ["gradebook.csv", "records/alice.json"]
    assert all(listed[rel] == [outputs._sha256(out / rel)] for rel in listed)


def test_records_an_earlier_batch_left_are_removed_with_a_line_naming_them(tmp_path):
    """One student graded into the class's --out replaced the 12-row gradebook and removed the other records
    without a word: the removal is said, with the students' names."""
    from backproplab.check.api import not_graded
    from backproplab.check.outputs import write_batch

    def results(*students):
        return [not_graded("purdue-numpy-ann", s, tmp_path / s, "not graded: test", items=["1.2"]) for s in students]

    out, said = tmp_path / "out", []
    write_batch(out, results("ann", "ben", "cat"), note=said.append)
    assert said == []
    write_batch(out, results("ann"), note=said.append)
    assert sorted(p.name for p in (out / "records").iterdir()) == ["ann.json"]
    assert said == [f"removed 2 record(s) of the last batch in {out}, of students not in this one: ben, cat (the "
                    "gradebook now lists this batch only; grade into another --out to keep both)"]


@pytest.mark.parametrize("rel", ["gradebook.csv", "records/ann.json"])
@pytest.mark.parametrize("points_to", ["folder", "file", "nothing"])
def test_a_link_where_the_batch_writes_a_file_is_kept_aside_itself_never_followed(tmp_path, rel, points_to):
    """A gradebook.csv or record that was a link to a folder was replaced by the new file without a word (the
    folder stayed, the user's link was lost); a link is the user's, whatever it points to: kept as .kept-N."""
    from backproplab.check.api import not_graded
    from backproplab.check.outputs import write_batch

    elsewhere = tmp_path / "elsewhere"
    if points_to == "folder":
        (elsewhere / "inside").mkdir(parents=True)
    elif points_to == "file":
        elsewhere.write_text("mine\n")
    out, said = tmp_path / "out", []
    (out / "records").mkdir(parents=True)
    (out / rel).symlink_to(elsewhere)
    write_batch(out, [not_graded("purdue-numpy-ann", "ann", tmp_path / "ann", "not graded: test", items=["1.2"])],
                note=said.append)
    kept = out / f"{rel}.kept-1"
    assert said == [f"kept {out / rel} (not written by the last batch as it is now) as {kept}"]
    assert kept.is_symlink() and os.readlink(kept) == str(elsewhere)
    assert (out / rel).is_file() and not (out / rel).is_symlink() and (out / rel).read_text()
    if points_to == "folder":
        assert [p.name for p in elsewhere.iterdir()] == ["inside"]
    elif points_to == "file":
        assert elsewhere.read_text() == "mine\n"
    else:
        assert not elsewhere.exists()


def test_a_manifest_that_is_a_link_is_kept_aside_not_read(tmp_path):
    """.backproplab-check.json as a link was read through (a file outside --out) and then replaced: a link to a
    list naming the user's gradebook as the batch's own made the gradebook with the marks go without a word."""
    import hashlib

    from backproplab.check.api import not_graded
    from backproplab.check.outputs import BATCH_MANIFEST, write_batch

    out, said = tmp_path / "out", []
    out.mkdir()
    (out / "gradebook.csv").write_text("ann,my mark 3\n")
    elsewhere = tmp_path / "elsewhere.json"
    sha = hashlib.sha256(b"ann,my mark 3\n").hexdigest()
    elsewhere.write_text(json.dumps({"written_by": "backproplab check", "files": {"gradebook.csv": [sha]}}))
    listed = elsewhere.read_text()
    (out / BATCH_MANIFEST).symlink_to(elsewhere)
    write_batch(out, [not_graded("purdue-numpy-ann", "ann", tmp_path / "ann", "not graded: test", items=["1.2"])],
                note=said.append)
    assert said == [f"kept {out / BATCH_MANIFEST} (a symbolic link, not written by a batch) as "
                    f"{out / (BATCH_MANIFEST + '.kept-1')}",
                    f"kept {out / 'gradebook.csv'} (not written by the last batch as it is now) as "
                    f"{out / 'gradebook.csv.kept-1'}"]
    assert (out / "gradebook.csv.kept-1").read_text() == "ann,my mark 3\n" and elsewhere.read_text() == listed
    assert os.readlink(out / (BATCH_MANIFEST + ".kept-1")) == str(elsewhere)
    assert not (out / BATCH_MANIFEST).is_symlink() and "records/ann.json" in (out / BATCH_MANIFEST).read_text()
